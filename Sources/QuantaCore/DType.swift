/// The element types a tensor can hold. Names and sizes follow the safetensors format
/// (huggingface/safetensors `Dtype`), which is the richest of the formats we read.
public enum DType: String, Sendable, CaseIterable, Hashable, Codable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f64, .f32, .f16, .bf16, .f8e4m3, .f8e5m2: return true
        default: return false
        }
    }

    /// The safetensors header name (`"F32"`, `"BF16"`, …).
    public var safetensorsName: String { rawValue }

    public init?(safetensorsName: String) { self.init(rawValue: safetensorsName) }

    /// Lower-case CLI spelling: f32, f16, bf16, …
    public var cliName: String { rawValue.lowercased().replacingOccurrences(of: "_", with: "") }

    public init?(cliName: String) {
        let wanted = cliName.lowercased().replacingOccurrences(of: "_", with: "")
        guard let match = DType.allCases.first(where: { $0.cliName == wanted }) else { return nil }
        self = match
    }
}
