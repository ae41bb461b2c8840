import Dispatch
import QuantaFormats

/// Decodes `blockCount` consecutive blocks at `blocks` into `blockCount × blockSize` floats.
typealias GGMLDequantizeKernel =
    @Sendable (_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ blockCount: Int) -> Void
/// Encodes `blockCount × blockSize` floats into `blockCount` consecutive blocks.
typealias GGMLQuantizeKernel =
    @Sendable (_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ blockCount: Int) -> Void

/// ggml block codecs, bit-exact with gguf-py 0.19.0 (`gguf.quants.dequantize` / `quantize`).
///
/// Dequantize: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
/// IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0, MXFP4. Quantize: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
/// Large inputs are split across cores by block ranges.
public enum GGMLCodec {
    public static func canDequantize(_ type: GGMLType) -> Bool { dequantizeKernel(type) != nil }

    public static func canQuantize(_ type: GGMLType) -> Bool { quantizeKernel(type) != nil }

    /// Decodes `count` elements of `type` from `source` (exactly `type.byteCount(elements: count)`
    /// bytes) into `destination` (exactly `count` floats).
    public static func dequantize(_ type: GGMLType, from source: UnsafeRawBufferPointer,
                                  into destination: UnsafeMutableBufferPointer<Float>, count: Int) throws {
        guard let kernel = dequantizeKernel(type) else {
            throw GGMLCodecError.unsupported(type: type, operation: "dequantize")
        }
        let bytes = try checkedByteCount(type, count)
        guard source.count == bytes else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: count, buffer: "block (bytes)",
                                                    expected: bytes, actual: source.count)
        }
        guard destination.count == count else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: count, buffer: "f32 (elements)",
                                                    expected: count, actual: destination.count)
        }
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        let inputAddress = UInt(bitPattern: input)
        let outputAddress = UInt(bitPattern: output)
        let blockSize = type.blockSize, blockBytes = type.blockBytes
        forEachBlockRange(blockCount: count / blockSize, blockSize: blockSize) { first, blocks in
            // Addresses travel as integers: the pointers are valid for the whole call and each
            // range writes a disjoint slice of the output.
            guard let from = UnsafeRawPointer(bitPattern: inputAddress),
                  let to = UnsafeMutablePointer<Float>(bitPattern: outputAddress) else { return }
            kernel(from + first * blockBytes, to + first * blockSize, blocks)
        }
    }

    /// Encodes `count` floats from `source` (exactly `count`) into `destination` (exactly
    /// `type.byteCount(elements: count)` bytes), byte-identical to `gguf.quants.quantize`.
    public static func quantize(_ type: GGMLType, from source: UnsafeBufferPointer<Float>,
                                into destination: UnsafeMutableRawBufferPointer, count: Int) throws {
        guard let kernel = quantizeKernel(type) else {
            throw GGMLCodecError.unsupported(type: type, operation: "quantize")
        }
        let bytes = try checkedByteCount(type, count)
        guard source.count == count else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: count, buffer: "f32 (elements)",
                                                    expected: count, actual: source.count)
        }
        guard destination.count == bytes else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: count, buffer: "block (bytes)",
                                                    expected: bytes, actual: destination.count)
        }
        guard count > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        let inputAddress = UInt(bitPattern: input)
        let outputAddress = UInt(bitPattern: output)
        let blockSize = type.blockSize, blockBytes = type.blockBytes
        forEachBlockRange(blockCount: count / blockSize, blockSize: blockSize) { first, blocks in
            guard let from = UnsafePointer<Float>(bitPattern: inputAddress),
                  let to = UnsafeMutableRawPointer(bitPattern: outputAddress) else { return }
            kernel(from + first * blockSize, to + first * blockBytes, blocks)
        }
    }

    /// Convenience: decodes `count` elements into a new array.
    public static func dequantize(_ type: GGMLType, bytes: UnsafeRawBufferPointer, count: Int) throws -> [Float] {
        guard canDequantize(type) else { throw GGMLCodecError.unsupported(type: type, operation: "dequantize") }
        // Validate the source before allocating, so a bogus count cannot ask for a huge array.
        let expected = try checkedByteCount(type, count)
        guard bytes.count == expected else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: count, buffer: "block (bytes)",
                                                    expected: expected, actual: bytes.count)
        }
        return try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            try dequantize(type, from: bytes, into: buffer, count: count)
            initialized = count
        }
    }

    /// Convenience: encodes `values` into a new byte array.
    public static func quantize(_ type: GGMLType, values: UnsafeBufferPointer<Float>) throws -> [UInt8] {
        guard canQuantize(type) else { throw GGMLCodecError.unsupported(type: type, operation: "quantize") }
        let bytes = try checkedByteCount(type, values.count)
        return try [UInt8](unsafeUninitializedCapacity: bytes) { buffer, initialized in
            try quantize(type, from: values, into: UnsafeMutableRawBufferPointer(buffer), count: values.count)
            initialized = bytes
        }
    }

    /// Decodes `blockCount` blocks at `blocks` into `output` on the calling thread, without
    /// checks: for callers that validated the tensor's byte size once (the engine's weight
    /// matrices decode row panels this way). False when the type has no decoder.
    @discardableResult
    public static func decodeBlocksUnchecked(_ type: GGMLType, _ blocks: UnsafeRawPointer,
                                             into output: UnsafeMutablePointer<Float>, blockCount: Int) -> Bool {
        guard let kernel = dequantizeKernel(type) else { return false }
        kernel(blocks, output, blockCount)
        return true
    }

    // MARK: - Dispatch

    static func dequantizeKernel(_ type: GGMLType) -> GGMLDequantizeKernel? {
        switch type {
        case .f32: return GGMLFloatCodecs.dequantizeF32
        case .f16: return GGMLFloatCodecs.dequantizeF16
        case .bf16: return GGMLFloatCodecs.dequantizeBF16
        case .q4_0: return GGMLLegacyQuants.dequantizeQ4_0
        case .q4_1: return GGMLLegacyQuants.dequantizeQ4_1
        case .q5_0: return GGMLLegacyQuants.dequantizeQ5_0
        case .q5_1: return GGMLLegacyQuants.dequantizeQ5_1
        case .q8_0: return GGMLLegacyQuants.dequantizeQ8_0
        case .q2_K: return GGMLKQuants.dequantizeQ2_K
        case .q3_K: return GGMLKQuants.dequantizeQ3_K
        case .q4_K: return GGMLKQuants.dequantizeQ4_K
        case .q5_K: return GGMLKQuants.dequantizeQ5_K
        case .q6_K: return GGMLKQuants.dequantizeQ6_K
        case .iq1_s: return GGMLIQ1Quants.dequantizeIQ1_S
        case .iq1_m: return GGMLIQ1Quants.dequantizeIQ1_M
        case .iq2_xxs: return GGMLIQ2Quants.dequantizeIQ2_XXS
        case .iq2_xs: return GGMLIQ2Quants.dequantizeIQ2_XS
        case .iq2_s: return GGMLIQ2Quants.dequantizeIQ2_S
        case .iq3_xxs: return GGMLIQ3Quants.dequantizeIQ3_XXS
        case .iq3_s: return GGMLIQ3Quants.dequantizeIQ3_S
        case .iq4_nl: return GGMLIQuants.dequantizeIQ4_NL
        case .iq4_xs: return GGMLIQuants.dequantizeIQ4_XS
        case .tq1_0: return GGMLTernaryQuants.dequantizeTQ1_0
        case .tq2_0: return GGMLTernaryQuants.dequantizeTQ2_0
        case .mxfp4: return GGMLMXFP4.dequantize
        default: return nil
        }
    }

    static func quantizeKernel(_ type: GGMLType) -> GGMLQuantizeKernel? {
        switch type {
        case .f32: return GGMLFloatCodecs.quantizeF32
        case .f16: return GGMLFloatCodecs.quantizeF16
        case .bf16: return GGMLFloatCodecs.quantizeBF16
        case .q4_0: return GGMLLegacyQuantizers.quantizeQ4_0
        case .q4_1: return GGMLLegacyQuantizers.quantizeQ4_1
        case .q5_0: return GGMLLegacyQuantizers.quantizeQ5_0
        case .q5_1: return GGMLLegacyQuantizers.quantizeQ5_1
        case .q8_0: return GGMLLegacyQuantizers.quantizeQ8_0
        default: return nil
        }
    }

    // MARK: - Validation and work splitting

    private static func checkedByteCount(_ type: GGMLType, _ count: Int) throws -> Int {
        guard count >= 0, count % type.blockSize == 0 else {
            throw GGMLCodecError.countNotBlockMultiple(type: type, count: count, blockSize: type.blockSize)
        }
        guard let bytes = type.byteCount(elements: count) else {
            throw GGMLCodecError.sizeOverflow(type: type, count: count)
        }
        return bytes
    }

    /// About this many elements per task: large enough to amortize dispatch, small enough to
    /// balance two to a few dozen cores.
    private static let elementsPerTask = 1 << 16

    /// Calls `body(firstBlock, blockCount)` over disjoint ranges covering `0 ..< blockCount`,
    /// concurrently when there is enough work.
    private static func forEachBlockRange(blockCount: Int, blockSize: Int,
                                          _ body: @Sendable (Int, Int) -> Void) {
        let blocksPerTask = max(1, elementsPerTask / blockSize)
        let tasks = (blockCount + blocksPerTask - 1) / blocksPerTask
        if tasks <= 1 {
            body(0, blockCount)
            return
        }
        DispatchQueue.concurrentPerform(iterations: tasks) { task in
            let first = task * blocksPerTask
            body(first, min(blocksPerTask, blockCount - first))
        }
    }
}
