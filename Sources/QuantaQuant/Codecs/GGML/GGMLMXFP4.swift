/// Dequantizer for MXFP4, bit-exact with gguf-py 0.19.0 (quants.py `MXFP4`). Layout
/// (llama.cpp ggml-common.h `block_mxfp4`): e (E8M0 byte), qs[16]; 32 elements,
/// x = half(2^(e−127)) · k[q] with k = `GGMLTables.mxfp4` (doubled E2M1 values), low nibbles first.
enum GGMLMXFP4 {
    static func dequantize(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        let table = GGMLTables.mxfp4
        for b in 0 ..< count {
            let block = blocks + b * 17
            let out = output + b * 32
            let d = GGMLScalarBits.e8m0ToFloatHalf(block.load(as: UInt8.self))
            for j in 0 ..< 16 {
                let byte = block.load(fromByteOffset: 1 + j, as: UInt8.self)
                out[j] = d * table[Int(byte & 0x0F)]
                out[j + 16] = d * table[Int(byte >> 4)]
            }
        }
    }
}
