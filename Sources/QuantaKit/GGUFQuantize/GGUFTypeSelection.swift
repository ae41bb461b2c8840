import QuantaFormats

/// One tensor as the type selection sees it: its GGUF name and ggml dimensions (`ne`, row length
/// first) and its current type.
public struct MixTensor: Sendable {
    public var name: String
    public var dimensions: [Int]
    public var type: GGMLType
    public init(name: String, dimensions: [Int], type: GGMLType) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
    }
    var rowLength: Int { dimensions.first ?? 1 }
}

/// The model facts llama-quantize's rules read (`llama_hparams`, `llm_arch`, `llm_type`).
public struct MixModel: Sendable {
    public var architecture: String
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var expertCount: Int
    /// `LLM_TYPE_70B` (src/models/llama.cpp, qwen2.cpp: 80 layers; for llama only with grouped KV heads).
    public var is70B: Bool {
        switch architecture {
        case "llama": return layerCount == 80 && expertCount != 8 && headCount != kvHeadCount
        case "qwen2", "olmo": return layerCount == 80
        default: return false
        }
    }
    /// `n_gqa()` of layer 0.
    var groupedQueryRatio: Int { kvHeadCount == 0 ? 0 : headCount / kvHeadCount }

    public init(architecture: String, layerCount: Int, headCount: Int, kvHeadCount: Int, expertCount: Int = 0) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.expertCount = expertCount
    }

    /// The facts from a GGUF's metadata (`<arch>.block_count`, `.attention.head_count[_kv]` —
    /// per-layer arrays read at layer 0 — and `.expert_count`).
    public init(metadata: [(key: String, value: GGUFValue)]) {
        func value(_ key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }
        let arch = value("general.architecture")?.stringValue ?? ""
        func int(_ suffix: String) -> Int? {
            guard let v = value(arch + "." + suffix) else { return nil }
            return v.intValue ?? v.intArray?.first
        }
        let heads = int("attention.head_count") ?? 0
        self.init(architecture: arch, layerCount: int("block_count") ?? 0, headCount: heads,
                  kvHeadCount: int("attention.head_count_kv") ?? heads, expertCount: int("expert_count") ?? 0)
    }
}

/// What the user asked beyond the mix: llama-quantize's `--pure`, `--output-tensor-type`,
/// `--token-embedding-type`, `--leave-output-tensor` and `--tensor-type REGEX=TYPE`.
public struct MixOptions: Sendable {
    public var fileType: LlamaFileType
    public var pure = false
    public var outputTensorType: GGMLType?
    public var tokenEmbeddingType: GGMLType?
    /// `--leave-output-tensor` (llama's `quantize_output_tensor = false`).
    public var leaveOutputTensor = false
    public var overrides: [TensorTypeOverride] = []
    /// An importance matrix is given (some rules differ, e.g. IQ4_XS's ffn_down).
    public var hasImportance = false
    public init(fileType: LlamaFileType) { self.fileType = fileType }
}

/// `--tensor-type REGEX=TYPE`: the first pattern found in a tensor's name (std::regex_search)
/// sets its type, before the mix's rules and instead of them.
public struct TensorTypeOverride: @unchecked Sendable {
    public let pattern: String
    public let type: GGMLType
    let regex: Regex<AnyRegexOutput>

    /// Parses `PATTERN=TYPE` (llama-quantize's `parse_tensor_type`: the last `=` splits).
    public init(argument: String) throws {
        guard let split = argument.lastIndex(of: "="), split != argument.startIndex else {
            throw KitError.invalidOption("--tensor-type '\(argument)': expected PATTERN=TYPE, e.g. attn_v=q8_0")
        }
        let pattern = String(argument[..<split]), typeName = String(argument[argument.index(after: split)...])
        guard let type = GGMLType(name: typeName) else {
            throw KitError.invalidOption("--tensor-type '\(argument)': unknown ggml type '\(typeName)'")
        }
        do { regex = try Regex(pattern) } catch {
            throw KitError.invalidOption("--tensor-type '\(argument)': '\(pattern)' is not a regular expression (\(error))")
        }
        self.pattern = pattern
        self.type = type
    }

    func matches(_ name: String) -> Bool { name.contains(regex) }
}

/// Each tensor's output type exactly as llama-quantize chooses it: `llama_tensor_get_type`,
/// `llama_tensor_get_type_impl` and `tensor_type_fallback` in src/llama-quant.cpp (llama.cpp
/// vendored in llama-cpp-python 0.3.36), with its per-category counters advanced in file order.
/// Only the rules of the mixes `LlamaFileType` offers are reproduced (no IQ1/IQ2/IQ3 mixes).
/// (Swift note: in `case a where p, b where q` each pattern carries its own condition, so every
/// pattern of a multi-pattern case below repeats it.)
public struct GGUFTypeSelection {
    public private(set) var fallbackCount = 0

