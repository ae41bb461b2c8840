import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// `--outtype` of a GGUF output: one type for every ≥2-D weight (1-D tensors stay F32, as
/// convert_hf_to_gguf.py and `llama-quantize --pure` do), or `auto` to keep each tensor's type.
public enum GGUFOutType: String, Sendable, CaseIterable {
    case auto, f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1
    /// llama-quantize's mixes: per-tensor types chosen as llama.cpp does (`GGUFQuantizer`).
    case q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k, iq4_nl, iq4_xs

    /// The llama-quantize mix this out type names (nil for one type everywhere or `auto`).
    public var mix: LlamaFileType? {
        switch self {
        case .auto, .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1: return nil
        default: return LlamaFileType(name: rawValue)
        }
    }

    public var ggmlType: GGMLType? {
        switch self {
        case .q2_k, .q3_k_s, .q3_k_m, .q3_k_l, .q4_k_s, .q4_k_m, .q5_k_s, .q5_k_m, .q6_k, .iq4_nl, .iq4_xs:
            return mix?.defaultType
        case .auto: return nil
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        }
    }

    /// llama.cpp `enum llama_ftype` for `general.file_type`.
    static func fileType(for type: GGMLType) -> UInt32? {
        switch type {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .bf16: return 32
        default: return nil
        }
    }
}

/// Graph → GGUF v3 (llama.cpp's names and keys), streaming and atomic. Fails closed: a graph
/// llama.cpp could not load (no architecture table here, no tokenizer unless `noTokenizer`) is
/// refused before the output exists, and every tensor's values are checked as they stream
/// (NaN/±Inf per `nonFinite`; overflowing casts and non-finite block scales always refused).
public enum GGUFExport {
    public static func write(_ graph: ModelGraph, to output: String, outType: GGUFOutType, force: Bool,
                             noTokenizer: Bool = false, skipTokenizerCheck: Bool = false,
                             nonFinite: NonFinitePolicy = .refuse) throws -> [String] {
        try GGUFRequirements.checkArchitecture(graph)
        var writer = GGUFWriter()
        let plan = try planTensors(graph, outType: outType, nonFinite: nonFinite)
        for entry in try metadata(graph, fileType: dominantFileType(plan), noTokenizer: noTokenizer, skipTokenizerCheck: skipTokenizerCheck) {
            try writer.addMetadata(entry.key, entry.value)
        }
        for item in plan { try writer.addTensor(name: item.name, type: item.type, shape: item.shape, data: item.data) }
        let atomic = try AtomicOutput(path: output, isDirectory: false, force: force)
        do {
            let progress = ProgressReporter(label: "gguf", total: Int64(writer.tensors.reduce(0) { $0 + $1.byteCount }))
            try writer.write(to: atomic.temporaryPath, progress: progress)
            progress.finish()
            try atomic.commit()
        } catch { atomic.abort(); throw error }
        return [(output as NSString).lastPathComponent]
    }

    struct PlannedTensor {
        var name: String
        var type: GGMLType
        var shape: [Int]
        var data: GGUFTensorData
        /// The graph tensor and the row order the GGUF stores it in (for re-quantization).
        var source: GraphTensor
        var order: RowOrder
    }

    static func dominantFileType(_ plan: [PlannedTensor]) -> UInt32 {
        var bytes: [GGMLType: Int] = [:]
        for item in plan where item.shape.count >= 2 { bytes[item.type, default: 0] += item.data.byteCount }
        let type = bytes.max { $0.value < $1.value }?.key ?? .f32
        return GGUFOutType.fileType(for: type) ?? 0
    }

    /// Decides every tensor's name, type and byte source before anything is written.
    static func planTensors(_ graph: ModelGraph, outType: GGUFOutType, nonFinite: NonFinitePolicy = .refuse) throws -> [PlannedTensor] {
        let spec = graph.architecture.spec
        let permutes = graph.architecture == .llama || graph.architecture == .mistral
        var plan: [PlannedTensor] = []
        for tensor in graph.tensors {
            var name = tensor.name
            var targetOrder = RowOrder.huggingFace
            if let spec, tensor.name != "rope_freqs.weight" {
                if spec.isIgnored(huggingFaceName: tensor.name) { continue }
                guard let mapped = spec.ggufName(forHuggingFace: tensor.name) else {
                    throw GraphError.unmappedTensor(architecture: graph.architecture.rawValue, name: tensor.name, direction: "GGUF")
                }
                name = mapped.name
                if permutes, let h = graph.hyperparameters {
                    switch mapped.rule.permutation {
                    case .query: targetOrder = .ggufInterleaved(heads: h.headCount)
                    case .key: targetOrder = .ggufInterleaved(heads: h.kvHeadCount)
                    case .none: break
                    }
                }
            }
            let type = try targetType(tensor, outType: outType)
            plan.append(PlannedTensor(name: name, type: type, shape: tensor.shape,
                                      data: try data(for: tensor, type: type, order: targetOrder, nonFinite: nonFinite),
                                      source: tensor, order: targetOrder))
        }
        return plan
    }

