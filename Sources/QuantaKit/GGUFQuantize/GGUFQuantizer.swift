import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Options of a GGUF quantization (`quanta quantize --method gguf`, `convert --outtype <mix>`).
public struct GGUFQuantizeOptions: Sendable {
    public var mix: MixOptions
    public var importance: GGUFImportance?
    public var force = false
    /// GGUF output without a tokenizer (non-GGUF inputs only, as `convert --no-tokenizer`).
    public var noTokenizer = false
    /// Write even when the converted tokenizer does not tokenize as the source's (`TokenizerFidelity`).
    public var skipTokenizerCheck = false
    /// Blocks computed elsewhere (a calibrated solver), by GGUF tensor name: written instead of
    /// quantizing that tensor here. Each must be exactly the chosen type's bytes for the tensor.
    public var precomputed: [String: (type: GGMLType, data: GGUFTensorData)] = [:]
    public init(mix: MixOptions, importance: GGUFImportance? = nil) {
        self.mix = mix
        self.importance = importance
    }
}

/// What a GGUF quantization wrote.
public struct GGUFQuantizeSummary: Sendable {
    public var output: String
    public var fileType: LlamaFileType
    public var tensorTypes: [(name: String, type: GGMLType)]
    public var quantizedTensors: Int
    public var fallbacks: Int
    public var bytesWritten: Int
    /// Bytes of tensor data (no header, no padding).
    public var tensorBytes: Int
    public var weightElements: Int
    public var seconds: Double

    /// Bits per weight over all tensors, as llama-quantize's "quant size … (… BPW)" line counts them.
    public var bitsPerWeight: Double { weightElements > 0 ? Double(tensorBytes) * 8 / Double(weightElements) : 0 }

    public var typeCounts: [(type: GGMLType, count: Int)] {
        var counts: [GGMLType: Int] = [:]
        for entry in tensorTypes { counts[entry.type, default: 0] += 1 }
        return counts.map { ($0.key, $0.value) }.sorted { $0.count > $1.count }
    }

    public func text() -> String {
        let mix = typeCounts.map { "\($0.count) \($0.type.name)" }.joined(separator: ", ")
        return "wrote \(output): \(fileType.name), \(quantizedTensors) tensors quantized (\(mix))"
            + (fallbacks > 0 ? ", \(fallbacks) fell back (rows not a multiple of 256)" : "")
            + ", \(ProgressReporter.human(Double(bytesWritten), "B")), "
            + String(format: "%.2f bits/weight, %.2f s", bitsPerWeight, seconds)
    }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("output", .string(output)), ("type", .string(fileType.name)),
            ("quantized_tensors", .int(Int64(quantizedTensors))), ("fallbacks", .int(Int64(fallbacks))),
            ("bytes", .int(Int64(bytesWritten))), ("bits_per_weight", .double(bitsPerWeight)), ("seconds", .double(seconds)),
            ("tensors", .object(JSONObject(tensorTypes.map { ($0.name, JSONValue.string($0.type.name)) }))),
        ])))
    }
}

/// `llama-quantize`, rebuilt: chooses every tensor's type as llama.cpp does for the mix, quantizes
/// with ggml's own algorithms (byte-identical, `GGMLRowQuantizer`) with or without an importance
/// matrix, and writes the file as llama-quantize lays it out — metadata copied in order with
/// `general.quantization_version` and `general.file_type` moved to the end, tensors ordered by
/// layer then name — so that the whole output can be compared byte for byte. Any input Quanta
/// reads works: a GGUF is taken as it is; other formats go through the GGUF export's names,
/// metadata and row order first. One tensor at a time is decoded, quantized and written.
public enum GGUFQuantizer {
    /// One input tensor: GGUF name, ggml dimensions, stored type, its bytes, and its values.
    struct Source {
        var name: String
        var dimensions: [Int]
        var type: GGMLType
        var data: GGUFTensorData
        var floats: @Sendable () throws -> [Float]
    }

    public static func quantize(input: String, output: String, options: GGUFQuantizeOptions,
                                notify: (String) -> Void = { _ in }) throws -> GGUFQuantizeSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        try options.importance?.validate()
        var (sources, metadata) = try readSources(input, options: options)
        sources = sortedAsLlamaQuantize(sources)

