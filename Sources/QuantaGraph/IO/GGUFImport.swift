import QuantaCore
import QuantaFormats

/// GGUF → graph: tensor names through the architecture's table, hyperparameters from
/// llama.cpp's metadata keys, quantized tensors kept as raw blocks, Q/K rows kept in llama.cpp's
/// interleaved order and tagged (undone only where a consumer needs HF order).
public enum GGUFImport {
    /// Tensors llama.cpp writes that are not HF weights but that we keep by their GGUF name.
    static let passThroughTensors: Set<String> = ["rope_freqs.weight"]

    public static func graph(from file: GGUFFile) throws -> ModelGraph {
        let archName = file.string("general.architecture") ?? ""
        let architecture = Architecture(ggufName: archName)
        var hyperparameters: Hyperparameters?
        if architecture != .unknown {
            hyperparameters = try decodeHyperparameters(file, arch: archName, architecture: architecture)
        }
        var tensors: [GraphTensor] = []
        for info in file.tensors {
            var name = info.name
            var rowOrder = RowOrder.huggingFace
            if let spec = architecture.spec, !passThroughTensors.contains(info.name) {
                guard let mapped = spec.huggingFaceName(forGGUF: info.name) else {
                    throw GraphError.unmappedTensor(architecture: archName, name: "\(file.path): \(info.name)", direction: "Hugging Face")
                }
                name = mapped.name
                if let h = hyperparameters {
                    switch mapped.rule.permutation {
                    case .query: rowOrder = .ggufInterleaved(heads: h.headCount)
                    case .key: rowOrder = .ggufInterleaved(heads: h.kvHeadCount)
                    case .none: break
                    }
                }
            }
            tensors.append(GraphTensor(name: name, value: try value(of: info, in: file), rowOrder: rowOrder))
        }
        if var h = hyperparameters {
            h.tieWordEmbeddings = !tensors.contains { $0.name == "lm_head.weight" }
            hyperparameters = h
        }
        let tokenizer = try decodeTokenizer(file)
        var metadata: [(key: String, value: String)] = []
        for (key, value) in file.metadata where !key.hasPrefix("tokenizer.ggml.") {
            metadata.append((key, value.description))
        }
        var config: JSONObject?
        if let h = hyperparameters, let spec = architecture.spec {
            config = HuggingFaceConfig.make(spec: spec, hyperparameters: h, tokenizer: tokenizer)
        }
        var graph = ModelGraph(architecture: architecture, hyperparameters: hyperparameters, config: config,
                               tokenizer: tokenizer, nodes: ModelGraph.grouping(tensors, architecture: architecture),
                               metadata: metadata, sideFiles: [], source: file.path)
        graph.ggufMetadata = file.metadata
        graph.sourceOrder = tensors.map(\.name)
        return graph
    }

    static func value(of info: GGUFTensorInfo, in file: GGUFFile) throws -> TensorValue {
        if info.plainDType != nil { return .dense(try file.view(of: info)) }
        let blocks = try TensorView(file: file.file, offset: info.offset, dtype: .u8, shape: [info.byteCount],
                                    context: "\(file.path): tensor '\(info.name)'")
        return .quantized(QuantizedTensor(scheme: .ggml(info.type), shape: info.shape, components: [("weight", blocks)]))
    }

    static func decodeHyperparameters(_ file: GGUFFile, arch: String, architecture: Architecture) throws -> Hyperparameters {
        func required(_ key: String) throws -> Int {
            guard let value = file.int(arch + "." + key) else {
                throw GraphError.invalidConfig(path: file.path, key: arch + "." + key, reason: "is required")
            }
            return value
        }
        let heads = try required("attention.head_count")
        let hidden = try required("embedding_length")
        let vocab = file.int(arch + ".vocab_size") ?? file.stringArray("tokenizer.ggml.tokens")?.count
            ?? file.tensor(named: "token_embd.weight")?.shape.first ?? 0
        var scaling: RopeScaling?
        if let type = file.string(arch + ".rope.scaling.type"), type != "none" {
            let factor = file.float(arch + ".rope.scaling.factor") ?? 1
            switch type {
            case "linear": scaling = .linear(factor: factor)
            case "yarn": scaling = .yarn(factor: factor, originalContextLength: file.int(arch + ".rope.scaling.original_context_length") ?? 0)
            default:
                throw GraphError.invalidConfig(path: file.path, key: arch + ".rope.scaling.type", reason: "unsupported RoPE scaling '\(type)'")
            }
        }
        let result = Hyperparameters(
            vocabSize: vocab, hiddenSize: hidden, intermediateSize: try required("feed_forward_length"),
            layerCount: try required("block_count"), headCount: heads,
            kvHeadCount: file.int(arch + ".attention.head_count_kv") ?? heads,
            headDimension: file.int(arch + ".attention.key_length") ?? file.int(arch + ".rope.dimension_count"),
            contextLength: file.int(arch + ".context_length") ?? 2048,
            rmsNormEpsilon: decimal(file[arch + ".attention.layer_norm_rms_epsilon"]) ?? 1e-5,
            ropeTheta: decimal(file[arch + ".rope.freq_base"]) ?? 10000, ropeScaling: scaling,
            tieWordEmbeddings: file.tensor(named: "output.weight") == nil, attentionBias: architecture == .qwen2)
        try result.validate(context: file.path)
        return result
    }

