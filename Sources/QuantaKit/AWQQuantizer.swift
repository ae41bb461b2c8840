import Dispatch
import QuantaCore
import QuantaEngine
import QuantaGraph
import QuantaQuant

/// Options of `quanta quantize --method awq`.
public struct AWQOptions: Sendable {
    /// Where each layer's calibration inputs come from.
    public enum Propagation: String, Sendable {
        /// The float layer's outputs, as AutoAWQ and llm-awq do (the next layer's inputs are computed
        /// before the layer is scaled and quantized).
        case float
        /// The quantized layer's outputs (GPTQ-style sequential error feedback).
        case quantized
    }

    public var bits: Int
    /// nil: the largest of 128, 64, 32, 16 that divides every linear's input width.
    public var groupSize: Int?
    /// Grid points for α in [0, 1) (AutoAWQ's n_grid = 20).
    public var grid: Int
    public var calibration: CalibrationOptions
    /// Whole windows whose attention-block outputs score the q/k/v scale search (attention needs
    /// whole sequences). Statistics use every window.
    public var searchWindows: Int
    /// Tokens, strided over every window, that score the per-token groups (gate/up through the MLP,
    /// down, o): these blocks act on each token alone, so a spread sample sees more text per FLOP.
    public var searchTokens: Int
    /// AutoAWQ's `duo_scaling`: s = mean|x|^α / mean|ŵ|^(1−α) instead of the paper's mean|x|^α.
    public var duoScaling: Bool
    /// 1: score every grid point (AutoAWQ's loop). S > 1: every S-th point, then ±S/2, …, ±1 around
    /// the best (`AWQGridPlan`).
    public var gridStride = 1
    public var clip: Bool
    public var propagation: Propagation
    public var force: Bool
    /// Write even when the tokenizer.json made from a GGUF's vocabulary does not tokenize as it (`TokenizerFidelity`).
    public var skipTokenizerCheck = false
    /// Write NaN/±Inf values of the tensors that stay in float as they are (`--allow-nonfinite`);
    /// a quantized linear can never hold them.
    public var allowNonFinite = false

    public init(bits: Int = 4, groupSize: Int? = 128, grid: Int = 20, calibration: CalibrationOptions = CalibrationOptions(),
                searchWindows: Int = 8, searchTokens: Int = 4096, duoScaling: Bool = false, clip: Bool = true, propagation: Propagation = .float,
                force: Bool = false) {
        self.bits = bits
        self.groupSize = groupSize
        self.grid = grid
        self.calibration = calibration
        self.searchWindows = searchWindows
        self.searchTokens = searchTokens
        self.duoScaling = duoScaling
        self.clip = clip
        self.propagation = propagation
        self.force = force
    }
}

/// Seconds spent in each phase, summed over layers.
public struct AWQTimings: Sendable {
    public var load = 0.0, capture = 0.0, scaleSearch = 0.0, fold = 0.0, clipSearch = 0.0, quantize = 0.0, write = 0.0
    /// The scale search split by what it scores: the attention block (q/k/v), the MLP (gate/up), single linears (down, o).
    public var searchAttention = 0.0, searchMLP = 0.0, searchLinear = 0.0
}

/// One group's scale search: the chosen α and the block-output squared error (summed over the
/// scored tokens) with it and with α = 0, which is plain round-to-nearest before clipping.
public struct AWQGroupSearch: Sendable {
    public var ratio: Float
    public var loss: Double
    public var roundToNearestLoss: Double
    /// Grid points scored (all of them with `gridStride` 1).
    public var evaluations = 0
}

/// The quantized graph and, for checks, every quantized linear as the pass produced it.
public struct AWQResult: Sendable {
    public var graph: ModelGraph
    public var groupSize: Int
    /// Keyed by the HF weight name (`model.layers.3.mlp.down_proj.weight`).
    public var linears: [String: AWQQuantizedWeight]
    /// The scale search per layer and group ("qkv", "o", "gate_up", "down").
    public var searches: [[String: AWQGroupSearch]]
    public var ratios: [[String: Float]] { searches.map { $0.mapValues(\.ratio) } }
    public var timings: AWQTimings
    public var windows: Int
    public var searchWindows: Int
    public var searchTokens: Int
}

