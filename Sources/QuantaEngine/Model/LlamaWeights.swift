import QuantaCore
import QuantaGraph
import QuantaQuant

/// One decoder layer's weights, dequantized to f32 in Hugging Face order, with q/k/v fused
/// into one matrix and gate/up into another so each is a single GEMM.
public struct LlamaLayerWeights: Sendable {
    public let attentionNorm: FloatBuffer       // [D]
    public let qkv: FloatBuffer                 // [(H + 2·KV)·hd, D]
    public let qkvBias: FloatBuffer?            // [(H + 2·KV)·hd] (qwen2)
    public let output: FloatBuffer              // [D, H·hd]
    public let mlpNorm: FloatBuffer             // [D]
    public let gateUp: FloatBuffer              // [2·F, D]
    public let down: FloatBuffer                // [D, F]
    /// LLM.int8 linears that replace the f32 GEMMs above (bitsandbytes int8 checkpoints; Int8Linear.swift).
    public var int8: LlamaInt8Linears? = nil
}

/// All weights of a Llama-family model, ready for the forward pass.
/// Memory: 4 bytes × parameters (SmolLM2-135M: about 540 MB), since every weight is held in f32.
public final class LlamaWeights: @unchecked Sendable {
    public let hyperparameters: Hyperparameters
    public let embedding: FloatBuffer           // [V, D]
    public let layers: [LlamaLayerWeights]
    public let finalNorm: FloatBuffer           // [D]
    public let lmHead: FloatBuffer              // [V, D] (the embedding when tied)
    public let ropeFrequencyFactors: [Float]?   // GGUF `rope_freqs.weight` (llama3-style scaling)

    public var parameterBytes: Int {
        var total = embedding.count + finalNorm.count + (lmHead === embedding ? 0 : lmHead.count)
        for layer in layers {
            total += layer.attentionNorm.count + layer.qkv.count + (layer.qkvBias?.count ?? 0) + layer.output.count
                + layer.mlpNorm.count + layer.gateUp.count + layer.down.count
        }
        return total * 4
    }

    /// Builds the weights from a graph of a known Llama-family architecture.
    public init(graph: ModelGraph) throws {
        guard let spec = graph.architecture.spec, let h = graph.hyperparameters else {
            throw EngineError.unsupportedModel("\(graph.source): the engine runs Llama-family models (llama, mistral, qwen2); this is '\(graph.architecture.rawValue)'")
        }
        _ = spec
        hyperparameters = h
        let tensors = Dictionary(graph.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func load(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let tensor = tensors[name] else { throw GraphError.missingTensor(name: name, context: graph.source) }
            guard tensor.shape == shape else { throw GraphError.shapeMismatch(name: name, expected: shape, found: tensor.shape) }
            return try LlamaInt8Linears.engineFloats(tensor)  // Dequantizer.floats + bnb 4-bit compute dtype
        }
        let d = h.hiddenSize, f = h.intermediateSize, hd = h.headDimension
        let qRows = h.headCount * hd, kvRows = h.kvHeadCount * hd
        embedding = FloatBuffer(try load("model.embed_tokens.weight", [h.vocabSize, d]))
        finalNorm = FloatBuffer(try load("model.norm.weight", [d]))
        if tensors["lm_head.weight"] != nil {
            lmHead = FloatBuffer(try load("lm_head.weight", [h.vocabSize, d]))
        } else {
            lmHead = embedding
        }
        ropeFrequencyFactors = try tensors["rope_freqs.weight"].map { try Dequantizer.floats($0) }
        var layers: [LlamaLayerWeights] = []
        for i in 0 ..< h.layerCount {
            let p = "model.layers.\(i)."
            let q = try load(p + "self_attn.q_proj.weight", [qRows, d])
            let k = try load(p + "self_attn.k_proj.weight", [kvRows, d])
            let v = try load(p + "self_attn.v_proj.weight", [kvRows, d])
            var bias: FloatBuffer?
            if h.attentionBias || tensors[p + "self_attn.q_proj.bias"] != nil {
                bias = FloatBuffer(try load(p + "self_attn.q_proj.bias", [qRows]) + load(p + "self_attn.k_proj.bias", [kvRows])
                                   + load(p + "self_attn.v_proj.bias", [kvRows]))
            }
            let gate = try load(p + "mlp.gate_proj.weight", [f, d])
            let up = try load(p + "mlp.up_proj.weight", [f, d])
            layers.append(try LlamaInt8Linears.attach(tensors: tensors, prefix: p, to: LlamaLayerWeights(
                attentionNorm: FloatBuffer(try load(p + "input_layernorm.weight", [d])),
                qkv: FloatBuffer(q + k + v), qkvBias: bias,
                output: FloatBuffer(try load(p + "self_attn.o_proj.weight", [d, qRows])),
                mlpNorm: FloatBuffer(try load(p + "post_attention_layernorm.weight", [d])),
                gateUp: FloatBuffer(gate + up),
                down: FloatBuffer(try load(p + "mlp.down_proj.weight", [d, f])))))
        }
        self.layers = layers
    }
}

/// Errors from the engine.
public enum EngineError: Error, CustomStringConvertible, Sendable {
    case unsupportedModel(String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .unsupportedModel(m): return m
        case let .invalidInput(m): return m
        }
    }
}

