import QuantaCore

/// How the engine multiplies activations by a stored weight.
public enum Numerics: String, Sendable, CaseIterable {
    /// llama.cpp's CPU backend: activations are converted to the weight type's `vec_dot_type`
    /// (f16, bf16, Q8_0, Q8_1 or Q8_K blocks) before the product, so a GGUF file scores what
    /// llama-perplexity scores for it. The default for GGUF models.
    case ggml
    /// f32 activations against the weights dequantized to f32 (what transformers computes on the
    /// dequantized checkpoint). The default for every other format.
    case exact
}

/// What activations become before they meet a weight under `.ggml` numerics: ggml's
/// `type_traits_cpu[type].vec_dot_type` (ggml-cpu.c).
public enum ActivationFormat: Sendable, Equatable {
    case f32, f16, bf16
    /// Blocks of 32 with an f16 scale (Q4_0, Q5_0, Q8_0, IQ4_NL).
    case q8_0
    /// Blocks of 32 with an f16 scale and sum (Q4_1, Q5_1).
    case q8_1
    /// Blocks of 256 with an f32 scale (K-quants, IQ4_XS).
    case q8_K
}

/// The int8 form of a stored weight for the blocked int8 GEMM: values `q` with a float scale
/// (and optional min) per block of `blockSize` inputs, so weight = scale·q + min.
public struct Int8Form: Sendable {
    public let blockSize: Int
    public let hasMin: Bool
}

/// BF16 rows as stored (for the vdpbf16ps GEMM): row R of the matrix (Hugging Face order) is stored
/// row `storedRow?[R] ?? R`, `columns` little-endian bf16 values each, rows back to back from `base`.
public struct BF16Rows: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let storedRow: [Int32]?
}

/// A weight matrix [rows = outputs × columns = inputs] in whatever form it is stored — the bytes
/// stay where the reader found them (usually the memory map). One implementation per storage
/// family; `MatrixProduct` multiplies any of them, decoding row panels into cache-sized f32 tiles
/// for sgemm, or through the int8 GEMM where the storage offers an int8 form.
public protocol WeightMatrix: AnyObject, Sendable {
    var rows: Int { get }
    var columns: Int { get }
    /// Short name of the storage ("F32", "Q4_K", "GPTQ 4-bit", …) for reports.
    var storageName: String { get }
    /// Bytes the stored form occupies.
    var storedBytes: Int { get }
    /// The activation format of `.ggml` numerics (ggml's vec_dot_type; f32 for non-GGML storage).
    var activationFormat: ActivationFormat { get }
    /// Decodes rows `start ..< start + count` (Hugging Face order) into `output`, `count × columns`
    /// floats, row-major. Called concurrently on disjoint ranges.
    func decodeRows(_ start: Int, _ count: Int, into output: UnsafeMutablePointer<Float>)
    /// The rows as contiguous f32 when the storage already is that (no decode needed).
    var denseFloats: UnsafePointer<Float>? { get }
    /// The int8 form, when the storage has one (GGML block types).
    var int8Form: Int8Form? { get }
    /// The rows as stored bf16, when that is the storage (BF16 GGUF or safetensors tensors).
    var bf16Rows: BF16Rows? { get }
    /// Writes rows `start ..< start + count` in the int8 form: q [count × columns], scale and min
    /// [count × columns / blockSize]. Only called when `int8Form` is non-nil.
    func unpackInt8Rows(_ start: Int, _ count: Int, q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
                        min: UnsafeMutablePointer<Float>)
    /// Drops the stored bytes' pages from the resident set (mapped storage only).
    func releasePages()
    /// Announces a sequential read of the stored bytes (mapped storage only).
    func adviseSequential()
}

extension WeightMatrix {
    public var denseFloats: UnsafePointer<Float>? { nil }
    public var int8Form: Int8Form? { nil }
    public var bf16Rows: BF16Rows? { nil }
    public func unpackInt8Rows(_ start: Int, _ count: Int, q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
                               min: UnsafeMutablePointer<Float>) {}
    public var activationFormat: ActivationFormat { .f32 }
    public func releasePages() {}
    public func adviseSequential() {}

    /// Every row decoded to f32 into `output` (rows × columns), split across cores.
    public func decodeAll(into output: UnsafeMutablePointer<Float>) {
        let address = UInt(bitPattern: output), columns = self.columns
        Parallel.forRanges(rows, minimumPerTask: 16) { range in
            guard let out = UnsafeMutablePointer<Float>(bitPattern: address) else { return }
            decodeRows(range.lowerBound, range.count, into: out + range.lowerBound * columns)
        }
    }

    /// Every row decoded to f32 in a new buffer (tests, small tensors).
    public func decodedFloats() -> FloatBuffer {
        let buffer = FloatBuffer(count: rows * columns)
        decodeAll(into: buffer.pointer)
        return buffer
    }
}
