import CQuantaKernels
import QuantaFormats

extension GGMLRowQuantizer {
    /// quantize_kquants.c: the K-quants (`_ref` without importance, `_impl` with), and the legacy
    /// 32-blocks, whose `_impl` paths need the C searches and whose `_ref` paths ride along so one
    /// kernel serves a type both ways (byte-identical with GGMLCodec's gguf-py-exact quantizers).
    static let kQuantKernels: [GGMLType: Kernel] = [
        .q2_K: quanta_quantize_q2_K,
        .q3_K: quanta_quantize_q3_K,
        .q4_K: quanta_quantize_q4_K,
        .q5_K: quanta_quantize_q5_K,
        .q6_K: quanta_quantize_q6_K,
        .q4_0: quanta_quantize_q4_0,
        .q4_1: quanta_quantize_q4_1,
        .q5_0: quanta_quantize_q5_0,
        .q5_1: quanta_quantize_q5_1,
    ]
}
