import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// Options of `quanta quantize`.
public struct QuantizeOptions: Sendable {
    /// One case per quantization pass. Calibrated methods (GPTQ, AWQ) add their case here and a branch
    /// in `Quantizer.quantize`.
    public enum Method: String, Sendable, CaseIterable {
        /// bitsandbytes NF4 / FP4 (Linear4bit) and LLM.int8 (Linear8bitLt), round to nearest.
        case nf4, fp4, int8
        /// GPTQ (calibrated) and round-to-nearest in the GPTQ layout: `GPTQQuantizer` (GPTQQuantizer.swift).
        case gptq, rtn
        /// AWQ (calibrated, activation-aware scaling) in AutoAWQ's GEMM layout: `AWQQuantizer` (AWQQuantizer.swift).
        case awq
        /// GGUF block types and llama-quantize's mixes (K-quants, IQ4, legacy): `GGUFQuantizer`.
        case gguf
    }

    public var method: Method
    /// bitsandbytes 4-bit block size.
    public var blockSize: Int
    public var doubleQuant: Bool
    /// `bnb_4bit_compute_dtype` ("float32", "bfloat16", "float16").
    public var computeDType: String
    /// Module-name patterns kept in float (transformers' `llm_int8_skip_modules` rule); nil = default.
    public var skip: [String]?
    public var int8Threshold: Double
    public var maxShardSize: Int
    public var force: Bool
    /// Write even when the tokenizer.json made from a GGUF's vocabulary does not tokenize as it (`TokenizerFidelity`).
    public var skipTokenizerCheck = false
    /// Write NaN/±Inf values of the tensors that stay in float as they are (`--allow-nonfinite`);
    /// a quantized linear can never hold them.
    public var allowNonFinite = false

    public init(method: Method, blockSize: Int = 64, doubleQuant: Bool = false, computeDType: String = "float32",
                skip: [String]? = nil, int8Threshold: Double = 6.0, maxShardSize: Int = 5_000_000_000, force: Bool = false) {
        self.method = method
        self.blockSize = blockSize
        self.doubleQuant = doubleQuant
        self.computeDType = computeDType
        self.skip = skip
        self.int8Threshold = int8Threshold
        self.maxShardSize = maxShardSize
        self.force = force
    }

    var bitsAndBytes: BitsAndBytesOptions? {
        switch method {
        case .nf4, .fp4, .int8:
            return BitsAndBytesOptions(method: BitsAndBytesOptions.Method(rawValue: method.rawValue) ?? .nf4, blockSize: blockSize,
                                       doubleQuant: doubleQuant, computeDType: computeDType, skip: skip, int8Threshold: int8Threshold)
        case .gptq, .rtn, .awq, .gguf:
            return nil
        }
    }
}

/// What a quantization wrote.
public struct QuantizeSummary: Sendable {
    public var output: String
    public var method: String
    public var files: [String]
    public var quantizedTensors: Int
    public var skippedTensors: [String]
    public var bytesWritten: Int
    /// Seconds in the quantization pass alone (reading source values and encoding).
    public var passSeconds: Double
    public var seconds: Double

    public func text() -> String {
        var line = "wrote \(output): \(method), \(quantizedTensors) tensors quantized"
        if !skippedTensors.isEmpty { line += ", \(skippedTensors.count) skipped" }
        line += ", \(ProgressReporter.human(Double(bytesWritten), "B")) in \(files.count) file(s), "
        return line + String(format: "%.2f s (quantization %.3f s)", seconds, passSeconds)
    }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("output", .string(output)), ("method", .string(method)), ("files", .array(files.map { .string($0) })),
            ("quantized_tensors", .int(Int64(quantizedTensors))), ("skipped_tensors", .array(skippedTensors.map { .string($0) })),
            ("bytes", .int(Int64(bytesWritten))), ("pass_seconds", .double(passSeconds)), ("seconds", .double(seconds)),
        ])))
    }
}

/// `quanta quantize`: load any model (block-quantized GGUF tensors are dequantized to f32), run the
/// method's pass, write a Hugging Face directory.
public enum Quantizer {
    public static func quantize(input: String, output: String, options: QuantizeOptions) throws -> QuantizeSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        var graph = try ModelLoader.load(path: input)
        try Converter.dequantizeGGML(&graph, to: .f32)
        guard let settings = options.bitsAndBytes else {
            throw KitError.invalidOption("--method \(options.method.rawValue) is not built yet")
        }
        guard graph.config != nil else {
            throw KitError.invalidOption("\(input) has no config.json (or GGUF metadata to build one): transformers could not load the result")
        }
        let report = try BitsAndBytesPass(options: settings).run(&graph)
        guard !report.quantized.isEmpty else {
            throw KitError.invalidOption("\(input): no linear weight (…_proj.weight) to quantize\(report.skipped.isEmpty ? "" : "; --skip matched all \(report.skipped.count)")")
        }
        // The safetensors metadata transformers' save_pretrained writes (and nothing carried from the source).
        graph.metadata = [("format", "pt")]
        try Converter.attachTokenizerFiles(&graph, skipCheck: options.skipTokenizerCheck)
        let files = try SafetensorsExport.write(graph, to: output, maxShardSize: options.maxShardSize, force: options.force,
                                                nonFinite: options.allowNonFinite ? .allow : .refuse)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return QuantizeSummary(output: output, method: options.method.rawValue + (options.doubleQuant && options.method != .int8 ? "+dq" : ""),
                               files: files, quantizedTensors: report.quantized.count, skippedTensors: report.skipped,
                               bytesWritten: Converter.outputBytes(output), passSeconds: report.seconds, seconds: seconds)
    }
}
