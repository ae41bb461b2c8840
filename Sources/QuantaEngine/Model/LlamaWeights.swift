import QuantaCore
import QuantaGraph
import QuantaQuant

/// The linears of a Llama-family decoder layer, in the order the layer computes them.
public enum LinearModule: Int, Sendable, CaseIterable {
    case q, k, v, o, gate, up, down

    /// The Hugging Face module name under `model.layers.N.`.
    public var name: String {
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
         "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"][rawValue]
    }

    public init?(name: String) {
        guard let match = LinearModule.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The group of linears that read the same input, and this module's place in it.
    public var group: (group: LinearGroup, index: Int) {
        switch self {
        case .q: return (.qkv, 0)
        case .k: return (.qkv, 1)
        case .v: return (.qkv, 2)
        case .o: return (.output, 0)
        case .gate: return (.gateUp, 0)
        case .up: return (.gateUp, 1)
        case .down: return (.down, 0)
        }
    }
}

/// One decoder layer: its linears in their stored form, norms and biases in f32 (a few
/// thousand floats). A calibrated pass can replace the linears with f32 working copies for the
/// time it works on the layer (`LlamaWeights.linear(layer:module:)`), then drop them again.
public final class LlamaLayerWeights: @unchecked Sendable {
    public let attentionNorm: FloatBuffer       // [D]
    public let mlpNorm: FloatBuffer             // [D]
    public let qkvBias: FloatBuffer?            // [(H + 2·KV)·hd] (qwen2)
    /// The stored linears, indexed by `LinearModule.rawValue`.
    public let stored: [WeightMatrix]
    /// f32 working copies while a calibrated pass works on this layer (per module; nil where none).
    var working: [FloatMatrix?] = Array(repeating: nil, count: LinearModule.allCases.count)
    /// LLM.int8 linears that replace the products above (bitsandbytes int8 checkpoints; Int8Linear.swift).
    public var int8: LlamaInt8Linears? = nil

    init(attentionNorm: FloatBuffer, mlpNorm: FloatBuffer, qkvBias: FloatBuffer?, stored: [WeightMatrix]) {
        self.attentionNorm = attentionNorm
        self.mlpNorm = mlpNorm
        self.qkvBias = qkvBias
        self.stored = stored
    }

    /// The matrix the forward pass multiplies by: the working copy when there is one.
    public func matrix(_ module: LinearModule) -> WeightMatrix {
        working[module.rawValue] ?? stored[module.rawValue]
    }

    /// Bytes of the stored linears.
    public var storedBytes: Int { stored.reduce(0) { $0 + $1.storedBytes } }
}

/// All weights of a Llama-family model, ready for the forward pass, each in its stored form
/// (see WeightMatrix.swift): memory is the file's mapped pages plus norms and biases, not
/// 4 bytes × parameters.
public final class LlamaWeights: @unchecked Sendable {
    public let hyperparameters: Hyperparameters
    public let embedding: WeightMatrix           // [V, D], rows decoded when looked up
    public let layers: [LlamaLayerWeights]
    public let finalNorm: FloatBuffer            // [D]
    public let lmHead: WeightMatrix              // [V, D] (the embedding when tied)
    public let ropeFrequencyFactors: [Float]?    // GGUF `rope_freqs.weight` (llama3-style scaling)
    /// `.ggml` for GGUF models (llama.cpp's numerics), `.exact` otherwise.
    public let defaultNumerics: Numerics

    /// Bytes of every weight in its stored form (the tied head counted once).
    public var storedBytes: Int {
        embedding.storedBytes + (lmHead === embedding ? 0 : lmHead.storedBytes) + finalNorm.count * 4
            + layers.reduce(0) { $0 + $1.storedBytes + ($1.attentionNorm.count + $1.mlpNorm.count + ($1.qkvBias?.count ?? 0)) * 4 }
    }

    /// The storage kinds present, with their share of the bytes (for reports): "Q4_K 61%, Q6_K 12%, …".
    public var storageSummary: String {
        var bytes: [String: Int] = [:]
        for m in [embedding] + (lmHead === embedding ? [] : [lmHead]) + layers.flatMap(\.stored) { bytes[m.storageName, default: 0] += m.storedBytes }
        let total = max(1, bytes.values.reduce(0, +))
        return bytes.sorted { $0.value > $1.value }.map { "\($0.key) \(Int((Double($0.value) * 100 / Double(total)).rounded()))%" }.joined(separator: ", ")
    }

