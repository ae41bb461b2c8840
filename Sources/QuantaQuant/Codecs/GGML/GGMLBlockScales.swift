import QuantaCore
import QuantaFormats

/// The per-block scales of the ggml block types (ggml-common.h `block_*`), read without decoding
/// the block. Every value of these types is a small integer (or grid entry) times a block scale
/// (and minus a block minimum), so a block decodes to finite values exactly when its scale fields
/// are finite: checking them is how a GGUF's blocks are checked for NaN/±Inf while they stream.
public enum GGMLBlockScales {
    /// One scale field of a block: its byte offset and meaning.
    public struct Field: Sendable, Equatable {
        public var offset: Int
        /// "d", "dmin", "m", "s".
        public var name: String
        /// f16 for every type but Q8_K (f32).
        public var isFloat32: Bool = false
    }

    /// The scale fields of `type`; nil for plain types (F32, F16, …: scan them by dtype) and for
    /// types whose scale is not a plain field (IQ1_M packs it in its scales; MXFP4's E8M0
    /// exponent always decodes to a finite power of two).
    public static func fields(_ type: GGMLType) -> [Field]? {
        switch type {
        case .q4_0, .q5_0, .q8_0, .q3_K, .q6_K, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s, .iq1_s, .iq4_nl, .iq4_xs,
             .tq1_0, .tq2_0:
            return [Field(offset: dOffset(type), name: "d")]
        case .q4_1, .q5_1: return [Field(offset: 0, name: "d"), Field(offset: 2, name: "m")]
        case .q8_1: return [Field(offset: 0, name: "d"), Field(offset: 2, name: "s")]
        case .q4_K, .q5_K: return [Field(offset: 0, name: "d"), Field(offset: 2, name: "dmin")]
        case .q2_K: return [Field(offset: 80, name: "d"), Field(offset: 82, name: "dmin")]
        case .q8_K: return [Field(offset: 0, name: "d", isFloat32: true)]
        default: return nil
        }
    }

    /// Where `d` sits in the types that have only `d`: first, except where ggml puts it last.
    static func dOffset(_ type: GGMLType) -> Int {
        switch type {
        case .q3_K: return 108
        case .q6_K: return 208
        case .tq1_0: return 52
        case .tq2_0: return 64
        default: return 0
        }
    }

    /// What a scan of a tensor's block scales found.
    public struct Scan: Sendable, Equatable {
        public var blocks = 0
        /// Blocks with at least one NaN/±Inf scale field.
        public var nonFiniteBlocks = 0
        public var firstBlock: Int?
        /// The field of the first bad block ("d", "dmin", …) and its value.
        public var firstField: String?
        public var firstValue: Float?

        public init() {}
    }

    /// Scans the scale fields of every block in `bytes` (whole blocks of `type`); nil when the
    /// type has no plain scale fields (see `fields`).
    public static func scan(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer) -> Scan? {
        guard let fields = fields(type) else { return nil }
        var result = Scan()
        guard let base = bytes.baseAddress else { return result }
        let blockBytes = type.blockBytes
        result.blocks = bytes.count / blockBytes
        for block in 0 ..< result.blocks {
            for field in fields {
                let at = block * blockBytes + field.offset
                let value: Float = field.isFloat32
                    ? Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                    : GGMLScalarBits.halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
                guard !value.isFinite else { continue }
                result.nonFiniteBlocks += 1
                if result.firstBlock == nil {
                    result.firstBlock = block
                    result.firstField = field.name
                    result.firstValue = value
                }
                break
            }
        }
        return result
    }

    /// NaN/±Inf among the values of a tensor of `type`, for the writers' check of blocks copied as
    /// they are: when every scale is finite, so is every value and nothing is decoded (zeros are then
    /// not counted); otherwise the tensor is decoded for exact counts.
    public static func nonFiniteStats(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer) throws -> ValueStats {
        if let scan = scan(type, bytes), scan.nonFiniteBlocks == 0 {
            var stats = ValueStats()
            stats.count = scan.blocks * type.blockSize
            return stats
        }
        return try GGMLValueScan.scan(type, bytes)
    }
}