        var mix = options.mix
        mix.hasImportance = mix.hasImportance || options.importance != nil
        let model = MixModel(metadata: metadata)
        let selected = GGUFTypeSelection.types(for: sources.map { MixTensor(name: $0.name, dimensions: $0.dimensions, type: $0.type) },
                                               model: model, options: mix)
        for (source, type) in zip(sources, selected.types) where type != source.type {
            guard GGMLRowQuantizer.canQuantize(type, importance: options.importance != nil) else {
                throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "Quanta has no \(type.name) quantizer yet")
            }
        }
        let requantized = zip(sources, selected.types).filter { $0.0.type.blockSize > 1 && $0.1.blockSize > 1 && $0.1 != $0.0.type }.count
        if requantized > 0 {
            notify("requantizing \(requantized) block-quantized tensor\(requantized == 1 ? "" : "s") of \(input): their errors add up (llama-quantize asks for --allow-requantize here); quantize from an F32/BF16/F16 source when you have one")
        }

        var writer = GGUFWriter()
        for entry in outputMetadata(metadata, fileType: mix.fileType, importance: options.importance) {
            try writer.addMetadata(entry.key, entry.value)
        }
        var quantized = 0, weightElements = 0, tensorBytes = 0
        var written: [(name: String, type: GGMLType)] = []
        for (source, type) in zip(sources, selected.types) {
            let shape = Array(source.dimensions.reversed())
            let elements = source.dimensions.reduce(1, *)
            weightElements += elements
            tensorBytes += type.byteCount(elements: elements) ?? 0
            written.append((source.name, type))
            if type == source.type {
                try writer.addTensor(name: source.name, type: type, shape: shape, data: source.data)
                continue
            }
            quantized += 1
            if let given = options.precomputed[source.name] {
                guard given.type == type else {
                    throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "the calibrated solver produced \(given.type.name) blocks, the mix chose \(type.name)")
                }
                try writer.addTensor(name: source.name, type: type, shape: shape, data: given.data)
                continue
            }
            let weights = try importance(for: source, options.importance)
            guard let bytes = type.byteCount(elements: elements) else {
                throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "\(elements) elements are not whole \(type.blockSize)-element blocks")
            }
            try writer.addTensor(name: source.name, type: type, shape: shape, data: .produce(byteCount: bytes) { out in
                try encode(source, as: type, importance: weights, into: out)
            })
        }

        let atomic = try AtomicOutput(path: output, isDirectory: false, force: options.force)
        do {
            let progress = ProgressReporter(label: "gguf " + mix.fileType.name, total: Int64(writer.tensors.reduce(0) { $0 + $1.byteCount }))
            try writer.write(to: atomic.temporaryPath, progress: progress)
            progress.finish()
            try atomic.commit()
        } catch { atomic.abort(); throw error }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return GGUFQuantizeSummary(output: output, fileType: mix.fileType, tensorTypes: written, quantizedTensors: quantized,
                                   fallbacks: selected.fallbacks, bytesWritten: Converter.outputBytes(output),
                                   tensorBytes: tensorBytes, weightElements: weightElements, seconds: seconds)
    }

    // MARK: - Reading

    static func readSources(_ input: String, options: GGUFQuantizeOptions) throws -> ([Source], [(key: String, value: GGUFValue)]) {
        if try ModelFormat.detect(path: input) == .gguf {
            let file = try GGUFFile(path: try ModelLoader.ggufPath(input))
            let sources = file.tensors.map { tensor in
                Source(name: tensor.name, dimensions: tensor.dimensions, type: tensor.type, data: .copy(of: tensor)) {
                    let values = try GGMLCodec.dequantize(tensor.type, bytes: tensor.bytes, count: tensor.elementCount)
                    tensor.releasePages()
                    return values
                }
            }
            return (sources, file.metadata)
        }
        let graph = try ModelLoader.load(path: input)
        try GGUFRequirements.checkArchitecture(graph)
        let plan = try GGUFExport.planTensors(graph, outType: .auto)
        let metadata = try GGUFExport.metadata(graph, fileType: options.mix.fileType.rawValue, noTokenizer: options.noTokenizer,
                                               skipTokenizerCheck: options.skipTokenizerCheck)
        let sources = try plan.map { item in
            let tensor = item.source, order = item.order
            // Float tensors that stay (norms) are written as F32, as convert_hf_to_gguf.py does.
            var type = item.type, data = item.data
            if item.shape.count < 2, type != .f32, type.plainDType != nil {
                type = .f32
                data = try GGUFExport.data(for: tensor, type: .f32, order: order)
            }
            return Source(name: item.name, dimensions: item.shape.reversed(), type: type, data: data) {
                try GGUFExport.orderedFloats(tensor, order: order)
            }
        }
        return (sources, metadata)
    }

    /// llama_model_loader's `weights_map` order (`weight_name_comparer`): by the layer number of
    /// `blk.N.` (other tensors, layer -1, first), then by name.
    static func sortedAsLlamaQuantize(_ sources: [Source]) -> [Source] {
        func layer(_ name: String) -> Int {
            guard name.hasPrefix("blk.") else { return -1 }
            let digits = name.dropFirst(4).prefix { $0.isNumber }
            return Int(digits) ?? -1
        }
        return sources.sorted { a, b in
            let la = layer(a.name), lb = layer(b.name)
            return la != lb ? la < lb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    /// The input's metadata as llama-quantize writes it: copied in order (`gguf_set_kv`), then
    /// `general.quantization_version` (GGML_QNT_VERSION 2) and `general.file_type` set — each set
    /// removes the key and appends it — split keys removed, and the importance matrix's keys appended.
    static func outputMetadata(_ source: [(key: String, value: GGUFValue)], fileType: LlamaFileType,
                               importance: GGUFImportance?) -> [(key: String, value: GGUFValue)] {
        var kv = source
        func set(_ key: String, _ value: GGUFValue) {
            kv.removeAll { $0.key == key }
            kv.append((key, value))
        }
        set("general.quantization_version", .uint32(2))
        set("general.file_type", .uint32(fileType.rawValue))
        kv.removeAll { ["split.no", "split.count", "split.tensors.count"].contains($0.key) }
        for entry in importance?.metadata ?? [] { set(entry.key, entry.value) }
        return kv
    }

    // MARK: - Quantizing one tensor

    /// The importance weights llama-quantize passes for `source`: its entry when the sizes agree
    /// (columns × experts), none when it has no entry (or, for token_embd, a wrong size).
    static func importance(for source: Source, _ matrix: GGUFImportance?) throws -> [Float]? {
        guard let matrix, let weights = matrix.values[source.name] else { return nil }
        let columns = source.dimensions.first ?? 0
        let experts = source.dimensions.count > 2 ? source.dimensions[2] : 1
        guard weights.count == columns * experts else {
            if source.name == "token_embd.weight" || source.name == "per_layer_token_embd.weight" { return nil }
            throw KitError.invalidOption("importance matrix \(matrix.label): '\(source.name)' has \(weights.count) values, the tensor needs \(columns * experts) (\(columns) columns × \(experts) expert\(experts == 1 ? "" : "s"))")
        }
        return weights
    }

    static func encode(_ source: Source, as type: GGMLType, importance: [Float]?, into out: UnsafeMutableRawBufferPointer) throws {
        let values = try source.floats()
        let stats = values.withUnsafeBufferPointer { ValueScan.scan($0) }
        if stats.nonFinite > 0 {
            throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "it has \(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0)), which no \(type.name) block can hold")
        }
        let columns = source.dimensions.first ?? 0
        let experts = source.dimensions.count > 2 ? source.dimensions[2] : 1
        let rowsPerExpert = columns > 0 ? values.count / columns / max(1, experts) : 0
        guard let rowBytes = type.byteCount(elements: columns) else {
            throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "rows of \(columns) are not whole blocks")
        }
        try values.withUnsafeBufferPointer { all in
            // One call per expert: each expert's rows take its own slice of the importance matrix.
            for expert in 0 ..< max(1, experts) {
                let first = expert * rowsPerExpert * columns
                let input = UnsafeBufferPointer(rebasing: all[first ..< first + rowsPerExpert * columns])
                let output = UnsafeMutableRawBufferPointer(rebasing: out[expert * rowsPerExpert * rowBytes ..< (expert + 1) * rowsPerExpert * rowBytes])
                if let importance {
                    try importance.withUnsafeBufferPointer { w in
                        let slice = UnsafeBufferPointer(rebasing: w[expert * columns ..< (expert + 1) * columns])
                        try GGMLRowQuantizer.quantize(type, rows: rowsPerExpert, rowLength: columns, from: input,
                                                      importance: slice, into: output)
                    }
                } else {
                    try GGMLRowQuantizer.quantize(type, rows: rowsPerExpert, rowLength: columns, from: input,
                                                  importance: nil, into: output)
                }
            }
        }
        try GGUFExport.refuseNonFiniteScales(type, UnsafeRawBufferPointer(out), tensor: source.name)
    }
}
