/// Dequantizers for the 1-bit ternary-grid types IQ1_S and IQ1_M, bit-exact with gguf-py 0.19.0
/// (quants.py `IQ1_S`, `IQ1_M`). Layouts (llama.cpp ggml-common.h `block_iq1_s`, `block_iq1_m`),
/// little-endian, 256 elements in 32 groups of 8, each group one iq1s_grid entry (values −1, 0, 1)
/// with an 11-bit index and a shift of ±0.125 (IQ1S_DELTA = IQ1M_DELTA = 0.125):
///   IQ1_S (50 B): d, qs[32] (index low 8 bits), qh u16[8], one per 32 elements: index high 3 bits
///                 of its four groups at bits 0/3/6/9, a 3-bit scale s at 12, the shift's sign at 15.
///                 dl = d · (2s + 1)
///   IQ1_M (56 B): qs[32], qh[16] (per nibble, one per group: index high 3 bits, shift sign at 3),
///                 scales u16[4]: four 3-bit scales per u16 at bits 0/3/6/9 (one per 16 elements)
///                 and, in the top nibbles, the f16 d: bits 12–15 of scales[0] are d's bits 0–3,
///                 scales[1]'s its 4–7, and so on. dl = d · (2s + 1)
/// 2s + 1 is uint16 arithmetic in gguf-py (exact); then x = dl · (grid + delta) in f32.
enum GGMLIQ1Quants {
    static let delta: Float = 0.125

    static func dequantizeIQ1_S(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq1s.withUnsafeBufferPointer { grid in
            for b in 0 ..< count {
                let block = blocks + b * 50
                let d = GGMLScalarBits.loadHalf(block, 0)
                for ib in 0 ..< 8 {
                    let qh = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 34 + 2 * ib, as: UInt16.self))
                    let dl = d * Float(2 * ((qh >> 12) & 7) + 1)
                    let shift = qh & 0x8000 == 0 ? delta : -delta
                    for l in 0 ..< 4 {
                        let k = 4 * ib + l
                        let index = Int(block.load(fromByteOffset: 2 + k, as: UInt8.self)) | Int((qh >> UInt16(3 * l)) & 7) << 8
                        group(output + b * 256 + 8 * k, dl, grid, 8 * index, shift)
                    }
                }
            }
        }
    }

    static func dequantizeIQ1_M(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq1s.withUnsafeBufferPointer { grid in
            for b in 0 ..< count {
                let block = blocks + b * 56
                func scales(_ w: Int) -> UInt16 {
                    UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 48 + 2 * w, as: UInt16.self))
                }
                let bits = scales(0) >> 12 | (scales(1) & 0xF000) >> 8 | (scales(2) & 0xF000) >> 4 | scales(3) & 0xF000
                let d = GGMLScalarBits.halfToFloat(bits)
                for j in 0 ..< 16 {
                    // Scale j covers the 16 elements of groups 2j and 2j + 1.
                    let s = (scales(j / 4) >> UInt16(3 * (j % 4))) & 7
                    let dl = d * Float(2 * s + 1)
                    for k in (2 * j) ..< (2 * j + 2) {
                        let qh = block.load(fromByteOffset: 32 + k / 2, as: UInt8.self) >> UInt8(4 * (k % 2))
                        let index = Int(block.load(fromByteOffset: k, as: UInt8.self)) | Int(qh & 7) << 8
                        group(output + b * 256 + 8 * k, dl, grid, 8 * index, qh & 8 == 0 ? delta : -delta)
                    }
                }
            }
        }
    }

    /// Eight values dl · (grid[g + j] + shift).
    @inline(__always)
    private static func group(_ out: UnsafeMutablePointer<Float>, _ dl: Float, _ grid: UnsafeBufferPointer<Float>, _ g: Int,
                              _ shift: Float) {
        for j in 0 ..< 8 { out[j] = dl * (grid[g + j] + shift) }
    }
}