    private let model: MixModel
    private let options: MixOptions
    private var attentionVCount = 0, attentionVIndex = 0
    private var ffnDownIndex = 0, ffnGateIndex = 0, ffnUpIndex = 0
    private var tiedEmbeddings = true

    /// Chooses the types of `tensors` (in the order llama-quantize visits them).
    public static func types(for tensors: [MixTensor], model: MixModel, options: MixOptions) -> (types: [GGMLType], fallbacks: Int) {
        var selection = GGUFTypeSelection(model: model, options: options)
        for tensor in tensors {
            let category = Category(tensor.name)
            if category.isAttentionV { selection.attentionVCount += 1 }
            if category == .output { selection.tiedEmbeddings = false }
        }
        let types = tensors.map { selection.type(for: $0) }
        return (types, selection.fallbackCount)
    }

    private init(model: MixModel, options: MixOptions) {
        self.model = model
        self.options = options
    }

    /// `tensor_category` / `tensor_get_category`: broad roles by name.
    enum Category: Equatable {
        case output, tokenEmbedding, attentionQKV, attentionKVB, attentionV, attentionK, attentionQ
        case attentionOutput, ffnUp, ffnGate, ffnDown, other

        init(_ name: String) {
            if name == "output.weight" { self = .output }
            else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { self = .tokenEmbedding }
            else if name.contains("attn_qkv.weight") { self = .attentionQKV }
            else if name.contains("attn_kv_b.weight") { self = .attentionKVB }
            else if name.contains("attn_v.weight") { self = .attentionV }
            else if name.contains("attn_k.weight") { self = .attentionK }
            else if name.contains("attn_q.weight") { self = .attentionQ }
            else if name.contains("attn_output.weight") { self = .attentionOutput }
            else if name.contains("ffn_up") { self = .ffnUp }
            else if name.contains("ffn_gate") { self = .ffnGate }
            else if name.contains("ffn_down") { self = .ffnDown }
            else { self = .other }
        }

        var isAttentionV: Bool { self == .attentionV || self == .attentionQKV || self == .attentionKVB }
    }

