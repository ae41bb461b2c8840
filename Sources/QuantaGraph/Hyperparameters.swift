import QuantaCore

/// RoPE frequency scaling as configs declare it.
public enum RopeScaling: Sendable, Equatable {
    case linear(factor: Double)
    case dynamic(factor: Double)
    /// Llama 3.1's piecewise scaling (transformers `_compute_llama3_parameters`).
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Int)
    case yarn(factor: Double, originalContextLength: Int)
}

/// Typed hyperparameters of a Llama-family decoder, decoded from config.json or GGUF metadata.
public struct Hyperparameters: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var contextLength: Int
    public var rmsNormEpsilon: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var tieWordEmbeddings: Bool
    public var attentionBias: Bool

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int,
                kvHeadCount: Int, headDimension: Int? = nil, contextLength: Int, rmsNormEpsilon: Double,
                ropeTheta: Double, ropeScaling: RopeScaling? = nil, tieWordEmbeddings: Bool, attentionBias: Bool) {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension ?? (headCount > 0 ? hiddenSize / headCount : 0)
        self.contextLength = contextLength
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
    }

    /// Checks the relations every consumer relies on.
    public func validate(context: String) throws {
        func fail(_ key: String, _ reason: String) -> GraphError { .invalidConfig(path: context, key: key, reason: reason) }
        for (key, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                             ("num_hidden_layers", layerCount), ("num_attention_heads", headCount),
                             ("num_key_value_heads", kvHeadCount), ("head_dim", headDimension)] {
            guard value > 0, value <= 1 << 24 else { throw fail(key, "must be between 1 and 2^24, found \(value)") }
        }
        guard headCount % kvHeadCount == 0 else {
            throw fail("num_key_value_heads", "\(kvHeadCount) does not divide num_attention_heads \(headCount)")
        }
        guard headDimension % 2 == 0 else { throw fail("head_dim", "RoPE needs an even head dimension, found \(headDimension)") }
        guard rmsNormEpsilon > 0, rmsNormEpsilon.isFinite else { throw fail("rms_norm_eps", "must be positive") }
        guard ropeTheta > 0, ropeTheta.isFinite else { throw fail("rope_theta", "must be positive") }
    }

    /// Decodes config.json for a known family. Missing keys take the family's transformers defaults;
    /// transformers 5's `rope_parameters` and 4's `rope_theta`/`rope_scaling` are both read.
    public static func decode(config: JSONObject, architecture: Architecture, path: String) throws -> Hyperparameters {
        func fail(_ key: String, _ reason: String) -> GraphError { .invalidConfig(path: path, key: key, reason: reason) }
        func int(_ key: String, _ fallback: Int?) throws -> Int {
            guard let value = config[key], value != .null else {
                guard let fallback else { throw fail(key, "is required") }
                return fallback
            }
            guard let number = value.intValue else { throw fail(key, "must be an integer") }
            return number
        }
        func double(_ key: String, _ fallback: Double) throws -> Double {
            guard let value = config[key], value != .null else { return fallback }
            guard let number = value.doubleValue else { throw fail(key, "must be a number") }
            return number
        }
        let defaults: (context: Int, eps: Double, tie: Bool, bias: Bool) = switch architecture {
        case .qwen2: (32768, 1e-6, false, true)
        case .mistral: (4096 * 32, 1e-6, false, false)
        default: (2048, 1e-6, false, false)
        }
        let heads = try int("num_attention_heads", nil)
        let hidden = try int("hidden_size", nil)
        let ropeObject = config["rope_parameters"]?.objectValue ?? config["rope_scaling"]?.objectValue
        var theta = try double("rope_theta", 10000)
        if let t = ropeObject?["rope_theta"]?.doubleValue { theta = t }
        let scaling = try decodeRopeScaling(ropeObject, path: path)
        let headDim: Int? = (config["head_dim"] == nil || config["head_dim"] == .null) ? nil : try int("head_dim", nil)
        var tie = defaults.tie
        if let value = config["tie_word_embeddings"] {
            guard let flag = value.boolValue else { throw fail("tie_word_embeddings", "must be true or false") }
            tie = flag
        }
        var bias = defaults.bias
        if architecture != .qwen2, let value = config["attention_bias"], let flag = value.boolValue { bias = flag }
        let result = Hyperparameters(
            vocabSize: try int("vocab_size", nil), hiddenSize: hidden,
            intermediateSize: try int("intermediate_size", nil), layerCount: try int("num_hidden_layers", nil),
            headCount: heads, kvHeadCount: try int("num_key_value_heads", heads), headDimension: headDim,
            contextLength: try int("max_position_embeddings", defaults.context),
            rmsNormEpsilon: try double("rms_norm_eps", defaults.eps), ropeTheta: theta, ropeScaling: scaling,
            tieWordEmbeddings: tie, attentionBias: bias)
        try result.validate(context: path)
        return result
    }

    private static func decodeRopeScaling(_ object: JSONObject?, path: String) throws -> RopeScaling? {
        guard let object else { return nil }
        let type = object["rope_type"]?.stringValue ?? object["type"]?.stringValue ?? "default"
        let factor = object["factor"]?.doubleValue ?? 1
        switch type {
        case "default": return nil
        case "linear": return .linear(factor: factor)
        case "dynamic": return .dynamic(factor: factor)
        case "llama3":
            return .llama3(factor: factor, lowFrequencyFactor: object["low_freq_factor"]?.doubleValue ?? 1,
                           highFrequencyFactor: object["high_freq_factor"]?.doubleValue ?? 4,
                           originalContextLength: object["original_max_position_embeddings"]?.intValue ?? 8192)
        case "yarn":
            return .yarn(factor: factor, originalContextLength: object["original_max_position_embeddings"]?.intValue ?? 4096)
        default:
            throw GraphError.invalidConfig(path: path, key: "rope_scaling.rope_type", reason: "unsupported RoPE scaling '\(type)'")
        }
    }
}