extension LlamaWeights {
    /// Where one linear's weight [out × in] lives inside the fused buffers (read or overwrite it in
    /// place: calibrated passes write back their dequantized weights so later layers see them).
    public struct LinearSlot {
        public let pointer: UnsafeMutablePointer<Float>
        public let rows: Int
        public let columns: Int
        /// Bias rows of this linear in the fused q/k/v bias (qwen2), if any.
        public let bias: UnsafeMutablePointer<Float>?
    }

    /// The slot of `module` ("self_attn.q_proj", …, "mlp.down_proj") in decoder layer `layer`.
    public func linear(layer: Int, module: String) throws -> LinearSlot {
        guard layers.indices.contains(layer) else { throw EngineError.invalidInput("layer \(layer) does not exist") }
        let h = hyperparameters, w = layers[layer]
        let d = h.hiddenSize, f = h.intermediateSize, hd = h.headDimension
        let qRows = h.headCount * hd, kvRows = h.kvHeadCount * hd
        func bias(_ offset: Int) -> UnsafeMutablePointer<Float>? { w.qkvBias.map { $0.pointer + offset } }
        switch module {
        case "self_attn.q_proj": return LinearSlot(pointer: w.qkv.pointer, rows: qRows, columns: d, bias: bias(0))
        case "self_attn.k_proj": return LinearSlot(pointer: w.qkv.pointer + qRows * d, rows: kvRows, columns: d, bias: bias(qRows))
        case "self_attn.v_proj":
            return LinearSlot(pointer: w.qkv.pointer + (qRows + kvRows) * d, rows: kvRows, columns: d, bias: bias(qRows + kvRows))
        case "self_attn.o_proj": return LinearSlot(pointer: w.output.pointer, rows: d, columns: qRows, bias: nil)
        case "mlp.gate_proj": return LinearSlot(pointer: w.gateUp.pointer, rows: f, columns: d, bias: nil)
        case "mlp.up_proj": return LinearSlot(pointer: w.gateUp.pointer + f * d, rows: f, columns: d, bias: nil)
        case "mlp.down_proj": return LinearSlot(pointer: w.down.pointer, rows: d, columns: f, bias: nil)
        default: throw EngineError.invalidInput("'\(module)' is not a linear of a Llama-family decoder layer")
        }
    }

    /// The RMSNorm weight that feeds a group (AWQ folds its scales into it).
    public func normWeight(layer: Int, group: LinearGroup) -> UnsafeMutablePointer<Float>? {
        switch group {
        case .qkv: return layers[layer].attentionNorm.pointer
        case .gateUp: return layers[layer].mlpNorm.pointer
        case .output, .down: return nil
        }
    }
}