    static func currentType(_ tensor: GraphTensor) throws -> GGMLType {
        switch tensor.value {
        case let .dense(view):
            guard let type = GGMLType(plain: tensor.castTo ?? view.dtype) else {
                throw GraphError.unsupported("tensor '\(tensor.name)': GGUF has no type for \(view.dtype.rawValue)")
            }
            return type
        case let .quantized(q):
            if case let .ggml(type) = q.scheme { return type }
            return .f32  // other schemes are dequantized
        case let .deferred(payload):
            return GGMLType(plain: payload.dtype) ?? .f32
        }
    }

    static func targetType(_ tensor: GraphTensor, outType: GGUFOutType) throws -> GGMLType {
        guard let wanted = outType.ggmlType else { return try currentType(tensor) }
        let isFloat: Bool = {
            if case let .dense(view) = tensor.value { return view.dtype.isFloatingPoint }
            return true
        }()
        guard isFloat else { return try currentType(tensor) }
        // 1-D tensors (norms, biases) stay F32 as llama.cpp keeps them.
        if tensor.shape.count < 2 { return .f32 }
        if (tensor.shape.last ?? 0) % wanted.blockSize != 0 { return .f16 }  // llama.cpp's fallback for ragged rows
        return wanted
    }

    /// The bytes of `tensor` as `type`, rows in `order`, with its values checked as they stream.
    static func data(for tensor: GraphTensor, type: GGMLType, order: RowOrder, nonFinite: NonFinitePolicy = .refuse) throws -> GGUFTensorData {
        let check = ValueCheck(tensor: tensor.name, nonFinite: nonFinite)
        let sameOrder = tensor.rowOrder == order
        // Fast path: bytes already in the right type and order → copy from the map.
        if sameOrder, try currentType(tensor) == type {
            switch tensor.value {
            case let .dense(view):
                if tensor.castTo == nil || tensor.castTo == view.dtype { return .payload(TensorPayload(view: view).checked(check)) }
            case let .quantized(q):
                if case let .ggml(blockType) = q.scheme, let blocks = q.component("weight") {
                    // Blocks are checked through their scales (finite scales decode to finite values).
                    var blockCheck = check
                    blockCheck.sourceScan = { try GGMLBlockScales.nonFiniteStats(blockType, $0) }
                    return .payload(TensorPayload(view: blocks).checked(blockCheck))
                }
            case let .deferred(payload):
                return .payload(payload.checked(check))
            }
        }
        // A dense float tensor that only needs a cast keeps streaming chunk by chunk.
        if sameOrder, case let .dense(view) = tensor.value, let dtype = type.plainDType {
            return .payload(try TensorPayload(converting: view, to: dtype).checked(check))
        }
        let elements = tensor.elementCount
        guard let byteCount = type.byteCount(elements: elements) else {
            throw GraphError.unsupported("tensor '\(tensor.name)': \(elements) elements are not whole \(type.name) blocks")
        }
        let source = tensor
        return .produce(byteCount: byteCount) { out in
            let values = try orderedFloats(source, order: order, release: false)
            source.releaseSourcePages()
            let stats = values.withUnsafeBufferPointer { ValueScan.scan($0) }
            if type.plainDType == nil, stats.nonFinite > 0 {
                throw KitError.cannotQuantize(tensor: source.name, type: type.name, reason: "it has \(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0)), which no \(type.name) block can hold (its scale would not be finite); --allow-nonfinite only lets such values through tensors that stay in float")
            }
            try check.conclude(stats)
            try values.withUnsafeBufferPointer { input in
                if let dtype = type.plainDType {
                    try DTypeConversion.convert(UnsafeRawBufferPointer(input), from: .f32, into: out, to: dtype, count: elements,
                                                refusingOverflowIn: source.name)
                } else {
                    try GGMLCodec.quantize(type, from: input, into: out, count: elements)
                    try refuseNonFiniteScales(type, UnsafeRawBufferPointer(out), tensor: source.name)
                }
            }
        }
    }

