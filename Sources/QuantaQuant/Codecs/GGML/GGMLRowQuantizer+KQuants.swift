import CQuantaKernels
import QuantaFormats

extension GGMLRowQuantizer {
    /// quantize_kquants.c: the K-quants, and the `_impl` paths of the legacy types.
    static let kQuantKernels: [GGMLType: Kernel] = [:]
}