    /// A metadata number as the decimal its writer meant: an f32 1e-5 reads as 1e-05, not
    /// 9.999999747378752e-06 (the shortest text that round-trips the f32).
    static func decimal(_ value: GGUFValue?) -> Double? {
        guard let value else { return nil }
        if case let .float32(f) = value { return Double(String(f)) }
        return value.floatValue
    }

    /// The `tokenizer.ggml.*` metadata of `file` (nil when it has none).
    public static func decodeTokenizer(_ file: GGUFFile) throws -> TokenizerData? {
        guard let model = file.string("tokenizer.ggml.model"), let tokens = file.stringArray("tokenizer.ggml.tokens") else {
            return nil
        }
        let types = file.intArray("tokenizer.ggml.token_type").map { $0.map { Int32(truncatingIfNeeded: $0) } } ?? []
        return TokenizerData(
            model: model, pre: file.string("tokenizer.ggml.pre"), tokens: tokens, tokenTypes: types,
            merges: file.stringArray("tokenizer.ggml.merges") ?? [], scores: file.float32Array("tokenizer.ggml.scores"),
            bosTokenID: file.int("tokenizer.ggml.bos_token_id"), eosTokenID: file.int("tokenizer.ggml.eos_token_id"),
            unknownTokenID: file.int("tokenizer.ggml.unknown_token_id"),
            paddingTokenID: file.int("tokenizer.ggml.padding_token_id"),
            addBOS: file.bool("tokenizer.ggml.add_bos_token"), addEOS: file.bool("tokenizer.ggml.add_eos_token"),
            chatTemplate: file.string("tokenizer.chat_template"))
    }
}

/// A config.json for a graph that has none (e.g. one read from GGUF), with transformers' keys.
public enum HuggingFaceConfig {
    public static func make(spec: ArchitectureSpec, hyperparameters h: Hyperparameters, tokenizer: TokenizerData?) -> JSONObject {
        var config = JSONObject()
        config["architectures"] = .array([.string(spec.huggingFaceClasses[0])])
        config["model_type"] = .string(spec.modelType)
        config["hidden_size"] = .int(Int64(h.hiddenSize))
        config["intermediate_size"] = .int(Int64(h.intermediateSize))
        config["num_hidden_layers"] = .int(Int64(h.layerCount))
        config["num_attention_heads"] = .int(Int64(h.headCount))
        config["num_key_value_heads"] = .int(Int64(h.kvHeadCount))
        config["head_dim"] = .int(Int64(h.headDimension))
        config["max_position_embeddings"] = .int(Int64(h.contextLength))
        config["rms_norm_eps"] = .double(h.rmsNormEpsilon)
        config["rope_theta"] = .double(h.ropeTheta)
        switch h.ropeScaling {
        case let .linear(factor)?:
            config["rope_scaling"] = .object(JSONObject([("rope_type", .string("linear")), ("factor", .double(factor))]))
        case let .yarn(factor, original)?:
            config["rope_scaling"] = .object(JSONObject([("rope_type", .string("yarn")), ("factor", .double(factor)),
                                                         ("original_max_position_embeddings", .int(Int64(original)))]))
        default: break
        }
        config["vocab_size"] = .int(Int64(h.vocabSize))
        config["tie_word_embeddings"] = .bool(h.tieWordEmbeddings)
        config["hidden_act"] = .string("silu")
        if spec.modelType != "qwen2" {
            config["attention_bias"] = .bool(h.attentionBias)
            config["mlp_bias"] = .bool(false)
        }
        if let bos = tokenizer?.bosTokenID { config["bos_token_id"] = .int(Int64(bos)) }
        if let eos = tokenizer?.eosTokenID { config["eos_token_id"] = .int(Int64(eos)) }
        if let pad = tokenizer?.paddingTokenID { config["pad_token_id"] = .int(Int64(pad)) }
        config["dtype"] = .string("float32")
        return config
    }
}