    /// `tensor_allows_quantization`, for the tensor names of the architectures Quanta writes.
    public static func allowsQuantization(_ tensor: MixTensor, leaveOutputTensor: Bool) -> Bool {
        guard nDims(tensor.dimensions) >= 2 else { return false }   // only 2-D and 3-D (expert) tensors
        let name = tensor.name
        guard name.hasSuffix("weight") else { return false }
        if name.contains("_norm.weight") { return false }
        if leaveOutputTensor && name == "output.weight" { return false }
        let excluded = ["ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
                        "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
                        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
                        "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
                        "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
                        "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
                        "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
                        ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"]
        if excluded.contains(where: { name.contains($0) }) { return false }
        if name == "position_embd.weight" || name == "token_types.weight" { return false }
        return true
    }

    /// `ggml_n_dims`: the index of the last dimension above 1, plus one (at least 1).
    static func nDims(_ ne: [Int]) -> Int {
        var n = 1
        for (i, d) in ne.enumerated() where d > 1 { n = i + 1 }
        return n
    }

    private mutating func type(for tensor: MixTensor) -> GGMLType {
        guard Self.allowsQuantization(tensor, leaveOutputTensor: options.leaveOutputTensor) else { return tensor.type }
        let category = Category(tensor.name)
        if let t = options.tokenEmbeddingType, category == .tokenEmbedding {
            // per_layer_token_embd follows it unless a --tensor-type names it.
            if tensor.name != "per_layer_token_embd.weight" || !options.overrides.contains(where: { $0.matches(tensor.name) }) {
                return t
            }
        }
        if let t = options.outputTensorType, category == .output { return t }
        var newType = options.fileType.defaultType
        guard newType.blockSize > 1 else { return newType }   // ggml_is_quantized(default_type)
        var manual = false
        if let override = options.overrides.first(where: { $0.matches(tensor.name) }) {
            newType = override.type
            manual = true
        }
        if !manual && !options.pure { newType = mixType(newType, tensor: tensor, category: category) }
        return fallback(tensor, newType)
    }

    /// `tensor_type_fallback`: a row length that is not a multiple of the type's block size.
    private mutating func fallback(_ tensor: MixTensor, _ target: GGMLType) -> GGMLType {
        let columns = tensor.rowLength
        guard columns % target.blockSize != 0 else { return target }
        fallbackCount += 1
        var result: GGMLType
        switch target {
        case .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq4_xs: result = .iq4_nl
        case .q2_K, .q3_K, .tq1_0, .tq2_0: result = .q4_0
        case .q4_K: result = .q5_0
        case .q5_K: result = .q5_1
        case .q6_K: result = .q8_0
        default: result = target   // a 32-block type: F16 below
        }
        if columns % result.blockSize != 0 { result = .f16 }
        return result
    }

    /// `use_more_bits`: the first and last eighth of the layers, and every third in between.
    private static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// The layer index of a per-layer FFN tensor: the running counter, or for MoE models the
    /// `blk.N.` in its name (experts are not stored in layer order).
    private func layer(_ counter: Int, _ name: String) -> Int {
        guard model.expertCount > 1, name.hasPrefix("blk.") else { return counter }
        let digits = name.dropFirst(4).prefix { $0.isNumber }
        return Int(digits) ?? counter
    }

    /// `llama_tensor_get_type_impl` for the mixes of `LlamaFileType`.
    private mutating func mixType(_ start: GGMLType, tensor: MixTensor, category: Category) -> GGMLType {
        var newType = start
        let ftype = options.fileType
        let gqa = model.groupedQueryRatio
        let falcon = model.architecture == "falcon"
        let layers = model.layerCount
        if category == .output || (tiedEmbeddings && category == .tokenEmbedding) {
            if let t = options.outputTensorType {
                newType = t
            } else if falcon || tensor.rowLength % newType.blockSize != 0 {
                newType = .q8_0
            } else if newType != .q8_0 {
                newType = .q6_K
            }
        } else if category == .tokenEmbedding {
            if let t = options.tokenEmbeddingType { newType = t }
        } else if category.isAttentionV {
            switch ftype {
            case .q2_K: newType = gqa >= 4 ? .q4_K : .q3_K
            case .q3_K_M: newType = attentionVIndex < 2 ? .q5_K : .q4_K
            case .q3_K_L: newType = .q5_K
            case .iq4_nl where gqa >= 4, .iq4_xs where gqa >= 4: newType = .q5_K
            case .q4_K_M where Self.useMoreBits(attentionVIndex, attentionVCount),
                 .q5_K_M where Self.useMoreBits(attentionVIndex, attentionVCount): newType = .q6_K
            case .q4_K_S where attentionVIndex < 4: newType = .q5_K
            default: break
            }
            if model.is70B && (newType == .q3_K || newType == .q4_K) { newType = .q5_K }
            if model.expertCount == 8 { newType = .q8_0 }
            attentionVIndex += 1
        } else if category == .attentionK {
            if model.expertCount == 8 { newType = .q8_0 }
        } else if category == .ffnDown {
            let i = layer(ffnDownIndex, tensor.name)
            switch ftype {
            case .q2_K: newType = .q3_K
            case .q3_K_M:
                newType = i < layers / 16 ? .q5_K : (!falcon || Self.useMoreBits(i, layers) ? .q4_K : .q3_K)
            case .q3_K_L: newType = falcon ? .q4_K : .q5_K
            case .q4_K_M:
                if falcon {
                    newType = i < layers / 16 ? .q6_K : (Self.useMoreBits(i, layers) ? .q5_K : .q4_K)
                } else if Self.useMoreBits(i, layers) {
                    newType = .q6_K
                }
            case .iq4_nl where i < layers / 8 && !options.hasImportance,
                 .iq4_xs where i < layers / 8 && !options.hasImportance: newType = .q5_K
            case .q5_K_M where Self.useMoreBits(i, layers): newType = .q6_K
            case .q4_K_S where !falcon && i < layers / 8: newType = .q5_K
            case .q4_0 where options.hasImportance && i < layers / 8, .q5_0 where options.hasImportance && i < layers / 8:
                newType = ftype == .q4_0 ? .q4_1 : .q5_1
            default: break
            }
            ffnDownIndex += 1
        } else if category == .attentionOutput {
            if !falcon {
                if model.expertCount == 8 {
                    if [.q2_K, .q3_K_S, .q3_K_M, .iq4_nl, .q4_K_S, .q4_K_M, .iq4_xs].contains(ftype) { newType = .q5_K }
                } else {
                    switch ftype {
                    case .q2_K: newType = .q3_K
                    case .q3_K_M: newType = .q4_K
                    case .q3_K_L: newType = .q5_K
                    default: break
                    }
                }
            } else if ftype == .q3_K_L {
                newType = .q4_K
            }
        } else if category == .attentionQKV {
            switch ftype {
            case .q3_K_M, .q3_K_L: newType = .q4_K
            case .q4_K_M: newType = .q5_K
            case .q5_K_M: newType = .q6_K
            default: break
            }
        } else if category == .ffnGate {
            ffnGateIndex += 1
        } else if category == .ffnUp {
            ffnUpIndex += 1
        }
        return newType
    }
}
