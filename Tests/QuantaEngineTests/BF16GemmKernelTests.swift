import CQuantaKernels
import QuantaCore
import Testing

/// The BF16 GEMM (CQuantaKernels' quanta_bf16_gemm: vdpbf16ps where the CPU has AVX512_BF16, f32
/// otherwise) against the products of the widened bf16 values summed in Double. Every product of
/// two bf16 values is exact in f32, so the only error is the f32 additions': the tolerance is 1e-5
/// relative to Σ|products| + |c₀|.
@Suite("BF16 GEMM kernel")
struct BF16GemmKernelTests {
    struct Shape: Sendable, CustomStringConvertible {
        let n: Int, k: Int, rows: Int
        var description: String { "n \(n) k \(k) rows \(rows)" }
    }

    static let shapes: [Shape] = [
        Shape(n: 1, k: 2, rows: 1),
        Shape(n: 17, k: 64, rows: 7),
        Shape(n: 45, k: 576, rows: 13),
        Shape(n: 100, k: 1536, rows: 6),
        Shape(n: 33, k: 4098, rows: 2),
    ]

    static func bf16(_ g: inout SplitMix64, scale: Float) -> UInt16 {
        let value = (Float(g.next() >> 40) / Float(1 << 24) * 2 - 1) * scale
        return UInt16(truncatingIfNeeded: value.bitPattern >> 16)
    }

    static func widen(_ b: UInt16) -> Double { Double(Float(bitPattern: UInt32(b) << 16)) }

    @Test("bf16 rows × bf16 activations equal the Double sum within 1e-5 relative, with and without a row map, on sub-ranges",
          arguments: shapes, [false, true])
    func gemm(shape: Shape, mapped: Bool) {
        let n = shape.n, k = shape.k, rows = shape.rows
        var g = SplitMix64(seed: UInt64(n * 1_000_003 + k * 31 + rows) &+ (mapped ? 7 : 0))
        let w = (0 ..< n * k).map { _ in Self.bf16(&g, scale: 0.05) }
        let x = (0 ..< rows * k).map { _ in Self.bf16(&g, scale: 2) }
        // Row R of the matrix is stored at map[R] (a reversal with a swap: not monotone).
        var map = (0 ..< n).reversed().map { Int32($0) }
        if n > 3 { map.swapAt(1, 3) }
        let ldc = n + 3
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: quanta_bf16_scratch_bytes(k), alignment: 64)
        defer { scratch.deallocate() }
        for accumulate in [false, true] {
            let c0 = (0 ..< rows * ldc).map { _ in accumulate ? Float(g.next() >> 40) / Float(1 << 24) * 8 - 4 : Float.nan }
            var c = c0
            let cut = n > 16 ? 16 : n  // two calls: rows [0, cut) and [cut, n)
            c.withUnsafeMutableBufferPointer { cp in
                w.withUnsafeBytes { wp in
                    map.withUnsafeBufferPointer { mp in
                        for (j0, j1) in [(0, cut), (cut, n)] where j1 > j0 {
                            quanta_bf16_gemm(wp.baseAddress!, mapped ? mp.baseAddress : nil, j0, j1 - j0, k, x, rows,
                                             cp.baseAddress! + j0, ldc, accumulate ? 1 : 0, scratch)
                        }
                    }
                }
            }
            var worst = 0.0
            for t in 0 ..< rows {
                for j in 0 ..< n {
                    let stored = mapped ? Int(map[j]) : j
                    var sum = accumulate ? Double(c0[t * ldc + j]) : 0, magnitude = abs(sum)
                    for i in 0 ..< k {
                        let p = Self.widen(w[stored * k + i]) * Self.widen(x[t * k + i])
                        sum += p
                        magnitude += abs(p)
                    }
                    worst = max(worst, abs(Double(c[t * ldc + j]) - sum) / max(magnitude, 1e-30))
                }
                // Columns past n are left alone.
                for j in n ..< ldc { #expect(c[t * ldc + j].bitPattern == c0[t * ldc + j].bitPattern) }
            }
            #expect(worst <= 1e-5, "\(shape) accumulate \(accumulate): \(worst)")
        }
    }

    @Test("activations are rounded to bf16 exactly as quanta_round_bf16 (ggml's rounding): ties, NaN, infinities, subnormals")
    func rounding() {
        var g = SplitMix64(seed: 5)
        var values: [Float] = [0, -0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000),
                               Float(bitPattern: 0x7F7F_FFFF), Float(bitPattern: 0x7FC0_0001)]
        values += (0 ..< 2000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) }
        let k = values.count
        var bits = [UInt16](repeating: 0, count: k)
        var rounded = [Float](repeating: 0, count: k)
        quanta_to_bf16(values, 1, k, k, &bits)
        quanta_round_bf16(values, &rounded, k)
        for i in 0 ..< k {
            #expect(UInt32(bits[i]) << 16 == rounded[i].bitPattern, "\(values[i].bitPattern)")
        }
        // Both share one formula (f32_to_bf16_ggml); pin it to ggml_compute_fp32_to_bf16's results on
        // the cases that decide bytes: ties to even, overflow into inf, NaNs quieted with their sign.
        let pinned: [(UInt32, UInt16)] = [
            (0x3F80_8000, 0x3F80), (0x3F81_8000, 0x3F82), (0x3F80_8001, 0x3F81), (0x7F7F_FFFF, 0x7F80),
            (0x7F80_0000, 0x7F80), (0x7F80_0001, 0x7FC0), (0xFF80_0001, 0xFFC0), (0x7FC0_0001, 0x7FC0),
            (0x0000_0001, 0x0000), (0x0000_8000, 0x0000), (0x0001_8000, 0x0002), (0x8000_0000, 0x8000),
        ]
        var out = [UInt16](repeating: 0, count: pinned.count)
        quanta_to_bf16(pinned.map { Float(bitPattern: $0.0) }, 1, pinned.count, pinned.count, &out)
        for (i, (input, expected)) in pinned.enumerated() {
            #expect(out[i] == expected, "0x\(String(input, radix: 16)) → 0x\(String(out[i], radix: 16)), ggml gives 0x\(String(expected, radix: 16))")
        }
    }
}
