/// Dequantizers for the 256-element K-quant super-blocks Q2_K … Q6_K, bit-exact with gguf-py
/// 0.19.0 (quants.py `Q2_K.dequantize_blocks` …). Layouts follow llama.cpp ggml-common.h
/// (`block_q2_K` …, QK_K = 256), little-endian:
///   Q2_K (84 B):  scales[16] (lo nibble scale, hi nibble min), qs[64] (2-bit), d, dmin
///   Q3_K (110 B): hmask[32], qs[64] (2-bit), scales[12] (6-bit, packed), d
///   Q4_K (144 B): d, dmin, scales[12] (6-bit scales and mins, packed), qs[128] (4-bit)
///   Q5_K (176 B): d, dmin, scales[12], qh[32], qs[128]
///   Q6_K (210 B): ql[128], qh[64], scales[16] (int8), d
/// Sub-block factors are rounded to f32 first (`dl = d · scale`, `ml = dmin · min`), then
/// `dl · q − ml`, exactly as numpy evaluates the expressions.
enum GGMLKQuants {
    static func dequantizeQ2_K(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 84
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 80)
            let dmin = GGMLScalarBits.loadHalf(block, 82)
            // Element e = half·128 + shift·32 + l reads bits 2·shift of qs[half·32 + l];
            // sub-block e / 16 has its own scale and min.
            for half in 0 ..< 2 {
                for shift in 0 ..< 4 {
                    for group in 0 ..< 2 {
                        let e0 = half * 128 + shift * 32 + group * 16
                        let scaleByte = block.load(fromByteOffset: e0 / 16, as: UInt8.self)
                        let dl = d * Float(scaleByte & 0x0F)
                        let ml = dmin * Float(scaleByte >> 4)
                        for l in 0 ..< 16 {
                            let byte = block.load(fromByteOffset: 16 + half * 32 + group * 16 + l, as: UInt8.self)
                            let q = (byte >> UInt8(2 * shift)) & 3
                            out[e0 + l] = dl * Float(q) - ml
                        }
                    }
                }
            }
        }
    }

    static func dequantizeQ3_K(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 110
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 108)
            // Element e = half·128 + k·32 + i: 2 bits at 2k of qs[half·32 + i], plus hmask bit
            // (half·4 + k) of hmask[i] (clear means −4); sub-block e / 16.
            for half in 0 ..< 2 {
                for sixteen in 0 ..< 2 {
                    let g = half * 8 + sixteen
                    let s0 = d * Float(q3Scale(block, g)), s1 = d * Float(q3Scale(block, g + 2))
                    let s2 = d * Float(q3Scale(block, g + 4)), s3 = d * Float(q3Scale(block, g + 6))
                    let o = out + half * 128 + sixteen * 16
                    let qs = block + 32 + half * 32 + sixteen * 16
                    let hmask = block + sixteen * 16
                    let hshift = UInt8(half * 4)
                    for i in 0 ..< 16 {
                        let q = qs.load(fromByteOffset: i, as: UInt8.self)
                        let h = hmask.load(fromByteOffset: i, as: UInt8.self) >> hshift
                        o[i] = s0 * Float(Int32(q & 3) - (h & 1 == 0 ? 4 : 0))
                        o[i + 32] = s1 * Float(Int32((q >> 2) & 3) - (h & 2 == 0 ? 4 : 0))
                        o[i + 64] = s2 * Float(Int32((q >> 4) & 3) - (h & 4 == 0 ? 4 : 0))
                        o[i + 96] = s3 * Float(Int32(q >> 6) - (h & 8 == 0 ? 4 : 0))
                    }
                }
            }
        }
    }

    /// Signed 6-bit scale of Q3_K sub-block `group` (0–15): low 4 bits from byte (group mod 8) of
    /// scales[0..<8] (low nibble for groups 0–7, high for 8–15), high 2 bits from
    /// scales[8 + group mod 4] at bit 2·(group / 4); stored with an offset of 32.
    @inline(__always)
    private static func q3Scale(_ block: UnsafeRawPointer, _ group: Int) -> Int32 {
        let low = (block.load(fromByteOffset: 96 + group % 8, as: UInt8.self) >> UInt8(4 * (group / 8))) & 0x0F
        let high = (block.load(fromByteOffset: 104 + group % 4, as: UInt8.self) >> UInt8(2 * (group / 4))) & 0x03
        return Int32(low | high << 4) - 32
    }

    static func dequantizeQ4_K(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 144
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 0)
            let dmin = GGMLScalarBits.loadHalf(block, 2)
            for sub in 0 ..< 8 {
                let (scale, minimum) = scaleMin(block + 4, sub)
                let dl = d * Float(scale)
                let ml = dmin * Float(minimum)
                // Sub-block 2c takes the low nibbles of qs[32c ..< 32c + 32], 2c + 1 the high ones.
                let qs = block + 16 + (sub / 2) * 32
                let shift = UInt8(4 * (sub % 2))
                let o = out + sub * 32
                for l in 0 ..< 32 {
                    let q = (qs.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F
                    o[l] = dl * Float(q) - ml
                }
            }
        }
    }

    static func dequantizeQ5_K(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 176
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 0)
            let dmin = GGMLScalarBits.loadHalf(block, 2)
            for sub in 0 ..< 8 {
                let (scale, minimum) = scaleMin(block + 4, sub)
                let dl = d * Float(scale)
                let ml = dmin * Float(minimum)
                let qs = block + 48 + (sub / 2) * 32
                let shift = UInt8(4 * (sub % 2))
                let o = out + sub * 32
                for l in 0 ..< 32 {
                    let low = (qs.load(fromByteOffset: l, as: UInt8.self) >> shift) & 0x0F
                    let high = (block.load(fromByteOffset: 16 + l, as: UInt8.self) >> UInt8(sub)) & 1
                    o[l] = dl * Float(low | high << 4) - ml
                }
            }
        }
    }

    static func dequantizeQ6_K(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 210
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 208)
            // Element e = half·128 + k·32 + i: low 4 bits from ql[half·64 + (k mod 2)·32 + i]
            // (low nibble for k < 2), high 2 bits at 2k of qh[half·32 + i]; sub-block e / 16.
            for half in 0 ..< 2 {
                for sixteen in 0 ..< 2 {
                    let g = 192 + half * 8 + sixteen
                    let s0 = d * Float(block.load(fromByteOffset: g, as: Int8.self))
                    let s1 = d * Float(block.load(fromByteOffset: g + 2, as: Int8.self))
                    let s2 = d * Float(block.load(fromByteOffset: g + 4, as: Int8.self))
                    let s3 = d * Float(block.load(fromByteOffset: g + 6, as: Int8.self))
                    let o = out + half * 128 + sixteen * 16
                    let ql = block + half * 64 + sixteen * 16
                    let qh = block + 128 + half * 32 + sixteen * 16
                    for i in 0 ..< 16 {
                        let a = ql.load(fromByteOffset: i, as: UInt8.self)
                        let c = ql.load(fromByteOffset: i + 32, as: UInt8.self)
                        let h = qh.load(fromByteOffset: i, as: UInt8.self)
                        o[i] = s0 * Float(Int32((a & 0x0F) | (h & 0x03) << 4) - 32)
                        o[i + 32] = s1 * Float(Int32((c & 0x0F) | (h & 0x0C) << 2) - 32)
                        o[i + 64] = s2 * Float(Int32((a >> 4) | (h & 0x30)) - 32)
                        o[i + 96] = s3 * Float(Int32((c >> 4) | (h & 0xC0) >> 2) - 32)
                    }
                }
            }
        }
    }

    /// 6-bit scale and min of sub-block `j` from the 12 packed bytes shared by Q4_K and Q5_K
    /// (llama.cpp `get_scale_min_k4`, gguf-py `Q4_K.get_scale_min`).
    @inline(__always)
    static func scaleMin(_ packed: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (packed.load(fromByteOffset: j, as: UInt8.self) & 0x3F,
                    packed.load(fromByteOffset: j + 4, as: UInt8.self) & 0x3F)
        }
        let mixed = packed.load(fromByteOffset: j + 4, as: UInt8.self)
        let scaleHigh = packed.load(fromByteOffset: j - 4, as: UInt8.self) >> 2 & 0x30
        let minHigh = packed.load(fromByteOffset: j, as: UInt8.self) >> 2 & 0x30
        return ((mixed & 0x0F) | scaleHigh, (mixed >> 4) | minHigh)
    }
}
