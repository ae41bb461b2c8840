/// Buffers a runner's matrix products reuse from window to window: the converted activations and
/// one f32 tile (plus int8 panel) per worker. Grown on demand, never shrunk; one per runner (a
/// runner runs one window at a time).
public final class ProductScratch: @unchecked Sendable {
    /// Activations as the weight's dot product sees them (rounded / fake-quantized), [t × k].
    private var activationBuffer = FloatBuffer(count: 0)
    /// int8 activations and their per-block scales and sums (int8 GEMM path).
    private(set) var quantizedActivations = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 64)
    private(set) var activationScales = FloatBuffer(count: 0)
    private(set) var activationSums = UnsafeMutableBufferPointer<Int32>.allocate(capacity: 1)
    /// Activations rounded to bf16 (BF16 GEMM path), [t × k].
    private var bf16Buffer = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: 1)
    /// Per worker: an f32 tile (decoded weight rows) or the int8 unpack + pack buffers.
    private(set) var tiles: [UnsafeMutableRawBufferPointer] = []

    public init() {}

    deinit {
        quantizedActivations.deallocate()
        activationSums.deallocate()
        bf16Buffer.deallocate()
        for tile in tiles { tile.deallocate() }
    }

    func activations(count: Int) -> UnsafeMutablePointer<Float> {
        if activationBuffer.count < count { activationBuffer = FloatBuffer(count: count) }
        return activationBuffer.pointer
    }

    func bf16Activations(count: Int) -> UnsafeMutablePointer<UInt16> {
        if bf16Buffer.count < count {
            bf16Buffer.deallocate()
            bf16Buffer = .allocate(capacity: count)
        }
        return bf16Buffer.baseAddress!
    }

    func quantized(count: Int, blocks: Int) -> (q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, sum: UnsafeMutablePointer<Int32>) {
        if quantizedActivations.count < count {
            quantizedActivations.deallocate()
            quantizedActivations = .allocate(byteCount: count, alignment: 64)
        }
        if activationScales.count < blocks { activationScales = FloatBuffer(count: blocks) }
        if activationSums.count < blocks {
            activationSums.deallocate()
            activationSums = .allocate(capacity: blocks)
        }
        return (quantizedActivations.baseAddress!.assumingMemoryBound(to: Int8.self), activationScales.pointer, activationSums.baseAddress!)
    }

    /// Makes sure every one of `workers` tiles has at least `bytes` bytes (call before going parallel).
    func reserveTiles(workers: Int, bytes: Int) {
        while tiles.count < workers { tiles.append(.allocate(byteCount: 64, alignment: 64)) }
        for i in 0 ..< workers where tiles[i].count < bytes {
            tiles[i].deallocate()
            tiles[i] = .allocate(byteCount: bytes, alignment: 64)
        }
    }

    func tile(_ worker: Int) -> UnsafeMutableRawPointer { tiles[worker].baseAddress! }
}