    /// The f32 values of `tensor` with its rows in `order` (the stored order when it already
    /// matches, else Hugging Face order re-permuted).
    static func orderedFloats(_ tensor: GraphTensor, order: RowOrder, release: Bool = true) throws -> [Float] {
        let sameOrder = tensor.rowOrder == order
        var values = try Dequantizer.floats(tensor, storedOrder: sameOrder)
        if release { tensor.releaseSourcePages() }
        if !sameOrder, case let .ggufInterleaved(heads) = order {
            values = try interleave(values, shape: tensor.shape, heads: heads)
        }
        return values
    }

    /// After block quantization of finite values: a scale that overflowed float16 (Q8_0 above
    /// |w| ≈ 8.3·10⁶, Q4_1's minimum beyond ±65504, …) would decode to ±Inf/NaN in llama.cpp.
    static func refuseNonFiniteScales(_ type: GGMLType, _ blocks: UnsafeRawBufferPointer, tensor: String) throws {
        guard let scan = GGMLBlockScales.scan(type, blocks), scan.nonFiniteBlocks > 0 else { return }
        throw KitError.cannotQuantize(tensor: tensor, type: type.name, reason: "\(scan.nonFiniteBlocks) block\(scan.nonFiniteBlocks == 1 ? "" : "s") would store a non-finite float16 scale (first: block \(scan.firstBlock ?? 0), \(scan.firstField ?? "d") = \(scan.firstValue ?? .nan)): its values are beyond what the type's float16 scales reach; keep this tensor in f32 or bf16")
    }

    static func interleave(_ values: [Float], shape: [Int], heads: Int) throws -> [Float] {
        let rows = shape.first ?? 0
        guard rows > 0 else { return values }
        var result = [Float](repeating: 0, count: values.count)
        try values.withUnsafeBytes { src in
            try result.withUnsafeMutableBytes { dst in
                try RowPermutation.apply(rows: rows, rowBytes: values.count / rows * 4, heads: heads,
                                         toHuggingFace: false, source: src, target: dst)
            }
        }
        return result
    }

