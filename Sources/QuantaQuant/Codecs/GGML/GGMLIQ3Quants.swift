/// Dequantizers for the 3-bit grid types IQ3_XXS and IQ3_S, bit-exact with gguf-py 0.19.0
/// (quants.py `IQ3_XXS`, `IQ3_S`). Layouts (llama.cpp ggml-common.h `block_iq3_*`), little-endian,
/// 256 elements; each 4-value grid entry fills 4 elements, each group of 8 shares one sign byte:
///   IQ3_XXS (98 B):  d, qs[64] (grid indices), then per 32 elements a u32 with four 7-bit ksigns
///                    indices at bits 0/7/14/21 and a 4-bit scale at 28.
///                    db = (d · (0.5 + s)) · 0.5
///   IQ3_S   (110 B): d, qs[64] (grid index low 8 bits), qh[8] (bit m % 8 of qh[m / 8] is entry m's
///                    ninth bit), signs[32] (one bit per element), scales[4] (one 4-bit scale per
///                    32 elements, low nibble first).
///                    db = d · (1 + 2s)   (1 + 2s is uint8 arithmetic in gguf-py, exact)
/// Then x = (db · grid) · sign in f32, the sign a multiplication by ±1 as in gguf-py.
enum GGMLIQ3Quants {
    static func dequantizeIQ3_XXS(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq3xxs.withUnsafeBufferPointer { grid in
            GGMLIQGrids.ksignSigns.withUnsafeBufferPointer { signs in
                for b in 0 ..< count {
                    let block = blocks + b * 98
                    let d = GGMLScalarBits.loadHalf(block, 0)
                    for ib in 0 ..< 8 {
                        let aux = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 66 + 4 * ib, as: UInt32.self))
                        let db = d * (0.5 + Float(aux >> 28)) * 0.5
                        for l in 0 ..< 4 {
                            let k = 4 * ib + l
                            let first = 4 * Int(block.load(fromByteOffset: 2 + 2 * k, as: UInt8.self))
                            let second = 4 * Int(block.load(fromByteOffset: 3 + 2 * k, as: UInt8.self))
                            let s = 8 * Int((aux >> UInt32(7 * l)) & 0x7F)
                            group(output + b * 256 + 8 * k, db, grid, first, second, signs, s)
                        }
                    }
                }
            }
        }
    }

    static func dequantizeIQ3_S(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq3s.withUnsafeBufferPointer { grid in
            GGMLIQGrids.byteSigns.withUnsafeBufferPointer { signs in
                for b in 0 ..< count {
                    let block = blocks + b * 110
                    let d = GGMLScalarBits.loadHalf(block, 0)
                    for ib in 0 ..< 8 {
                        let scaleByte = block.load(fromByteOffset: 106 + ib / 2, as: UInt8.self)
                        let scale = (scaleByte >> UInt8(4 * (ib % 2))) & 0x0F
                        let db = d * Float(1 + 2 * scale)
                        let qh = Int(block.load(fromByteOffset: 66 + ib, as: UInt8.self))
                        for l in 0 ..< 4 {
                            let k = 4 * ib + l
                            // Entries 2k and 2k + 1; their ninth bits are bits 2l and 2l + 1 of qh[ib].
                            let first = Int(block.load(fromByteOffset: 2 + 2 * k, as: UInt8.self)) | (qh >> (2 * l) & 1) << 8
                            let second = Int(block.load(fromByteOffset: 3 + 2 * k, as: UInt8.self)) | (qh >> (2 * l + 1) & 1) << 8
                            let s = 8 * Int(block.load(fromByteOffset: 74 + k, as: UInt8.self))
                            group(output + b * 256 + 8 * k, db, grid, 4 * first, 4 * second, signs, s)
                        }
                    }
                }
            }
        }
    }

    /// Eight values: two grid entries of four, (db · grid) · sign.
    @inline(__always)
    private static func group(_ out: UnsafeMutablePointer<Float>, _ db: Float, _ grid: UnsafeBufferPointer<Float>,
                              _ first: Int, _ second: Int, _ signs: UnsafeBufferPointer<Float>, _ s: Int) {
        for j in 0 ..< 4 {
            out[j] = db * grid[first + j] * signs[s + j]
            out[4 + j] = db * grid[second + j] * signs[s + 4 + j]
        }
    }
}
