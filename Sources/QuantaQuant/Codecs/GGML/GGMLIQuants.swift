/// Dequantizers for the non-linear 4-bit types IQ4_NL and IQ4_XS, bit-exact with gguf-py 0.19.0
/// (quants.py `IQ4_NL`, `IQ4_XS`). Layouts (llama.cpp ggml-common.h), little-endian:
///   IQ4_NL (18 B, 32 elements):   d, qs[16]                               x = d · k[q]
///   IQ4_XS (136 B, 256 elements): d, scales_h u16, scales_l[4], qs[128]   x = (d · (s − 32)) · k[q]
/// with k = `GGMLTables.iq4nl`; nibble order as Q4_0 (low nibbles first) within each 32 elements.
enum GGMLIQuants {
    static func dequantizeIQ4_NL(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        let table = GGMLTables.iq4nl
        for b in 0 ..< count {
            let block = blocks + b * 18
            let out = output + b * 32
            let d = GGMLScalarBits.loadHalf(block, 0)
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                out[j] = d * table[Int(byte & 0x0F)]
                out[j + 16] = d * table[Int(byte >> 4)]
            }
        }
    }

    static func dequantizeIQ4_XS(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        let table = GGMLTables.iq4nl
        for b in 0 ..< count {
            let block = blocks + b * 136
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 0)
            let scalesHigh = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
            for sub in 0 ..< 8 {
                // 6-bit scale: low nibble from scales_l[sub / 2] (low half for even sub), high 2 bits
                // from scales_h at bit 2·sub; stored with an offset of 32.
                let lowByte = block.load(fromByteOffset: 4 + sub / 2, as: UInt8.self)
                let low = (lowByte >> UInt8(4 * (sub % 2))) & 0x0F
                let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * sub)) & 0x03
                let dl = d * Float(Int32(low | high << 4) - 32)
                let qs = block + 8 + sub * 16
                let o = out + sub * 32
                for j in 0 ..< 16 {
                    let byte = qs.load(fromByteOffset: j, as: UInt8.self)
                    o[j] = dl * table[Int(byte & 0x0F)]
                    o[j + 16] = dl * table[Int(byte >> 4)]
                }
            }
        }
    }
}
