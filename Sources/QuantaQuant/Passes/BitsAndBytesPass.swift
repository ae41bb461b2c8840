import Foundation
import QuantaCore
import QuantaGraph

/// Settings of the bitsandbytes round-to-nearest passes.
public struct BitsAndBytesOptions: Sendable {
    public enum Method: String, Sendable, CaseIterable { case nf4, fp4, int8 }

    public var method: Method
    /// 4-bit block size (bitsandbytes: 32…4096, default 64).
    public var blockSize: Int
    /// Quantize the 4-bit absmax again (`bnb_4bit_use_double_quant`).
    public var doubleQuant: Bool
    /// `bnb_4bit_compute_dtype`: "float32", "bfloat16" or "float16".
    public var computeDType: String
    /// Module-name patterns left unquantized, matched as transformers matches `llm_int8_skip_modules`.
    /// nil: transformers' default (only `lm_head`, which the pass never touches anyway).
    public var skip: [String]?
    /// `llm_int8_threshold`: activation outliers at or above it take the float path at inference.
    public var int8Threshold: Double

    public init(method: Method, blockSize: Int = 64, doubleQuant: Bool = false, computeDType: String = "float32",
                skip: [String]? = nil, int8Threshold: Double = 6.0) {
        self.method = method
        self.blockSize = blockSize
        self.doubleQuant = doubleQuant
        self.computeDType = computeDType
        self.skip = skip
        self.int8Threshold = int8Threshold
    }

    public var scheme: QuantScheme {
        switch method {
        case .nf4: return .bnb4(kind: .nf4, blockSize: blockSize, doubleQuant: doubleQuant, computeDType: computeDType)
        case .fp4: return .bnb4(kind: .fp4, blockSize: blockSize, doubleQuant: doubleQuant, computeDType: computeDType)
        case .int8: return .bnbInt8(threshold: int8Threshold)
        }
    }

    public func validate() throws {
        if method != .int8 {
            guard Bnb4BitCodec.validBlockSizes.contains(blockSize) else { throw BnbCodecError.invalidBlockSize(blockSize) }
            guard ["float32", "bfloat16", "float16"].contains(computeDType) else {
                throw GraphError.unsupported("compute dtype '\(computeDType)' is not one of float32, bfloat16, float16")
            }
        }
        guard int8Threshold.isFinite, int8Threshold >= 0 else { throw GraphError.unsupported("--int8-threshold must be a finite number ≥ 0") }
    }
}

/// The bitsandbytes RTN pass: every dense 2-D linear weight of the decoder layers (HF names ending in
/// `_proj.weight`, the modules transformers replaces with Linear4bit / Linear8bitLt) not matched by
/// `skip` becomes a bitsandbytes `QuantizedTensor`, one tensor at a time; the config gains the
/// `quantization_config` transformers writes.
public struct BitsAndBytesPass: Sendable {
    public let options: BitsAndBytesOptions

    public init(options: BitsAndBytesOptions) { self.options = options }

    /// What the pass did.
    public struct Report: Sendable {
        public var quantized: [String] = []
        public var skipped: [String] = []
        /// Seconds spent reading the source values and encoding (not loading or writing files).
        public var seconds: Double = 0
    }

    /// Whether `name` (a weight) is a linear the pass quantizes.
    public static func isLinearWeight(_ tensor: GraphTensor) -> Bool {
        guard tensor.name.hasSuffix("_proj.weight"), tensor.shape.count == 2 else { return false }
        switch tensor.value {
        case let .dense(view): return view.dtype.isFloatingPoint
        case let .deferred(payload): return payload.dtype.isFloatingPoint
        case let .quantized(q): if case .ggml = q.scheme { return true }; return false
        }
    }

    @discardableResult
    public func run(_ graph: inout ModelGraph) throws -> Report {
        try options.validate()
        let skipRule = try SkipRule(options.skip ?? [])
        var report = Report()
        let start = DispatchTime.now().uptimeNanoseconds
        try graph.mapTensors { tensor in
            guard Self.isLinearWeight(tensor) else { return tensor }
            guard !skipRule.matches(QuantizedLayouts.module(of: tensor.name)) else {
                report.skipped.append(tensor.name)
                return tensor
            }
            let quantized = try quantize(tensor)
            tensor.releaseSourcePages()
            report.quantized.append(tensor.name)
            return GraphTensor(name: tensor.name, value: .quantized(quantized))
        }
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if !report.quantized.isEmpty {
            let settings = BitsAndBytesLayout.quantizationConfig(scheme: options.scheme, skipModules: options.skip)
            HuggingFaceDirectory.updateConfig(&graph) { config in config["quantization_config"] = .object(settings) }
        }
        return report
    }

    /// One tensor → its bitsandbytes encoding.
    public func quantize(_ tensor: GraphTensor) throws -> QuantizedTensor {
        let shape = tensor.shape
        switch options.method {
        case .nf4, .fp4:
            return try Self.withSourceFloats(tensor) { values in
                try BitsAndBytesEncoder.fourBit(values, shape: shape, kind: options.method == .nf4 ? .nf4 : .fp4,
                                                blockSize: options.blockSize, doubleQuant: options.doubleQuant,
                                                dtype: Self.sourceDType(tensor), computeDType: options.computeDType,
                                                tensor: tensor.name)
            }
        case .int8:
            return try Self.withSourceFloats(tensor) { values in
                try BitsAndBytesEncoder.int8(values, shape: shape, threshold: options.int8Threshold, tensor: tensor.name)
            }
        }
    }

    /// The dtype bitsandbytes would record as the weight's (`quant_state.dtype`): the stored float
    /// type, f32 for anything dequantized on the way in.
    static func sourceDType(_ tensor: GraphTensor) -> DType {
        switch tensor.value {
        case let .dense(view): return tensor.castTo ?? view.dtype
        case let .deferred(payload): return payload.dtype
        case .quantized: return .f32
        }
    }

    /// The tensor's values in HF row order as f32; a mapped f32 tensor is read in place.
    static func withSourceFloats<R>(_ tensor: GraphTensor, _ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        if case let .dense(view) = tensor.value, view.dtype == .f32, tensor.castTo == nil || tensor.castTo == .f32,
           tensor.rowOrder == .huggingFace {
            return try view.withUnsafeBytes { try body($0.bindMemory(to: Float.self)) }
        }
        let values = try Dequantizer.floats(tensor)
        return try values.withUnsafeBufferPointer { try body($0) }
    }
}

/// transformers' `should_convert_module` rule (quantizers_utils.py): a pattern skips a module when it
/// matches from the start up to a module boundary (as a regex) or is a suffix of the name.
public struct SkipRule: @unchecked Sendable {
    let patterns: [String]
    let expressions: [NSRegularExpression]

    public init(_ patterns: [String]) throws {
        self.patterns = patterns
        expressions = try patterns.map { pattern in
            do { return try NSRegularExpression(pattern: "^(?:\(pattern))(?:(?<=\\.)|(?=\\.|$))") } catch {
                throw GraphError.unsupported("--skip pattern '\(pattern)' is not a valid regular expression")
            }
        }
    }

    public func matches(_ module: String) -> Bool {
        let range = NSRange(module.startIndex..., in: module)
        for (pattern, expression) in zip(patterns, expressions) {
            if module.hasSuffix(pattern) || expression.firstMatch(in: module, range: range) != nil { return true }
        }
        return false
    }
}
