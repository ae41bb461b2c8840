import Foundation
import QuantaCore
import QuantaEngine
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
    /// GGUF output tensor type.
    public var outType: GGUFOutType
    /// Decode every quantized tensor (GPTQ, AWQ, bitsandbytes, ggml blocks) to plain floats of
    /// `dequantizedDType()` and drop `quantization_config`.
    public var dequantize: Bool
    /// GGUF output without a tokenizer (`tokenizer.ggml.model = "none"`) instead of refusing one that has none.
    public var noTokenizer = false
    /// Write even when the output's tokenizer does not tokenize as the source's (`TokenizerFidelity`).
    public var skipTokenizerCheck = false
    /// Write NaN/±Inf input values as they are instead of refusing them (`--allow-nonfinite`).
    public var allowNonFinite = false
    var nonFinite: NonFinitePolicy { allowNonFinite ? .allow : .refuse }

    public init(from: ModelFormat?, to: ModelFormat, dtype: DType? = nil, maxShardSize: Int = 5_000_000_000,
                force: Bool = false, outType: GGUFOutType = .auto, dequantize: Bool = false) {
        self.from = from
        self.to = to
        self.dtype = dtype
        self.maxShardSize = maxShardSize
        self.force = force
        self.outType = outType
        self.dequantize = dequantize
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

/// `quanta convert`: read → (cast) → (dequantize) → write, streaming, atomic.
public enum Converter {
    /// `notify` receives advice the user should see before the write starts (one line, no prefix).
    public static func convert(input: String, output: String, options: ConvertOptions,
                               notify: (String) -> Void = { _ in }) throws -> ConvertSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        if options.to == .gguf, let mix = options.outType.mix {
            return try convertToMix(input: input, output: output, mix: mix, options: options, notify: notify, start: start)
        }
        let floatType: DType? = try options.dequantize ? options.dequantizedDType() : nil   // refuse bad flags before reading
        var graph = try ModelLoader.load(path: input, format: options.from)
        if let dtype = options.dtype { try cast(&graph, to: dtype) }
        if let floatType {
            try GraphDequantizer.dequantizeAll(&graph, to: floatType)
        } else if let notice = options.packedNotice(for: graph) {
            notify(notice)
        }
        if options.to != .gguf { try attachTokenizerFiles(&graph, skipCheck: options.skipTokenizerCheck) }
        let files: [String]
        switch options.to {
        case .safetensors:
            // Formats without a quantized layout for these tensors get them dequantized.
            try dequantizeGGML(&graph, to: options.dtype ?? .f32)
            files = try SafetensorsExport.write(graph, to: output, maxShardSize: options.maxShardSize, force: options.force,
                                                nonFinite: options.nonFinite)
        case .gguf:
            files = try GGUFExport.write(graph, to: output, outType: options.outType, force: options.force,
                                         noTokenizer: options.noTokenizer, skipTokenizerCheck: options.skipTokenizerCheck,
                                         nonFinite: options.nonFinite)
        case .pytorch:
            try dequantizeGGML(&graph, to: options.dtype ?? .f32)
            files = try HuggingFaceExport.write(graph, to: output, weights: .pytorch, maxShardSize: options.maxShardSize,
                                                force: options.force, nonFinite: options.nonFinite)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let bytes = outputBytes(output)
        return ConvertSummary(output: output, files: files, tensorCount: graph.tensors.count, bytesWritten: bytes, seconds: seconds)
    }

    /// A GGUF's vocabulary as the tokenizer.json files a directory writer makes, attached to the graph
    /// so the writer takes them as they are (made once). Unless `skipCheck` they must first tokenize
    /// (Hugging Face's rules) as llama.cpp tokenizes the vocabulary (`TokenizerFidelity`).
    static func attachTokenizerFiles(_ graph: inout ModelGraph, skipCheck: Bool) throws {
        guard let data = graph.tokenizer, !graph.sideFiles.contains(where: { $0.name == "tokenizer.json" }) else { return }
        let files = try TokenizerFiles.huggingFaceFiles(data, contextLength: graph.hyperparameters?.contextLength)
        if !skipCheck, let output = try Evaluator.makeTokenizer(sideFiles: files, gguf: nil) {
            let source: BPETokenizer
            do {
                source = try BPETokenizer.fromGGUFMetadata(data)
            } catch {
                throw KitError.tokenizerMismatch("tokenizer check: \(graph.source)'s vocabulary cannot be run here as llama.cpp runs it (\(error)), so the tokenizer.json written from it cannot be checked; nothing was written (--skip-tokenizer-check writes anyway)")
            }
            try TokenizerFidelity.check(source: source, sourceName: "\(graph.source)'s vocabulary (llama.cpp's rules)",
                                        output: output, outputName: "the tokenizer.json written from it (Hugging Face's rules)")
        }
        graph.sideFiles += files
    }

    /// `--to gguf --outtype q4_k_m` (any llama-quantize mix): `GGUFQuantizer` without calibration.
    static func convertToMix(input: String, output: String, mix: LlamaFileType, options: ConvertOptions,
                             notify: (String) -> Void, start: UInt64) throws -> ConvertSummary {
        guard options.dtype == nil, !options.dequantize else {
            throw KitError.invalidOption("--outtype \(mix.name) chooses every tensor's type; --dtype and --dequantize do not apply")
        }
        var quantize = GGUFQuantizeOptions(mix: MixOptions(fileType: mix))
        quantize.force = options.force
        quantize.noTokenizer = options.noTokenizer
        quantize.skipTokenizerCheck = options.skipTokenizerCheck
        let summary = try GGUFQuantizer.quantize(input: input, output: output, options: quantize, notify: notify)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return ConvertSummary(output: output, files: [(output as NSString).lastPathComponent], tensorCount: summary.tensorTypes.count,
                              bytesWritten: summary.bytesWritten, seconds: seconds)
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
        try GraphDequantizer.dequantize(&graph, to: dtype, where: GraphDequantizer.isGGML)
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
