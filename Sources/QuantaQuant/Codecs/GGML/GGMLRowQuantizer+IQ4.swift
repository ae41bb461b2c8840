import CQuantaKernels
import QuantaFormats

extension GGMLRowQuantizer {
    /// quantize_iq4.c: IQ4_NL and IQ4_XS.
    static let iq4Kernels: [GGMLType: Kernel] = [:]
}
