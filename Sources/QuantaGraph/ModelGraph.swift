import QuantaCore
import QuantaFormats

/// What a tensor does in the model; nodes group tensors by role.
public enum TensorRole: Sendable, Hashable, CustomStringConvertible {
    case embedding
    case attention(layer: Int)
    case mlp(layer: Int)
    case norm
    case lmHead
    case other

    public var description: String {
        switch self {
        case .embedding: return "embedding"
        case let .attention(layer): return "attention(\(layer))"
        case let .mlp(layer): return "mlp(\(layer))"
        case .norm: return "norm"
        case .lmHead: return "lm_head"
        case .other: return "other"
        }
    }
}

/// Row order of a stored attention weight. The IR's canonical order is Hugging Face's;
/// llama.cpp stores Llama-family Q/K rows interleaved per head (convert_hf_to_gguf.py `permute`).
/// A tensor imported from GGUF keeps its bytes and says so here, so GGUF → GGUF stays a byte
/// copy and the reordering happens only where a consumer needs HF order.
public enum RowOrder: Sendable, Equatable {
    case huggingFace
    /// Rows interleaved as llama.cpp's `permute(w, n_head)`, with `heads` heads in this tensor.
    case ggufInterleaved(heads: Int)
}

/// The payload of a graph tensor.
public enum TensorValue: Sendable {
    case dense(TensorView)
    case quantized(QuantizedTensor)
    /// A dense tensor computed when written (e.g. a dequantized block tensor), so conversions
    /// stream one tensor at a time instead of materializing the model.
    case deferred(TensorPayload)
}

/// A quantized tensor: its logical (dequantized) shape and the named component tensors that
/// encode it (e.g. `weight`, `absmax`, … or `qweight`, `qzeros`, `scales`, `g_idx`).
public struct QuantizedTensor: Sendable {
    public var scheme: QuantScheme
    public var shape: [Int]
    public var components: [(name: String, view: TensorView)]

    public init(scheme: QuantScheme, shape: [Int], components: [(name: String, view: TensorView)]) {
        self.scheme = scheme
        self.shape = shape
        self.components = components
    }

    public func component(_ name: String) -> TensorView? { components.first { $0.name == name }?.view }

    public var storedBytes: Int { components.reduce(0) { $0 + $1.view.byteCount } }
}

/// One named tensor of the graph (Hugging Face canonical name).
public struct GraphTensor: Sendable {
    public var name: String
    public var value: TensorValue
    public var rowOrder: RowOrder
    /// A pending cast of a dense float tensor, applied chunk by chunk while streaming it out.
    public var castTo: DType?

    public init(name: String, value: TensorValue, rowOrder: RowOrder = .huggingFace, castTo: DType? = nil) {
        self.name = name
        self.value = value
        self.rowOrder = rowOrder
        self.castTo = castTo
    }

    /// Logical row-major shape.
    public var shape: [Int] {
        switch value {
        case let .dense(view): return view.shape
        case let .quantized(q): return q.shape
        case let .deferred(payload): return payload.shape
        }
    }

    public var elementCount: Int { shape.reduce(1, *) }

    public var storedBytes: Int {
        switch value {
        case let .dense(view): return view.elementCount * (castTo ?? view.dtype).byteSize
        case let .quantized(q): return q.storedBytes
        case let .deferred(payload): return payload.byteCount
        }
    }

    /// "F32", "BF16", "Q4_1", "NF4(b64,dq)", …
    public var typeName: String {
        switch value {
        case let .dense(view): return (castTo ?? view.dtype).rawValue
        case let .quantized(q): return q.scheme.description
        case let .deferred(payload): return payload.dtype.rawValue
        }
    }
}

/// A layer: a role and the tensors it owns.
public struct Node: Sendable {
    public var role: TensorRole
    public var tensors: [GraphTensor]

    public init(role: TensorRole, tensors: [GraphTensor]) {
        self.role = role
        self.tensors = tensors
    }
}

/// A side file carried unchanged from input to output (generation_config.json, tokenizer files).
public struct SideFile: Sendable {
    public var name: String
    public var contents: [UInt8]

    public init(name: String, contents: [UInt8]) {
        self.name = name
        self.contents = contents
    }
}

/// The one intermediate representation every reader produces and every writer consumes.
public struct ModelGraph: Sendable {
    public var architecture: Architecture
    public var hyperparameters: Hyperparameters?
    /// The model's config.json as read (or as built from GGUF metadata); writers update it.
    public var config: JSONObject?
    public var tokenizer: TokenizerData?
    public var nodes: [Node]
    /// Free-form string metadata (safetensors `__metadata__`).
    public var metadata: [(key: String, value: String)]
    public var sideFiles: [SideFile]
    /// The typed GGUF key/values when the graph was read from GGUF (carried to a GGUF output).
    public var ggufMetadata: [(key: String, value: GGUFValue)]?
    /// Where the graph came from, for messages.
    public var source: String

    public init(architecture: Architecture, hyperparameters: Hyperparameters? = nil, config: JSONObject? = nil,
                tokenizer: TokenizerData? = nil, nodes: [Node], metadata: [(key: String, value: String)] = [],
                sideFiles: [SideFile] = [], source: String) {
        self.architecture = architecture
        self.hyperparameters = hyperparameters
        self.config = config
        self.tokenizer = tokenizer
        self.nodes = nodes
        self.metadata = metadata
        self.sideFiles = sideFiles
        self.source = source
    }

    /// Tensor names in the order the source file stored them; writers keep that order so a
    /// same-format conversion is byte-identical. Tensors not listed follow in node order.
    public var sourceOrder: [String]?

    /// Every tensor, in source order when known, else node order.
    public var tensors: [GraphTensor] {
        let all = nodes.flatMap(\.tensors)
        guard let order = sourceOrder else { return all }
        let rank = Dictionary(order.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        return all.enumerated().sorted { a, b in
            let ra = rank[a.element.name] ?? order.count + a.offset, rb = rank[b.element.name] ?? order.count + b.offset
            return ra < rb
        }.map(\.element)
    }

    public func tensor(named name: String) -> GraphTensor? {
        for node in nodes { if let t = node.tensors.first(where: { $0.name == name }) { return t } }
        return nil
    }

    /// Applies `transform` to every tensor, keeping node structure.
    public mutating func mapTensors(_ transform: (GraphTensor) throws -> GraphTensor) rethrows {
        for n in nodes.indices {
            for t in nodes[n].tensors.indices { nodes[n].tensors[t] = try transform(nodes[n].tensors[t]) }
        }
    }

    /// Groups named tensors into nodes by the architecture's role table; an unknown
    /// architecture keeps one `.other` node in the given order.
    public static func grouping(_ tensors: [GraphTensor], architecture: Architecture) -> [Node] {
        guard let spec = architecture.spec else { return tensors.isEmpty ? [] : [Node(role: .other, tensors: tensors)] }
        var order: [TensorRole] = []
        var grouped: [TensorRole: [GraphTensor]] = [:]
        for tensor in tensors {
            let role = spec.role(ofHuggingFaceName: tensor.name)
            if grouped[role] == nil { order.append(role) }
            grouped[role, default: []].append(tensor)
        }
        return order.map { Node(role: $0, tensors: grouped[$0] ?? []) }
    }
}
