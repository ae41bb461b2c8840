import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph

/// Options of `quanta convert`.
public struct ConvertOptions: Sendable {
    public var from: ModelFormat?
    public var to: ModelFormat
    /// Cast floating-point tensors to this dtype (integer tensors keep theirs).
    public var dtype: DType?
    public var maxShardSize: Int
    public var force: Bool

    public init(from: ModelFormat?, to: ModelFormat, dtype: DType? = nil, maxShardSize: Int = 5_000_000_000, force: Bool = false) {
        self.from = from
        self.to = to
        self.dtype = dtype
        self.maxShardSize = maxShardSize
        self.force = force
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
            files = try SafetensorsExport.write(graph, to: output, maxShardSize: options.maxShardSize, force: options.force)
        case .gguf, .pytorch:
            throw KitError.unsupportedConversion(from: options.from ?? .safetensors, to: options.to, reason: "writing \(options.to.rawValue) is not built yet")
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = graph.tensors.reduce(0) { $0 + $1.storedBytes }
        return ConvertSummary(output: output, files: files, tensorCount: graph.tensors.count, bytesWritten: bytes, seconds: seconds)
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