    /// Key/values: the source GGUF's (file type updated) or llama.cpp's keys built from the config,
    /// with the tokenizer as `tokenizer.ggml.*` — or, with `noTokenizer`, only
    /// `tokenizer.ggml.model = "none"`, llama.cpp's marker for a model without a vocabulary.
    static func metadata(_ graph: ModelGraph, fileType: UInt32, noTokenizer: Bool = false,
                         skipTokenizerCheck: Bool = false) throws -> [(key: String, value: GGUFValue)] {
        if var carried = graph.ggufMetadata {
            try GGUFRequirements.checkCarriedTokenizer(graph, carried, noTokenizer: noTokenizer)
            if let index = carried.firstIndex(where: { $0.key == "general.file_type" }) {
                carried[index].value = .uint32(fileType)
            } else {
                carried.append(("general.file_type", .uint32(fileType)))
            }
            return noTokenizer ? withoutTokenizer(carried, graph) : carried
        }
        var kv: [(key: String, value: GGUFValue)] = []
        guard let spec = graph.architecture.spec, let h = graph.hyperparameters else {
            throw KitError.ggufNotLoadable("\(graph.source): no llama.cpp architecture to write GGUF metadata for")
        }
        let arch = spec.ggufName
        kv.append(("general.architecture", .string(arch)))
        kv.append(("general.type", .string("model")))
        if let name = graph.config?["_name_or_path"]?.stringValue, !name.isEmpty {
            kv.append(("general.name", .string(name)))
        } else {
            kv.append(("general.name", .string((graph.source as NSString).lastPathComponent)))
        }
        kv.append(("\(arch).block_count", .uint32(UInt32(h.layerCount))))
        kv.append(("\(arch).context_length", .uint32(UInt32(h.contextLength))))
        kv.append(("\(arch).embedding_length", .uint32(UInt32(h.hiddenSize))))
        kv.append(("\(arch).feed_forward_length", .uint32(UInt32(h.intermediateSize))))
        kv.append(("\(arch).attention.head_count", .uint32(UInt32(h.headCount))))
        kv.append(("\(arch).attention.head_count_kv", .uint32(UInt32(h.kvHeadCount))))
        kv.append(("\(arch).rope.freq_base", .float32(Float(h.ropeTheta))))
        kv.append(("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(h.rmsNormEpsilon))))
        if h.headDimension != h.hiddenSize / h.headCount {
            kv.append(("\(arch).attention.key_length", .uint32(UInt32(h.headDimension))))
            kv.append(("\(arch).attention.value_length", .uint32(UInt32(h.headDimension))))
        }
        kv.append(("general.file_type", .uint32(fileType)))
        kv.append(("\(arch).vocab_size", .uint32(UInt32(h.vocabSize))))
        kv.append(("\(arch).rope.dimension_count", .uint32(UInt32(h.headDimension))))
        switch h.ropeScaling {
        case let .linear(factor)?:
            kv.append(("\(arch).rope.scaling.type", .string("linear")))
            kv.append(("\(arch).rope.scaling.factor", .float32(Float(factor))))
        case let .yarn(factor, original)?:
            kv.append(("\(arch).rope.scaling.type", .string("yarn")))
            kv.append(("\(arch).rope.scaling.factor", .float32(Float(factor))))
            kv.append(("\(arch).rope.scaling.original_context_length", .uint32(UInt32(original))))
        case .llama3?, .dynamic?:
            throw GraphError.unsupported("\(graph.source): writing llama3/dynamic RoPE scaling to GGUF (llama.cpp's rope_freqs tensor) is not supported yet")
        case nil:
            break
        }
        kv.append(("general.quantization_version", .uint32(2)))
        // HF directories carry their tokenizer as files; convert it only now that GGUF needs it.
        if let tokenizer = try GGUFRequirements.tokenizer(for: graph, noTokenizer: noTokenizer, skipCheck: skipTokenizerCheck) {
            kv += tokenizerMetadata(tokenizer)
        } else {
            kv.append(("tokenizer.ggml.model", .string(GGUFRequirements.noVocabularyModel)))
        }
        return kv
    }

    /// Carried metadata with its vocabulary dropped (`--no-tokenizer`): llama.cpp then takes the
    /// vocabulary size from `<arch>.vocab_size`, which GGUFs often leave to the token list.
    static func withoutTokenizer(_ metadata: [(key: String, value: GGUFValue)], _ graph: ModelGraph) -> [(key: String, value: GGUFValue)] {
        var kept = metadata.filter { !$0.key.hasPrefix("tokenizer.") }
        if let arch = graph.architecture.spec?.ggufName, let h = graph.hyperparameters,
           !kept.contains(where: { $0.key == arch + ".vocab_size" }) {
            kept.append((arch + ".vocab_size", .uint32(UInt32(h.vocabSize))))
        }
        kept.append(("tokenizer.ggml.model", .string(GGUFRequirements.noVocabularyModel)))
        return kept
    }

    static func tokenizerMetadata(_ t: TokenizerData) -> [(key: String, value: GGUFValue)] {
        var kv: [(key: String, value: GGUFValue)] = [("tokenizer.ggml.model", .string(t.model))]
        if let pre = t.pre { kv.append(("tokenizer.ggml.pre", .string(pre))) }
        kv.append(("tokenizer.ggml.tokens", .stringArray(t.tokens)))
        if !t.tokenTypes.isEmpty { kv.append(("tokenizer.ggml.token_type", .int32Array(t.tokenTypes))) }
        if let scores = t.scores { kv.append(("tokenizer.ggml.scores", .float32Array(scores))) }
        if !t.merges.isEmpty { kv.append(("tokenizer.ggml.merges", .stringArray(t.merges))) }
        if let id = t.bosTokenID { kv.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(id)))) }
        if let id = t.eosTokenID { kv.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(id)))) }
        if let id = t.unknownTokenID { kv.append(("tokenizer.ggml.unknown_token_id", .uint32(UInt32(id)))) }
        if let id = t.paddingTokenID { kv.append(("tokenizer.ggml.padding_token_id", .uint32(UInt32(id)))) }
        if let add = t.addBOS { kv.append(("tokenizer.ggml.add_bos_token", .bool(add))) }
        if let add = t.addEOS { kv.append(("tokenizer.ggml.add_eos_token", .bool(add))) }
        if let template = t.chatTemplate { kv.append(("tokenizer.chat_template", .string(template))) }
        return kv
    }
}
