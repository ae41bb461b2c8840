import QuantaFormats

/// llama.cpp's `enum llama_ftype` (include/llama.h of the llama.cpp vendored in llama-cpp-python
/// 0.3.36): the value written as `general.file_type`, and the mix of per-tensor types
/// `llama-quantize` derives from it. The raw values are llama.h's.
public enum LlamaFileType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 7, q5_0 = 8, q5_1 = 9
    case q2_K = 10, q3_K_S = 11, q3_K_M = 12, q3_K_L = 13, q4_K_S = 14, q4_K_M = 15
    case q5_K_S = 16, q5_K_M = 17, q6_K = 18, iq4_nl = 25, iq4_xs = 30, bf16 = 32

    /// The spelling users type (`q4_k_m`), as llama-quantize's QUANT_OPTIONS names them (lowercased).
    public var name: String {
        switch self {
        case .f32: return "f32"
        case .f16: return "f16"
        case .bf16: return "bf16"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q8_0: return "q8_0"
        case .q2_K: return "q2_k"
        case .q3_K_S: return "q3_k_s"
        case .q3_K_M: return "q3_k_m"
        case .q3_K_L: return "q3_k_l"
        case .q4_K_S: return "q4_k_s"
        case .q4_K_M: return "q4_k_m"
        case .q5_K_S: return "q5_k_s"
        case .q5_K_M: return "q5_k_m"
        case .q6_K: return "q6_k"
        case .iq4_nl: return "iq4_nl"
        case .iq4_xs: return "iq4_xs"
        }
    }

    /// Parses a mix name, case-insensitively, with llama-quantize's aliases (q3_k = q3_k_m,
    /// q4_k = q4_k_m, q5_k = q5_k_m).
    public init?(name: String) {
        let lower = name.lowercased()
        let aliases = ["q3_k": "q3_k_m", "q4_k": "q4_k_m", "q5_k": "q5_k_m"]
        let wanted = aliases[lower] ?? lower
        guard let match = Self.allCases.first(where: { $0.name == wanted }) else { return nil }
        self = match
    }

    /// `llama_ftype_get_default_type` (src/llama-quant.cpp): the type of every quantizable tensor
    /// before the mix's per-tensor rules.
    public var defaultType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_K: return .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: return .q3_K
        case .q4_K_S, .q4_K_M: return .q4_K
        case .q5_K_S, .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        case .iq4_nl: return .iq4_nl
        case .iq4_xs: return .iq4_xs
        }
    }

    /// The names `--type` accepts, for help texts and errors.
    public static var names: String { allCases.map(\.name).joined(separator: ", ") }
}
