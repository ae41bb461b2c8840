import Dispatch
import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Options of the calibrated K-quant solver (`quanta quantize --method gguf --calib FILE`).
public struct GGUFCalibratedOptions: Sendable {
    /// Which weights ggml's in-block search gets for each column.
    public enum Importance: String, Sendable, CaseIterable {
        /// diag(H)/2 = mean x² of the column's calibration inputs: what an imatrix holds.
        case diagonal
        /// 1/U_ii²: the column's weight in GPTQ's loss once later columns compensate its error.
        case conditional
        /// ggml's unweighted search.
        case none
    }

    public var quantize: GGUFQuantizeOptions
    public var calibration: CalibrationOptions
    /// λ = damp × mean diag(H) added before the inverse (GPTQ's percdamp).
    public var dampPercent = 0.01
    public var importance: Importance = .diagonal
    /// Folder of the scratch file the solved blocks are spilled to (default: the output's folder).
    public var spillDirectory: String? = nil

    public init(quantize: GGUFQuantizeOptions, calibration: CalibrationOptions = CalibrationOptions()) {
        self.quantize = quantize
        self.calibration = calibration
    }
}

/// What the calibrated solver did, besides the file.
public struct GGUFCalibratedReport: Sendable {
    public var solvedTensors: Int
    public var windows: Int
    /// Σ over linears of GPTQ's loss (Σ e²/2).
    public var loss: Double
    public var timings: GPTQTimings
    public var solveSeconds: Double
}

/// Calibrated K-quants: GPTQ's layerwise calibration and error feedback, with ggml's block grids
/// (`GGUFBlockGPTQ`) instead of GPTQ's. Every decoder-layer linear gets the type llama-quantize's
/// mix gives it (`GGUFTypeSelection`, so the file has the same tensor types and size), and its
/// blocks from the block sweep against its calibration Hessian; the rest (token_embd, output,
/// norms) goes through `GGUFQuantizer` as llama-quantize would quantize it. Memory: the
/// calibration streams, one layer in f32, one Hessian; solved blocks go to a scratch file.
public enum GGUFCalibratedQuantizer {
    /// The GGUF name stem of each decoder linear (llama.cpp's LLM_TENSOR names).
    static let ggufStems: [String: String] = [
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    ]