/// What `quanta quantize --method awq` did.
public struct AWQSummary: Sendable {
    public var output: String
    public var groupSize: Int
    public var bitsPerWeight: Double
    public var quantizedWeights: Int
    public var searches: [[String: AWQGroupSearch]]
    public var ratios: [[String: Float]] { searches.map { $0.mapValues(\.ratio) } }
    public var timings: AWQTimings
    public var seconds: Double
    public var windows: Int
    public var searchWindows: Int
    public var searchTokens: Int

    public func text() -> String {
        var lines = [String(format: "wrote %@: AWQ 4-bit, group size %d (%.4f bits per quantized weight, %d weights), %d calibration windows (scale search scored on %d windows for q/k/v and %d tokens for the rest), %.1f s",
                            output, groupSize, bitsPerWeight, quantizedWeights, windows, searchWindows, searchTokens, seconds)]
        let t = timings
        lines.append(String(format: "time: load %.1f s, capture %.1f s, scale search %.1f s (attention %.1f, MLP %.1f, linears %.1f), fold %.1f s, clip search %.1f s, quantize %.1f s, write %.1f s",
                            t.load, t.capture, t.scaleSearch, t.searchAttention, t.searchMLP, t.searchLinear, t.fold, t.clipSearch, t.quantize, t.write))
        let scored = searches.flatMap { $0.values.map(\.evaluations) }
        if !scored.isEmpty {
            lines.append(String(format: "α grid: %.1f points scored per group on average",
                                Double(scored.reduce(0, +)) / Double(scored.count)))
        }
        let keys = ["qkv", "o", "gate_up", "down"]
        let gains = keys.compactMap { key -> String? in
            let chosen = searches.compactMap { $0[key]?.loss }.reduce(0, +)
            let plain = searches.compactMap { $0[key]?.roundToNearestLoss }.reduce(0, +)
            return plain > 0 ? String(format: "%@ %.1f%%", key, 100 * chosen / plain) : nil
        }
        lines.append("scaled block-output error as a share of round-to-nearest's (before clipping): " + gains.joined(separator: ", "))
        let perLayer = ratios.enumerated().map { layer, r in
            "\(layer):" + keys.compactMap { k in r[k].map { String(format: "%@=%.2f", k, $0) } }.joined(separator: ",")
        }
        lines.append("α per layer: " + perLayer.joined(separator: " "))
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let t = timings
        return JSONWriter.pretty(.object(JSONObject([
            ("output", .string(output)), ("method", .string("awq")), ("bits", .int(4)), ("group_size", .int(Int64(groupSize))),
            ("bits_per_weight", .double(bitsPerWeight)), ("quantized_weights", .int(Int64(quantizedWeights))),
            ("windows", .int(Int64(windows))), ("search_windows", .int(Int64(searchWindows))),
            ("search_tokens", .int(Int64(searchTokens))), ("seconds", .double(seconds)),
            ("timings", .object(JSONObject([
                ("load", .double(t.load)), ("capture", .double(t.capture)), ("scale_search", .double(t.scaleSearch)),
                ("search_attention", .double(t.searchAttention)), ("search_mlp", .double(t.searchMLP)), ("search_linear", .double(t.searchLinear)),
                ("fold", .double(t.fold)), ("clip_search", .double(t.clipSearch)), ("quantize", .double(t.quantize)),
                ("write", .double(t.write)),
            ]))),
            ("searches", .array(searches.map { layer in
                .object(JSONObject(layer.sorted { $0.key < $1.key }.map { key, search in
                    (key, .object(JSONObject([("ratio", .double(Double(search.ratio))), ("loss", .double(search.loss)),
                                              ("rtn_loss", .double(search.roundToNearestLoss))])))
                }))
            })),
            ("ratios", .array(ratios.map { r in .object(JSONObject(r.sorted { $0.key < $1.key }.map { ($0.key, .double(Double($0.value))) })) })),
        ])))
    }
}

/// AWQ (Lin et al. 2023) over a Llama-family model, written in AutoAWQ's GEMM layout.
public enum AWQQuantizer {
    /// The linears of one decoder layer with their [out, in] shapes.
    static func linearShapes(_ h: Hyperparameters) -> [(module: String, rows: Int, columns: Int)] {
        let d = h.hiddenSize, f = h.intermediateSize, q = h.headCount * h.headDimension, kv = h.kvHeadCount * h.headDimension
        return [("self_attn.q_proj", q, d), ("self_attn.k_proj", kv, d), ("self_attn.v_proj", kv, d), ("self_attn.o_proj", d, q),
                ("mlp.gate_proj", f, d), ("mlp.up_proj", f, d), ("mlp.down_proj", d, f)]
    }

