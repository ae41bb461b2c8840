import CQuantaKernels
import QuantaFormats
import QuantaQuant

/// Per ggml type, what the engine needs to run a weight stored in it — the counterpart of ggml's
/// `type_traits_cpu` (ggml-cpu.c): how to decode blocks to f32, which activation format the
/// type's dot product reads (`vec_dot_type`), and, where the int8 GEMM can take the type, how to
/// unpack its blocks into int8 values with per-block scales. A new type is one row here.
struct BlockTypeTraits: Sendable {
    typealias Decode = @Sendable (_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ blockCount: Int) -> Void
    typealias Unpack = @Sendable (_ blocks: UnsafeRawPointer, _ rows: Int, _ columns: Int, _ q: UnsafeMutablePointer<Int8>,
                                  _ scale: UnsafeMutablePointer<Float>, _ min: UnsafeMutablePointer<Float>) -> Void

    let activation: ActivationFormat
    let decode: Decode
    let int8: Int8Form?
    let unpack: Unpack?

    /// The Swift codec of `GGMLCodec` (bit-exact with gguf-py), for types without a C decoder.
    static func swiftDecoder(_ type: GGMLType) -> Decode {
        { blocks, output, count in GGMLCodec.decodeBlocksUnchecked(type, blocks, into: output, blockCount: count) }
    }

    /// vec_dot_type of each type, from ggml-cpu.c's `type_traits_cpu` (llama.cpp as vendored in
    /// llama-cpp-python 0.3.36).
    static func activation(_ type: GGMLType) -> ActivationFormat {
        switch type {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .mxfp4: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        default: return .q8_K  // K-quants, IQ types, TQ types
        }
    }

    typealias CDecode = @convention(c) (UnsafeRawPointer?, UnsafeMutablePointer<Float>?, Int) -> Void
    typealias CUnpack = @convention(c) (UnsafeRawPointer?, Int, Int, UnsafeMutablePointer<Int8>?, UnsafeMutablePointer<Float>?,
                                        UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Int32>?) -> Int32

    /// The C tile decoders (weights_decode.c, bit-exact with gguf-py; tested against `GGMLCodec`).
    static let cDecoders: [GGMLType: CDecode] = [
        .f16: quanta_decode_f16, .bf16: quanta_decode_bf16,
        .q4_0: quanta_decode_q4_0, .q4_1: quanta_decode_q4_1, .q5_0: quanta_decode_q5_0, .q5_1: quanta_decode_q5_1,
        .q8_0: quanta_decode_q8_0, .q2_K: quanta_decode_q2_K, .q3_K: quanta_decode_q3_K, .q4_K: quanta_decode_q4_K,
        .q5_K: quanta_decode_q5_K, .q6_K: quanta_decode_q6_K, .iq4_nl: quanta_decode_iq4_nl, .iq4_xs: quanta_decode_iq4_xs,
    ]

    /// The unpackers (weights_unpack.c). Each reports its scale-block size and whether the type has
    /// a min; a call with no rows asks for just that.
    static let cUnpackers: [GGMLType: CUnpack] = [
        .q4_0: quanta_unpack_q4_0, .q4_1: quanta_unpack_q4_1, .q5_0: quanta_unpack_q5_0, .q5_1: quanta_unpack_q5_1,
        .q8_0: quanta_unpack_q8_0, .q2_K: quanta_unpack_q2_K, .q3_K: quanta_unpack_q3_K, .q4_K: quanta_unpack_q4_K,
        .q5_K: quanta_unpack_q5_K, .q6_K: quanta_unpack_q6_K, .iq4_nl: quanta_unpack_iq4_nl, .iq4_xs: quanta_unpack_iq4_xs,
    ]

    static func form(_ unpack: CUnpack) -> Int8Form {
        var hasMin: Int32 = 0
        let blockSize = unpack(nil, 0, 0, nil, nil, nil, &hasMin)
        return Int8Form(blockSize: Int(blockSize), hasMin: hasMin != 0)
    }

    static let table: [GGMLType: BlockTypeTraits] = {
        var table: [GGMLType: BlockTypeTraits] = [:]
        for type in GGMLType.allCases where GGMLCodec.canDequantize(type) {
            var decode = swiftDecoder(type)
            if let c = cDecoders[type] { decode = { blocks, output, count in c(blocks, output, count) } }
            var unpack: Unpack?
            var form: Int8Form?
            if let c = cUnpackers[type] {
                form = Self.form(c)
                unpack = { blocks, rows, columns, q, scale, min in
                    var hasMin: Int32 = 0
                    _ = c(blocks, rows, columns, q, scale, min, &hasMin)
                }
            }
            table[type] = BlockTypeTraits(activation: activation(type), decode: decode, int8: form, unpack: unpack)
        }
        return table
    }()
}
