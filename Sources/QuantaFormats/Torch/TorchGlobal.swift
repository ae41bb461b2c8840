import QuantaCore

/// The only globals the restricted unpickler will push: what torch.save writes for a state dict.
/// Each becomes a plain Swift value; nothing is imported or called. Every other `module.name`
/// is refused at the GLOBAL / STACK_GLOBAL that names it.
public enum TorchGlobal: Sendable, Hashable {
    case rebuildTensorV2
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    case orderedDict
    case size
    /// `torch.FloatStorage` and friends; `dtype` is nil for a storage Quanta cannot hold (complex, quantized).
    case typedStorage(name: String, dtype: DType?)
    /// `torch.storage.UntypedStorage`: bytes, typed by `_rebuild_tensor_v3`'s dtype argument.
    case untypedStorage
    /// `torch.float32` and friends; `dtype` is nil for a torch dtype Quanta cannot hold.
    case dtype(name: String, dtype: DType?)

    /// `module.name` as Python spells it.
    public var qualifiedName: String {
        switch self {
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .orderedDict: return "collections.OrderedDict"
        case .size: return "torch.Size"
        case let .typedStorage(name, _): return "torch." + name
        case .untypedStorage: return "torch.storage.UntypedStorage"
        case let .dtype(name, _): return "torch." + name
        }
    }

    /// The allow-list, keyed by `module.name`.
    static let allowed: [String: TorchGlobal] = {
        var table: [String: TorchGlobal] = [:]
        let fixed: [TorchGlobal] = [.rebuildTensorV2, .rebuildTensorV3, .rebuildParameter, .rebuildParameterWithState,
                                    .orderedDict, .size, .untypedStorage]
        for global in fixed { table[global.qualifiedName] = global }
        for (name, dtype) in typedStorages { table["torch." + name] = .typedStorage(name: name, dtype: dtype) }
        for (name, dtype) in dtypes { table["torch." + name] = .dtype(name: name, dtype: dtype) }
        return table
    }()

    /// Legacy typed storage classes (torch/storage.py `_dtype_to_storage_type_map`).
    static let typedStorages: [(String, DType?)] = [
        ("DoubleStorage", .f64), ("FloatStorage", .f32), ("HalfStorage", .f16), ("BFloat16Storage", .bf16),
        ("LongStorage", .i64), ("IntStorage", .i32), ("ShortStorage", .i16), ("CharStorage", .i8),
        ("ByteStorage", .u8), ("BoolStorage", .bool),
        ("ComplexDoubleStorage", nil), ("ComplexFloatStorage", nil), ("QInt8Storage", nil),
        ("QInt32Storage", nil), ("QUInt8Storage", nil), ("QUInt4x2Storage", nil), ("QUInt2x4Storage", nil),
    ]

    /// torch dtypes by the name their pickle uses (`torch.float16` pickles as GLOBAL 'torch float16').
    static let dtypes: [(String, DType?)] = [
        ("float64", .f64), ("float32", .f32), ("float16", .f16), ("bfloat16", .bf16),
        ("float8_e4m3fn", .f8e4m3), ("float8_e5m2", .f8e5m2),
        ("int64", .i64), ("int32", .i32), ("int16", .i16), ("int8", .i8), ("uint8", .u8), ("bool", .bool),
        ("uint16", nil), ("uint32", nil), ("uint64", nil), ("complex32", nil), ("complex64", nil),
        ("complex128", nil), ("float8_e4m3fnuz", nil), ("float8_e5m2fnuz", nil), ("float8_e8m0fnu", nil),
        ("float4_e2m1fn_x2", nil), ("qint8", nil), ("quint8", nil), ("qint32", nil), ("quint4x2", nil),
        ("quint2x4", nil),
    ]

    /// The global named `module.name`, or nil when it is not allowed.
    public static func lookup(module: String, name: String) -> TorchGlobal? {
        allowed[module + "." + name]
    }

    /// The storage class torch.save names for a dtype (f8 types have none: they use
    /// `UntypedStorage` and `_rebuild_tensor_v3`).
    static func storageClassName(for dtype: DType) -> String? {
        typedStorages.first { $0.1 == dtype }?.0
    }

    /// The torch dtype name for a dtype.
    static func dtypeName(for dtype: DType) -> String {
        dtypes.first { $0.1 == dtype }?.0 ?? dtype.rawValue
    }
}