    public static func quantize(input: String, output: String, options: GGUFCalibratedOptions, windows given: CalibrationSet? = nil,
                                notify: (String) -> Void = { _ in }) throws -> (GGUFQuantizeSummary, GGUFCalibratedReport) {
        let start = DispatchTime.now().uptimeNanoseconds
        var quantizeOptions = options.quantize
        // The same per-tensor types as llama-quantize given an importance matrix (the calibration is one).
        quantizeOptions.mix.hasImportance = true
        let types = try chosenTypes(input: input, options: quantizeOptions)

        let graph = try ModelLoader.load(path: input)
        guard graph.architecture.spec != nil, let h = graph.hyperparameters else {
            throw KitError.invalidOption("\(input): calibrated K-quants need a known Llama-family architecture; this is '\(graph.architecture.rawValue)'")
        }
        let orders = try GGUFExport.planTensors(graph, outType: .auto).reduce(into: [String: RowOrder]()) { $0[$1.name] = $1.order }
        let set = try given ?? CalibrationInput.windows(for: graph, options: options.calibration)
        let weights = try LlamaWeights(graph: graph)
        weights.adviseSequentialRead()
        let maxTokens = set.windows.map(\.count).max() ?? options.calibration.sequenceLength
        let layerRunner = try HessianLayerRunner(runner: LlamaRunner(weights: weights, maxTokens: maxTokens, numerics: .exact),
                                                 windows: set.windows)

        let folder = options.spillDirectory ?? { let p = (output as NSString).deletingLastPathComponent; return p.isEmpty ? "." : p }()
        let spillPath = (folder as NSString).appendingPathComponent(".\((output as NSString).lastPathComponent).calq-\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: spillPath, contents: nil) else {
            throw KitError.invalidOption("cannot create the scratch file \(spillPath) (the solved blocks are spilled there)")
        }
        defer { try? FileManager.default.removeItem(atPath: spillPath) }
        guard let spill = FileHandle(forWritingAtPath: spillPath) else { throw KitError.invalidOption("cannot write \(spillPath)") }
        var spilled: [(name: String, type: GGMLType, offset: Int, count: Int)] = []
        var offset = 0, loss = 0.0

        let progress = ProgressReporter(label: "calibrated " + quantizeOptions.mix.fileType.name, total: Int64(h.layerCount), unit: " layers")
        try layerRunner.run(progress: progress) { layer, group, matrix, columns in
            let modules = group.modules.filter { module in
                guard let stem = ggufStems[module], let entry = types["blk.\(layer).\(stem).weight"] else { return false }
                return entry.type != entry.source && GGUFBlockGPTQ.canSolve(entry.type, importance: options.importance != .none)
            }
            guard !modules.isEmpty else { return }
            let name = "blk.\(layer).\(ggufStems[group.modules[0]] ?? group.modules[0])"
            let inverse = try GPTQInverseHessian(hessian: matrix, columns: columns, order: .natural,
                                                 dampPercent: options.dampPercent, name: name)
            if inverse.dampRaised { notify(String(format: "%@: damp raised to %.4g for the Cholesky", name, inverse.dampPercent)) }
            let importance: GGUFBlockGPTQ.Importance
            switch options.importance {
            case .diagonal: importance = .weights(inverse.diagonal.map { Float($0 / 2) })
            case .conditional: importance = .conditional
            case .none: importance = .none
            }
            for module in modules {
                guard let stem = ggufStems[module], let entry = types["blk.\(layer).\(stem).weight"] else { continue }
                let ggufName = "blk.\(layer).\(stem).weight"
                let slot = try weights.linear(layer: layer, module: module)
                let result = try GGUFBlockGPTQ.solve(weights: UnsafePointer(slot.pointer), rows: slot.rows, columns: slot.columns,
                                                     type: entry.type, inverse: inverse, importance: importance, name: ggufName)
                // The rest of the layer (and the next layers' calibration inputs) see the quantized weights.
                result.dequantized.withUnsafeBufferPointer { values in
                    if let base = values.baseAddress { slot.pointer.update(from: base, count: slot.rows * slot.columns) }
                }
                let bytes = try ggufRowOrder(result.bytes, rows: slot.rows, order: orders[ggufName] ?? .huggingFace, name: ggufName)
                try spill.write(contentsOf: bytes)
                spilled.append((ggufName, entry.type, offset, bytes.count))
                offset += bytes.count
                loss += result.loss
            }
        }
        try spill.close()
        let solveSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        if !spilled.isEmpty {
            let mapped = try MappedFile(path: spillPath)
            for item in spilled { quantizeOptions.precomputed[item.name] = (item.type, .mapped(mapped, offset: item.offset, byteCount: item.count)) }
        }
        var summary = try GGUFQuantizer.quantize(input: input, output: output, options: quantizeOptions, notify: notify)
        summary.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let report = GGUFCalibratedReport(solvedTensors: spilled.count, windows: set.windows.count, loss: loss,
                                          timings: layerRunner.timings, solveSeconds: solveSeconds)
        return (summary, report)
    }

    /// Every tensor's mix type as GGUFQuantizer will choose it, with its stored type, by GGUF name.
    static func chosenTypes(input: String, options: GGUFQuantizeOptions) throws -> [String: (type: GGMLType, source: GGMLType)] {
        let (sources, metadata) = try GGUFQuantizer.readSources(input, options: options)
        let sorted = GGUFQuantizer.sortedAsLlamaQuantize(sources)
        let selected = GGUFTypeSelection.types(for: sorted.map { MixTensor(name: $0.name, dimensions: $0.dimensions, type: $0.type) },
                                               model: MixModel(metadata: metadata), options: options.mix)
        var types: [String: (type: GGMLType, source: GGMLType)] = [:]
        for (source, type) in zip(sorted, selected.types) { types[source.name] = (type, source.type) }
        return types
    }

    /// The solve works in the engine's (Hugging Face) row order; llama.cpp stores Llama Q/K rows
    /// interleaved per head: whole rows of blocks are moved to the file's order.
    static func ggufRowOrder(_ bytes: [UInt8], rows: Int, order: RowOrder, name: String) throws -> [UInt8] {
        guard case let .ggufInterleaved(heads) = order else { return bytes }
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0, bytes.count % max(rows, 1) == 0 else {
            throw KitError.cannotQuantize(tensor: name, type: "", reason: "\(rows) rows do not split into \(heads) heads of even size")
        }
        let rowBytes = bytes.count / rows, headRows = rows / heads
        var out = [UInt8](repeating: 0, count: bytes.count)
        for g in 0 ..< rows {
            let r = RowPermutation.huggingFaceRow(forGGUFRow: g, headRows: headRows)
            out.replaceSubrange(g * rowBytes ..< (g + 1) * rowBytes, with: bytes[r * rowBytes ..< (r + 1) * rowBytes])
        }
        return out
    }
}