    /// The group size for a model: `requested` (nil = auto) checked against every linear.
    public static func resolveGroupSize(_ requested: Int?, hyperparameters h: Hyperparameters) throws -> Int {
        let linears = linearShapes(h).map { AWQGroupSize.Linear(name: "model.layers.0.\($0.module).weight", inputWidth: $0.columns, outputWidth: $0.rows) }
        return try AWQGroupSize.resolve(requested: requested, linears: linears)
    }

    /// Reads `input`, quantizes it and writes a Hugging Face directory at `output` (atomically).
    public static func quantize(input: String, output: String, options: AWQOptions) throws -> AWQSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        let graph = try ModelLoader.load(path: input)
        var result = try quantize(graph: graph, options: options)
        let writeStart = DispatchTime.now().uptimeNanoseconds
        try Converter.attachTokenizerFiles(&result.graph, skipCheck: options.skipTokenizerCheck)
        _ = try SafetensorsExport.write(result.graph, to: output, maxShardSize: 5_000_000_000, force: options.force,
                                        nonFinite: options.allowNonFinite ? .allow : .refuse)
        let end = DispatchTime.now().uptimeNanoseconds
        result.timings.write = Double(end - writeStart) / 1e9
        let weights = result.linears.values.reduce(0) { $0 + $1.rows * $1.columns }
        let groups = result.linears.values.reduce(0) { $0 + $1.rows * $1.groups }
        // Per weight: a 4-bit code; per group: an f16 scale and a 4-bit zero point.
        let bits = Double(weights * 4 + groups * (16 + 4)) / Double(max(weights, 1))
        return AWQSummary(output: output, groupSize: result.groupSize, bitsPerWeight: bits, quantizedWeights: weights,
                          searches: result.searches, timings: result.timings, seconds: Double(end - start) / 1e9,
                          windows: result.windows, searchWindows: result.searchWindows, searchTokens: result.searchTokens)
    }

    /// Quantizes every decoder-layer linear of `graph`; embeddings, norms other than the folded
    /// ones, and lm_head keep their values (ggml block tensors are dequantized to f32 for writing).
    public static func quantize(graph source: ModelGraph, options: AWQOptions) throws -> AWQResult {
        guard options.bits == 4 else { throw AWQError.unsupportedBits(options.bits) }
        guard options.grid >= 1 else { throw KitError.invalidOption("--awq-grid must be ≥ 1") }
        guard source.architecture.spec != nil, let h = source.hyperparameters else {
            throw KitError.invalidOption("\(source.source): AWQ needs a known Llama-family architecture (config.json or GGUF metadata); this is '\(source.architecture.rawValue)'")
        }
        _ = try resolveGroupSize(options.groupSize, hyperparameters: h)   // fail before tokenizing
        let set = try CalibrationInput.windows(for: source, options: options.calibration)
        return try quantize(graph: source, options: options, windows: set)
    }

    /// As above with explicit calibration windows (tests; models without a tokenizer).
    public static func quantize(graph source: ModelGraph, options: AWQOptions, windows set: CalibrationSet) throws -> AWQResult {
        guard options.bits == 4 else { throw AWQError.unsupportedBits(options.bits) }
        guard options.grid >= 1 else { throw KitError.invalidOption("--awq-grid must be ≥ 1") }
        guard source.architecture.spec != nil, let h = source.hyperparameters else {
            throw KitError.invalidOption("\(source.source): AWQ needs a known Llama-family architecture (config.json or GGUF metadata); this is '\(source.architecture.rawValue)'")
        }
        let groupSize = try resolveGroupSize(options.groupSize, hyperparameters: h)
        var timings = AWQTimings()
        var clock = DispatchTime.now().uptimeNanoseconds
        let weights = try LlamaWeights(graph: source)
        weights.adviseSequentialRead()
        let maxTokens = set.windows.map(\.count).max() ?? options.calibration.sequenceLength
        let runner = LlamaRunner(weights: weights, maxTokens: maxTokens, numerics: .exact)
        let pass = try AWQLayerPass(runner: runner, windows: set.windows, options: options, groupSize: groupSize)
        timings.load = Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9
        clock = DispatchTime.now().uptimeNanoseconds

        let progress = ProgressReporter(label: "AWQ", total: Int64(h.layerCount), unit: " layers")
        var linears: [String: AWQQuantizedWeight] = [:]
        var searches: [[String: AWQGroupSearch]] = []
        for layer in 0 ..< h.layerCount {
            try checkFinite(weights, layer: layer)
            let (quantized, chosen) = try pass.run(layer: layer)
            // One layer in f32 at a time: its working copies and mapped pages go once it is done.
            weights.releaseWorkingCopies(layer: layer)
            for (module, q) in quantized { linears["model.layers.\(layer).\(module).weight"] = q }
            searches.append(chosen)
            progress.advance(by: 1)
        }
        progress.finish()
        let passTimings = pass.timings
        timings.capture = passTimings.capture
        timings.scaleSearch = passTimings.scaleSearch
        timings.searchAttention = passTimings.searchAttention
        timings.searchMLP = passTimings.searchMLP
        timings.searchLinear = passTimings.searchLinear
        timings.fold = passTimings.fold
        timings.clipSearch = passTimings.clipSearch
        timings.quantize = passTimings.quantize

        var graph = try rewrite(source, weights: weights, linears: linears, groupSize: groupSize)
        HuggingFaceDirectory.updateConfig(&graph) { config in
            config["quantization_config"] = .object(AWQLayout.quantizationConfig(bits: 4, groupSize: groupSize))
        }
        return AWQResult(graph: graph, groupSize: groupSize, linears: linears, searches: searches, timings: timings,
                         windows: set.windows.count, searchWindows: pass.searchCount, searchTokens: pass.tokenSampleCount)
    }

    /// NaN or infinite weights would make every scale and loss meaningless: refuse them by name.
    static func checkFinite(_ weights: LlamaWeights, layer: Int) throws {
        for (module, _, _) in linearShapes(weights.hyperparameters) {
            let slot = try weights.linear(layer: layer, module: module)
            for i in 0 ..< slot.rows * slot.columns where !slot.pointer[i].isFinite {
                throw KitError.invalidOption("model.layers.\(layer).\(module).weight has a non-finite value at element \(i); AWQ cannot quantize it")
            }
        }
    }

    /// The output graph: quantized linears, folded norms as dense f32, everything else as it was.
    static func rewrite(_ source: ModelGraph, weights: LlamaWeights, linears: [String: AWQQuantizedWeight], groupSize: Int) throws -> ModelGraph {
        var graph = source
        let d = weights.hyperparameters.hiddenSize
        var norms: [String: TensorView] = [:]
        for layer in 0 ..< weights.hyperparameters.layerCount {
            let w = weights.layers[layer]
            norms["model.layers.\(layer).input_layernorm.weight"] = try TensorView.float32(Array(UnsafeBufferPointer(start: w.attentionNorm.pointer, count: d)), shape: [d])
            norms["model.layers.\(layer).post_attention_layernorm.weight"] = try TensorView.float32(Array(UnsafeBufferPointer(start: w.mlpNorm.pointer, count: d)), shape: [d])
        }
        var biases: [String: TensorView] = [:]
        if weights.layers.first?.qkvBias != nil {
            // v's bias changes when v → o is scaled (MHA models): write the engine's biases back.
            let h = weights.hyperparameters
            let qRows = h.headCount * h.headDimension, kvRows = h.kvHeadCount * h.headDimension
            let parts = [("self_attn.q_proj", 0, qRows), ("self_attn.k_proj", qRows, kvRows), ("self_attn.v_proj", qRows + kvRows, kvRows)]
            for layer in 0 ..< h.layerCount {
                guard let bias = weights.layers[layer].qkvBias else { continue }
                for (module, offset, rows) in parts {
                    biases["model.layers.\(layer).\(module).bias"] = try TensorView.float32(Array(UnsafeBufferPointer(start: bias.pointer + offset, count: rows)), shape: [rows])
                }
            }
        }
        try graph.mapTensors { tensor in
            var copy = tensor
            if let q = linears[tensor.name] {
                copy.value = .quantized(QuantizedTensor(scheme: .awq(bits: 4, groupSize: groupSize), shape: [q.rows, q.columns],
                                                        components: try AWQPacking.components(q)))
            } else if let view = norms[tensor.name] ?? biases[tensor.name] {
                copy.value = .dense(view)
            } else {
                return tensor
            }
            copy.rowOrder = .huggingFace
            copy.castTo = nil
            return copy
        }
        try Converter.dequantizeGGML(&graph, to: .f32)
        return graph
    }
}
