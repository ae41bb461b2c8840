import CQuantaKernels
import QuantaCore
import Testing

/// The blocked int8 GEMM (CQuantaKernels' quanta_i8_pack / quanta_i8_gemm, whichever ISA path this
/// machine dispatches to) against the formula evaluated in Double with exact integer block sums:
///   c[t][j] (+)= Σ_b scale[j][b]·da[t][b]·Σ_{i∈b} qa[t][i]·q[j][i] + min[j][b]·da[t][b]·sa[t][b].
/// The tolerance is 1e-5 relative to Σ|parts| (the scale and min parts of every block, and the
/// accumulated c), the scale an f32 sum's rounding is relative to.
@Suite("Int8 GEMM kernel")
struct Int8GemmKernelTests {
    struct Shape: Sendable, CustomStringConvertible {
        let n: Int, k: Int, rows: Int
        var description: String { "n \(n) k \(k) rows \(rows)" }
    }

    static let configurations: [(blockSize: Int, hasMin: Bool)] = [(16, false), (16, true), (32, false), (32, true)]
    static let shapes: [Shape] = [
        Shape(n: 1, k: 32, rows: 1),
        Shape(n: 17, k: 64, rows: 3),
        Shape(n: 45, k: 576, rows: 16),
        Shape(n: 100, k: 1536, rows: 7),
        Shape(n: 33, k: 4096, rows: 2),
    ]
    /// Integer ranges of the weight types' unpacked values (4-bit, 4-bit with min, 8-bit, 6-bit, all).
    static let weightRanges: [ClosedRange<Int>] = [-8 ... 7, 0 ... 15, -127 ... 127, -32 ... 31, -128 ... 127]

    @Test("packed int8 GEMM equals the Double reference within 1e-5 relative",
          arguments: configurations, shapes)
    func gemm(configuration: (blockSize: Int, hasMin: Bool), shape: Shape) {
        let bs = configuration.blockSize, hasMin = configuration.hasMin
        let n = shape.n, k = shape.k, rows = shape.rows, nb = k / bs
        var g = SplitMix64(seed: UInt64(bs * 100_003 + k * 101 + n * 7 + rows) &+ (hasMin ? 1 : 0))
        let range = Self.weightRanges[(n + k + rows + bs) % Self.weightRanges.count]

        let q = (0 ..< n * k).map { _ in Int8(g.i8Int(in: range)) }
        let scale = (0 ..< n * nb).map { _ in (g.i8Unit() * 2 - 1) * 0.02 }
        let min = (0 ..< n * nb).map { _ in (g.i8Unit() * 2 - 1) * 0.05 }
        let qa = (0 ..< rows * k).map { _ in Int8(g.i8Int(in: -127 ... 127)) }
        let da = (0 ..< rows * nb).map { _ in 0.001 + g.i8Unit() * 0.1 }
        let sa = (0 ..< rows * nb).map { i -> Int32 in
            let (t, b) = (i / nb, i % nb)
            return (0 ..< bs).reduce(Int32(0)) { $0 + Int32(qa[t * k + b * bs + $1]) }
        }

        let size = quanta_i8_packed_size(n, k, Int32(bs), hasMin ? 1 : 0)
        let packed = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { packed.deallocate() }
        quanta_i8_pack(q, scale, min, n, k, Int32(bs), hasMin ? 1 : 0, packed)

        let ldc = n + 2
        for accumulate in [false, true] {
            let c0 = (0 ..< rows * ldc).map { _ in accumulate ? (g.i8Unit() * 2 - 1) * 4 : Float.nan }
            var c = c0
            // Two calls on panel ranges [0, p) and [p, end) when there are two panels or more.
            let panels = (n + 15) / 16
            let cut = panels >= 2 ? 16 * (panels / 2) : n
            c.withUnsafeMutableBufferPointer { cp in
                for (j0, j1) in [(0, cut), (cut, n)] where j1 > j0 {
                    let offset = quanta_i8_packed_size(j0, k, Int32(bs), hasMin ? 1 : 0)
                    quanta_i8_gemm(UnsafeRawPointer(packed + offset), j1 - j0, k, Int32(bs), hasMin ? 1 : 0,
                                   qa, da, sa, rows, cp.baseAddress! + j0, ldc, accumulate ? 1 : 0)
                }
            }
            var worst = 0.0
            for t in 0 ..< rows {
                for j in 0 ..< n {
                    var reference = accumulate ? Double(c0[t * ldc + j]) : 0
                    var magnitude = abs(reference)
                    for b in 0 ..< nb {
                        var isum = 0
                        for i in b * bs ..< (b + 1) * bs { isum += Int(qa[t * k + i]) * Int(q[j * k + i]) }
                        let d = Double(da[t * nb + b])
                        let main = Double(scale[j * nb + b]) * d * Double(isum)
                        let linear = hasMin ? Double(min[j * nb + b]) * d * Double(sa[t * nb + b]) : 0
                        reference += main + linear
                        magnitude += abs(main) + abs(linear)
                    }
                    let error = abs(Double(c[t * ldc + j]) - reference)
                    worst = Swift.max(worst, error / (magnitude + 1e-30))
                    #expect(error <= 1e-5 * magnitude + 1e-30, "t \(t) j \(j) accumulate \(accumulate)")
                }
                // Columns past n are left alone (NaN or the accumulated values, bit for bit).
                for j in n ..< ldc {
                    #expect(c[t * ldc + j].bitPattern == c0[t * ldc + j].bitPattern, "t \(t) column \(j) written")
                }
            }
            #expect(worst <= 1e-5)
        }
    }
}

private extension SplitMix64 {
    mutating func i8Int(in range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }
    /// A Float in [0, 1).
    mutating func i8Unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