    /// Builds the weights from a graph of a known Llama-family architecture. Nothing is decoded
    /// except norms and biases; the linears keep pointing into the graph's storage.
    public init(graph: ModelGraph) throws {
        guard graph.architecture.spec != nil, let h = graph.hyperparameters else {
            throw EngineError.unsupportedModel("\(graph.source): the engine runs Llama-family models (llama, mistral, qwen2); this is '\(graph.architecture.rawValue)'")
        }
        hyperparameters = h
        defaultNumerics = graph.ggufMetadata != nil ? .ggml : .exact
        let tensors = Dictionary(graph.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func tensor(_ name: String) throws -> GraphTensor {
            guard let tensor = tensors[name] else { throw GraphError.missingTensor(name: name, context: graph.source) }
            return tensor
        }
        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws -> WeightMatrix {
            try WeightMatrixLoader.matrix(try tensor(name), rows: rows, columns: columns)
        }
        func vector(_ name: String, _ count: Int) throws -> FloatBuffer {
            try WeightMatrixLoader.vector(try tensor(name), count: count)
        }
        let d = h.hiddenSize, f = h.intermediateSize, hd = h.headDimension
        let qRows = h.headCount * hd, kvRows = h.kvHeadCount * hd
        embedding = try matrix("model.embed_tokens.weight", h.vocabSize, d)
        finalNorm = try vector("model.norm.weight", d)
        lmHead = tensors["lm_head.weight"] != nil ? try matrix("lm_head.weight", h.vocabSize, d) : embedding
        ropeFrequencyFactors = try tensors["rope_freqs.weight"].map { try Dequantizer.floats($0) }
        var layers: [LlamaLayerWeights] = []
        for i in 0 ..< h.layerCount {
            let p = "model.layers.\(i)."
            var bias: FloatBuffer?
            if h.attentionBias || tensors[p + "self_attn.q_proj.bias"] != nil {
                bias = FloatBuffer(try vector(p + "self_attn.q_proj.bias", qRows).array + vector(p + "self_attn.k_proj.bias", kvRows).array
                                   + vector(p + "self_attn.v_proj.bias", kvRows).array)
            }
            let shapes: [(Int, Int)] = [(qRows, d), (kvRows, d), (kvRows, d), (d, qRows), (f, d), (f, d), (d, f)]
            let stored = try LinearModule.allCases.map { try matrix(p + $0.name + ".weight", shapes[$0.rawValue].0, shapes[$0.rawValue].1) }
            let layer = LlamaLayerWeights(attentionNorm: try vector(p + "input_layernorm.weight", d),
                                          mlpNorm: try vector(p + "post_attention_layernorm.weight", d), qkvBias: bias, stored: stored)
            layer.int8 = try LlamaInt8Linears.make(tensors: tensors, prefix: p)
            layers.append(layer)
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
    /// Where one linear's weight [out × in] lives as f32 while a calibrated pass works on its
    /// layer (read or overwrite it in place: passes write back their dequantized weights so the
    /// rest of the layer sees them).
    public struct LinearSlot {
        public let pointer: UnsafeMutablePointer<Float>
        public let rows: Int
        public let columns: Int
        /// Bias rows of this linear in the fused q/k/v bias (qwen2), if any.
        public let bias: UnsafeMutablePointer<Float>?
    }

    /// The f32 slot of `module` ("self_attn.q_proj", …, "mlp.down_proj") in decoder layer `layer`.
    /// The first call for a layer decodes its linears into working copies (one layer in f32);
    /// `releaseWorkingCopies(layer:)` drops them.
    public func linear(layer: Int, module: String) throws -> LinearSlot {
        guard layers.indices.contains(layer) else { throw EngineError.invalidInput("layer \(layer) does not exist") }
        guard let linear = LinearModule(name: module) else {
            throw EngineError.invalidInput("'\(module)' is not a linear of a Llama-family decoder layer")
        }
        let w = layers[layer]
        let (group, index) = linear.group
        let working = materialize(layer: layer, group: group)[index]
        let h = hyperparameters, qRows = h.headCount * h.headDimension, kvRows = h.kvHeadCount * h.headDimension
        var bias: UnsafeMutablePointer<Float>?
        if let b = w.qkvBias {
            switch linear {
            case .q: bias = b.pointer
            case .k: bias = b.pointer + qRows
            case .v: bias = b.pointer + qRows + kvRows
            default: bias = nil
            }
        }
        guard let pointer = working.mutablePointer else { throw EngineError.invalidInput("working copy of \(module) is not writable") }
        return LinearSlot(pointer: pointer, rows: working.rows, columns: working.columns, bias: bias)
    }

    /// Decodes one linear group of layer `layer` into f32 working copies (once) and returns them in
    /// the group's module order. A group's linears share one buffer, stacked in order (AWQ scales
    /// q/k/v and gate/up as one matrix).
    @discardableResult
    public func materialize(layer index: Int, group: LinearGroup) -> [FloatMatrix] {
        let layer = layers[index]
        let modules = group.modules.compactMap { LinearModule(name: $0) }
        let existing = modules.compactMap { layer.working[$0.rawValue] }
        if existing.count == modules.count { return existing }
        let parts = modules.map { layer.stored[$0.rawValue] }
        let buffer = FloatBuffer(count: parts.reduce(0) { $0 + $1.rows * $1.columns })
        var offset = 0
        var result: [FloatMatrix] = []
        for (module, part) in zip(modules, parts) {
            let matrix = FloatMatrix(buffer: buffer, offset: offset, rows: part.rows, columns: part.columns)
            part.decodeAll(into: buffer.pointer + offset)
            layer.working[module.rawValue] = matrix
            result.append(matrix)
            offset += part.rows * part.columns
        }
        return result
    }

    /// Drops one group's working copies (the forward pass goes back to the stored form for it).
    public func releaseWorkingCopies(layer index: Int, group: LinearGroup) {
        for module in group.modules.compactMap({ LinearModule(name: $0) }) { layers[index].working[module.rawValue] = nil }
    }

    /// Drops layer `layer`'s working copies and the mapped pages of its stored linears.
    public func releaseWorkingCopies(layer index: Int) {
        let layer = layers[index]
        for group in LinearGroup.allCases { releaseWorkingCopies(layer: index, group: group) }
        for matrix in layer.stored { matrix.releasePages() }
    }

    /// Calibrated passes read the model once, layer after layer: tell the kernel (read-ahead, and
    /// pages behind can go), as `releaseWorkingCopies` drops each finished layer's pages.
    public func adviseSequentialRead() {
        for layer in layers { for matrix in layer.stored { matrix.adviseSequential() } }
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
