/// Dequantizers for the 32-element legacy blocks Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
///
/// Layouts (llama.cpp ggml-common.h `block_q4_0` …, gguf-py quants.py `np.hsplit`), all
/// little-endian, f16 scales first:
///   Q4_0 (18 B): d, qs[16]            x = d·(q − 8)
///   Q4_1 (20 B): d, m, qs[16]         x = d·q + m
///   Q5_0 (22 B): d, qh u32, qs[16]    x = d·(q − 16)
///   Q5_1 (24 B): d, m, qh u32, qs[16] x = d·q + m
///   Q8_0 (34 B): d, qs[32] int8       x = q·d
/// Element j < 16 takes the low nibble of qs[j], element j + 16 the high nibble; Q5 adds bit j of
/// qh as bit 4. The arithmetic is f32 with one rounding per numpy operation, in numpy's order:
/// `d * q` then `+ m` (never fused).
enum GGMLLegacyQuants {
    static func dequantizeQ4_0(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 18
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                out[j] = d * Float(Int32(byte & 0x0F) - 8)
                out[j + 16] = d * Float(Int32(byte >> 4) - 8)
            }
        }
    }

    static func dequantizeQ4_1(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 20
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            let m = GGMLScalarBits.loadHalf(block, 2)
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                out[j] = d * Float(byte & 0x0F) + m
                out[j + 16] = d * Float(byte >> 4) + m
            }
        }
    }

    static func dequantizeQ5_0(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 22
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 6 + j, as: UInt8.self)
                let low = Int32(byte & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                let high = Int32(byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                out[j] = d * Float(low - 16)
                out[j + 16] = d * Float(high - 16)
            }
        }
    }

    static func dequantizeQ5_1(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 24
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            let m = GGMLScalarBits.loadHalf(block, 2)
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                let low = UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                out[j] = d * Float(low) + m
                out[j + 16] = d * Float(high) + m
            }
        }
    }

    static func dequantizeQ8_0(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 34
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            for j in 0 ..< 32 {
                out[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d
            }
        }
    }
}
