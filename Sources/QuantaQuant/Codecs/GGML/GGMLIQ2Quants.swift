/// Dequantizers for the 2-bit grid types IQ2_XXS, IQ2_XS and IQ2_S, bit-exact with gguf-py 0.19.0
/// (quants.py `IQ2_XXS`, `IQ2_XS`, `IQ2_S`). Layouts (llama.cpp ggml-common.h `block_iq2_*`),
/// little-endian, 256 elements in 32 groups of 8; each group is one 8-value grid entry times ±1 signs:
///   IQ2_XXS (66 B): d, then per 32 elements two u32: four grid indices (bytes of the first) and, in
///                   the second, four 7-bit ksigns indices at bits 0/7/14/21 and a 4-bit scale at 28.
///   IQ2_XS  (74 B): d, qs u16[32] (9-bit grid index, 7-bit ksigns index above it), scales[8] (one
///                   4-bit scale per 16 elements, low nibble first).
///   IQ2_S   (82 B): d, qs[32] (grid index low 8 bits), signs[32] (one bit per element), qh[8] (2 high
///                   index bits per group), scales[8] as IQ2_XS.
/// gguf-py computes in f32, in this order: db = (d · (0.5 + s)) · 0.25, x = (db · grid) · sign, the
/// sign a multiplication by ±1 (not a negation: the same for numbers, and for NaN as x86 multiplies).
enum GGMLIQ2Quants {
    static func dequantizeIQ2_XXS(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq2xxs.withUnsafeBufferPointer { grid in
            GGMLIQGrids.ksignSigns.withUnsafeBufferPointer { signs in
                for b in 0 ..< count {
                    let block = blocks + b * 66
                    let d = GGMLScalarBits.loadHalf(block, 0)
                    for ib in 0 ..< 8 {
                        let q = block + 2 + 8 * ib
                        let aux = UInt32(littleEndian: q.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                        let db = d * (0.5 + Float(aux >> 28)) * 0.25
                        for l in 0 ..< 4 {
                            let g = 8 * Int(q.load(fromByteOffset: l, as: UInt8.self))
                            let s = 8 * Int((aux >> UInt32(7 * l)) & 0x7F)
                            group(output + b * 256 + 32 * ib + 8 * l, db, grid, g, signs, s)
                        }
                    }
                }
            }
        }
    }

    static func dequantizeIQ2_XS(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq2xs.withUnsafeBufferPointer { grid in
            GGMLIQGrids.ksignSigns.withUnsafeBufferPointer { signs in
                for b in 0 ..< count {
                    let block = blocks + b * 74
                    let d = GGMLScalarBits.loadHalf(block, 0)
                    for ib in 0 ..< 8 {
                        let (low, high) = halfScales(d, block.load(fromByteOffset: 66 + ib, as: UInt8.self))
                        for l in 0 ..< 4 {
                            let k = 4 * ib + l
                            let q = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2 + 2 * k, as: UInt16.self))
                            group(output + b * 256 + 8 * k, l < 2 ? low : high, grid, 8 * Int(q & 0x1FF), signs, 8 * Int(q >> 9))
                        }
                    }
                }
            }
        }
    }

    static func dequantizeIQ2_S(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        GGMLIQGrids.iq2s.withUnsafeBufferPointer { grid in
            GGMLIQGrids.byteSigns.withUnsafeBufferPointer { signs in
                for b in 0 ..< count {
                    let block = blocks + b * 82
                    let d = GGMLScalarBits.loadHalf(block, 0)
                    for ib in 0 ..< 8 {
                        let (low, high) = halfScales(d, block.load(fromByteOffset: 74 + ib, as: UInt8.self))
                        let qh = Int(block.load(fromByteOffset: 66 + ib, as: UInt8.self))
                        for l in 0 ..< 4 {
                            let k = 4 * ib + l
                            let index = Int(block.load(fromByteOffset: 2 + k, as: UInt8.self)) | (qh >> (2 * l) & 3) << 8
                            let s = 8 * Int(block.load(fromByteOffset: 34 + k, as: UInt8.self))
                            group(output + b * 256 + 8 * k, l < 2 ? low : high, grid, 8 * index, signs, s)
                        }
                    }
                }
            }
        }
    }

    /// The two 16-element scales of a scale byte (low nibble first): (d · (0.5 + s)) · 0.25.
    @inline(__always)
    private static func halfScales(_ d: Float, _ byte: UInt8) -> (Float, Float) {
        (d * (0.5 + Float(byte & 0x0F)) * 0.25, d * (0.5 + Float(byte >> 4)) * 0.25)
    }

    /// Eight values (db · grid[g + j]) · sign[s + j].
    @inline(__always)
    private static func group(_ out: UnsafeMutablePointer<Float>, _ db: Float, _ grid: UnsafeBufferPointer<Float>, _ g: Int,
                              _ signs: UnsafeBufferPointer<Float>, _ s: Int) {
        for j in 0 ..< 8 { out[j] = db * grid[g + j] * signs[s + j] }
    }
}
