import CQuantaKernels
import QuantaFormats

extension GGMLRowQuantizer {
    /// quantize_iq4.c: IQ4_NL as ggml's `quantize_iq4_nl` (not its `_ref`: llama-quantize runs the
    /// ntry = 7 search) and IQ4_XS as `quantize_iq4_xs`, with or without importance weights.
    static let iq4Kernels: [GGMLType: Kernel] = [
        .iq4_nl: quanta_quantize_iq4_nl,
        .iq4_xs: quanta_quantize_iq4_xs,
    ]
}
