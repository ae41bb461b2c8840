/// The plain float "block" types (block size 1): F32, F16, BF16. gguf-py 0.19.0 reads F32 as a
/// view, widens F16 with numpy's half-float code and uses its own bf16 rounding
/// (`gguf.quants.quantize/dequantize`, `BF16` class); `GGMLScalarBits` reproduces each.
enum GGMLFloatCodecs {
    static func dequantizeF32(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        // A byte copy keeps every bit pattern, NaN payloads included (ggml and this code are little-endian only).
        UnsafeMutableRawPointer(output).copyMemory(from: blocks, byteCount: count * 4)
    }

    static func quantizeF32(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        blocks.copyMemory(from: input, byteCount: count * 4)
    }

    static func dequantizeF16(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0 ..< count { output[i] = GGMLScalarBits.loadHalf(blocks, 2 * i) }
    }

    static func quantizeF16(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0 ..< count { GGMLScalarBits.storeHalf(input[i], blocks, 2 * i) }
    }

    static func dequantizeBF16(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0 ..< count {
            let bits = UInt16(littleEndian: blocks.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            output[i] = GGMLScalarBits.bf16ToFloat(bits)
        }
    }

    static func quantizeBF16(_ input: UnsafePointer<Float>, _ blocks: UnsafeMutableRawPointer, _ count: Int) {
        for i in 0 ..< count {
            blocks.storeBytes(of: GGMLScalarBits.floatToBF16(input[i]).littleEndian, toByteOffset: 2 * i,
                              as: UInt16.self)
        }
    }
}
