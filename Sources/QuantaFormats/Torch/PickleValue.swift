import QuantaCore

/// A value the restricted unpickler produced. Containers, storages and tensors live in the
/// tables of `TorchPickle` and are referred to by index, so the object graph is flat: no
/// recursion when it is freed, and shared references (memo gets) cost nothing.
public enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits; kept opaque (nothing a state dict needs is that wide).
    case largeInt
    case float(Double)
    case string(String)
    case global(TorchGlobal)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    case storage(Int)
    case tensor(Int)

    /// A short name for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "a bool"
        case .int, .largeInt: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case let .global(global): return global.qualifiedName
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }
}

/// A dict or OrderedDict, in insertion order (Python dicts keep it; a repeated key keeps its
/// first position and takes the last value).
public struct PickleDict: Sendable {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    /// `collections.OrderedDict` rather than a plain dict.
    public let isOrdered: Bool
    /// Attributes set by BUILD (an OrderedDict's `_metadata`), in order.
    public internal(set) var attributes: [(name: String, value: PickleValue)] = []
    private var index: [PickleKey: Int] = [:]

    init(isOrdered: Bool) { self.isOrdered = isOrdered }

    public var count: Int { keys.count }

    mutating func set(_ key: PickleValue, hashKey: PickleKey, _ value: PickleValue) {
        if let position = index[hashKey] {
            values[position] = value
        } else {
            index[hashKey] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    public func value(forString key: String) -> PickleValue? {
        index[.string(key)].map { values[$0] }
    }
}

/// Hashable form of a dict key (Python: equal keys hash equal, so `True` and `1` are one key).
enum PickleKey: Hashable, Sendable {
    case none
    case int(Int)
    case float(UInt64)
    case string(String)
    case global(TorchGlobal)
    case tuple([PickleKey])
}

/// A storage named by a persistent id `('storage', StorageType, key, location, numel)`.
public struct TorchStorageReference: Sendable, Equatable {
    /// The `data/<key>` record holding its bytes.
    public let key: String
    /// Element type of a typed storage; nil for `UntypedStorage` (bytes).
    public let dtype: DType?
    /// The storage class, e.g. `torch.FloatStorage`.
    public let typeName: String
    /// Elements of `dtype` (bytes for an untyped storage).
    public let elementCount: Int
    /// Device tag, e.g. "cpu" or "cuda:0" (data is always on disk; the tag is informational).
    public let location: String
    /// data.pkl offset of the first BINPERSID naming it.
    public let pickleOffset: Int

    /// Bytes the storage claims (overflow-checked when the reference was made).
    public var byteCount: Int { elementCount * (dtype?.byteSize ?? 1) }
}

/// A tensor rebuilt by `_rebuild_tensor_v2/v3`: a strided window on a storage.
public struct TorchTensorRecord: Sendable, Equatable {
    public let storage: Int
    public let dtype: DType
    public let shape: [Int]
    public let strides: [Int]
    /// In elements of `dtype`.
    public let storageOffset: Int
    public let requiresGrad: Bool
    /// data.pkl offset of the REDUCE that built it.
    public let pickleOffset: Int
}

/// Everything an unpickled data.pkl holds.
public struct TorchPickle: Sendable {
    public let root: PickleValue
    public let tuples: [[PickleValue]]
    public let lists: [[PickleValue]]
    public let dicts: [PickleDict]
    public let storages: [TorchStorageReference]
    public let tensors: [TorchTensorRecord]
}
