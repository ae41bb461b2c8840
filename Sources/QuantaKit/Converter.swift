import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Options of `quanta convert`.
public struct ConvertOptions: Sendable {
    public var from: ModelFormat?
    public var to: ModelFormat
    /// Cast floating-point tensors to this dtype (integer tensors keep theirs).
    public var dtype: DType?
    public var maxShardSize: Int
    public var force: Bool
    /// GGUF output tensor type.
    public var outType: GGUFOutType
    /// GGUF output without a tokenizer (`tokenizer.ggml.model = "none"`) instead of refusing one that has none.
    public var noTokenizer = false
    /// Write NaN/±Inf input values as they are instead of refusing them (`--allow-nonfinite`).
    public var allowNonFinite = false
    var nonFinite: NonFinitePolicy { allowNonFinite ? .allow : .refuse }

    public init(from: ModelFormat?, to: ModelFormat, dtype: DType? = nil, maxShardSize: Int = 5_000_000_000,
                force: Bool = false, outType: GGUFOutType = .auto) {
        self.from = from
        self.to = to
        self.dtype = dtype
        self.maxShardSize = maxShardSize
        self.force = force
        self.outType = outType
    }
}

/// What a conversion wrote.
public struct ConvertSummary: Sendable {
    public var output: String
    public var files: [String]
    public var tensorCount: Int
    public var bytesWritten: Int
    public var seconds: Double

    public func text() -> String {
        let rate = seconds > 0 ? Double(bytesWritten) / seconds : 0
        return "wrote \(output): \(tensorCount) tensors, \(ProgressReporter.human(Double(bytesWritten), "B")) in \(files.count) file(s), "
            + String(format: "%.2f s (%@/s)", seconds, ProgressReporter.human(rate, "B"))
    }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("output", .string(output)), ("files", .array(files.map { .string($0) })),
            ("tensors", .int(Int64(tensorCount))), ("bytes", .int(Int64(bytesWritten))), ("seconds", .double(seconds)),
        ])))
    }
}

/// `quanta convert`: read → (cast) → write, streaming, atomic.
public enum Converter {
    public static func convert(input: String, output: String, options: ConvertOptions) throws -> ConvertSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        var graph = try ModelLoader.load(path: input, format: options.from)
        if let dtype = options.dtype { try cast(&graph, to: dtype) }
        let files: [String]
        switch options.to {
        case .safetensors:
            // Formats without a quantized layout for these tensors get them dequantized.
            try dequantizeGGML(&graph, to: options.dtype ?? .f32)
            files = try SafetensorsExport.write(graph, to: output, maxShardSize: options.maxShardSize, force: options.force,
                                                nonFinite: options.nonFinite)
        case .gguf:
            files = try GGUFExport.write(graph, to: output, outType: options.outType, force: options.force,
                                         noTokenizer: options.noTokenizer, nonFinite: options.nonFinite)
        case .pytorch:
            try dequantizeGGML(&graph, to: options.dtype ?? .f32)
            files = try HuggingFaceExport.write(graph, to: output, weights: .pytorch, maxShardSize: options.maxShardSize,
                                                force: options.force, nonFinite: options.nonFinite)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = outputBytes(output)
        return ConvertSummary(output: output, files: files, tensorCount: graph.tensors.count, bytesWritten: bytes, seconds: seconds)
    }

    /// Total size of the files at `path` (a file or a directory).
    static func outputBytes(_ path: String) -> Int {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { return 0 }
        if !isDirectory.boolValue { return (try? manager.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let names = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        return names.reduce(0) { $0 + ((try? manager.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int) ?? 0) }
    }

    /// Replaces ggml block tensors by lazily dequantized dense tensors of `dtype` (streamed while writing).
    public static func dequantizeGGML(_ graph: inout ModelGraph, to dtype: DType) throws {
        try graph.mapTensors { tensor in
            guard case let .quantized(q) = tensor.value, case .ggml = q.scheme else { return tensor }
            let source = tensor
            let payload = try TensorPayload(dtype: dtype, shape: tensor.shape) { out in
                defer { source.releaseSourcePages() }
                // Common case: blocks decode straight into the output buffer.
                if dtype == .f32, source.rowOrder == .huggingFace, case let .ggml(type) = q.scheme,
                   let blocks = q.component("weight") {
                    try blocks.withUnsafeBytes { raw in
                        try GGMLCodec.dequantize(type, from: raw, into: out.bindMemory(to: Float.self), count: source.elementCount)
                    }
                    return
                }
                let values = try Dequantizer.floats(source)   // HF row order
                try values.withUnsafeBytes { raw in
                    try DTypeConversion.convert(raw, from: .f32, into: out, to: dtype, count: values.count,
                                                refusingOverflowIn: source.name)
                }
            }
            var copy = tensor
            copy.value = .deferred(payload)
            copy.rowOrder = .huggingFace
            copy.castTo = nil
            return copy
        }
    }

    /// Casts every dense floating-point tensor to `dtype` (lazily: bytes convert while writing)
    /// and records the new dtype in config.json as transformers does.
    public static func cast(_ graph: inout ModelGraph, to dtype: DType) throws {
        guard dtype.isFloatingPoint else { throw KitError.invalidOption("--dtype must be a floating-point type") }
        graph.mapTensors { tensor in
            guard case let .dense(view) = tensor.value, view.dtype.isFloatingPoint else { return tensor }
            var copy = tensor
            copy.castTo = view.dtype == dtype ? nil : dtype
            return copy
        }
        if let name = HuggingFaceDirectory.torchDTypeName(dtype) {
            HuggingFaceDirectory.updateConfig(&graph) { config in
                if config["torch_dtype"] != nil { config["torch_dtype"] = .string(name) }
                if config["dtype"] != nil || config["torch_dtype"] == nil { config["dtype"] = .string(name) }
            }
        }
    }
}
