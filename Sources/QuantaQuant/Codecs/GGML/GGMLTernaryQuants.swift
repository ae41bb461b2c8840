/// Dequantizers for the ternary types TQ1_0 and TQ2_0, bit-exact with gguf-py 0.19.0 (quants.py
/// `TQ1_0`, `TQ2_0`). Layouts (llama.cpp ggml-common.h), little-endian, 256 elements, x = d · (t − 1):
///   TQ1_0 (54 B): qs[48], qh[4], d. Five trits per byte in base 3, read by multiplying the byte
///                 by 3^k (mod 256) and taking the top of ×3: t = (byte·3^k mod 256)·3 >> 8.
///                 Elements 0–159: qs[0..<32] for k = 0…4; 160–239: qs[32..<48] for k = 0…4;
///                 240–255: qh[0..<4] for k = 0…3.
///   TQ2_0 (66 B): qs[64], d. Element half·128 + shift·32 + l is bits 2·shift of qs[half·32 + l].
enum GGMLTernaryQuants {
    static func dequantizeTQ1_0(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 54
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 52)
            unpackTrits(block, bytes: 32, digits: 5, d: d, into: out)
            unpackTrits(block + 32, bytes: 16, digits: 5, d: d, into: out + 160)
            unpackTrits(block + 48, bytes: 4, digits: 4, d: d, into: out + 240)
        }
    }

    static func dequantizeTQ2_0(_ blocks: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
        for b in 0 ..< count {
            let block = blocks + b * 66
            let out = output + b * 256
            let d = GGMLScalarBits.loadHalf(block, 64)
            for half in 0 ..< 2 {
                for shift in 0 ..< 4 {
                    for l in 0 ..< 32 {
                        let byte = block.load(fromByteOffset: half * 32 + l, as: UInt8.self)
                        let q = Int32((byte >> UInt8(2 * shift)) & 3) - 1
                        out[half * 128 + shift * 32 + l] = d * Float(q)
                    }
                }
            }
        }
    }

    /// Digit k of `bytes` bytes goes to `out[k · bytes + l]`.
    @inline(__always)
    private static func unpackTrits(_ qs: UnsafeRawPointer, bytes: Int, digits: Int, d: Float,
                                    into out: UnsafeMutablePointer<Float>) {
        var power: UInt8 = 1
        for k in 0 ..< digits {
            for l in 0 ..< bytes {
                out[k * bytes + l] = d * trit(qs.load(fromByteOffset: l, as: UInt8.self) &* power)
            }
            power &*= 3
        }
    }

    /// The leading base-3 digit of a scaled byte, minus one: `((x · 3) >> 8) − 1`, as int8.
    @inline(__always)
    private static func trit(_ x: UInt8) -> Float {
        Float(Int32((UInt16(x) * 3) >> 8) - 1)
    }
}
