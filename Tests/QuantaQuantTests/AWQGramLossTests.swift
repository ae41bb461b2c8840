import QuantaCore
import QuantaQuant
import Testing

/// The Gram form of AWQ's losses must be the output-error form it replaces: Σ‖X·(W + Δ)ᵀ − X·Wᵀ‖²
/// = Σ_r Δ_r (XᵀX) Δ_rᵀ, checked against a direct double-precision sum over tokens.
@Suite("AWQ Gram-matrix losses")
struct AWQGramLossTests {
    static func random(_ count: Int, _ generator: inout SplitMix64, scale: Float = 1) -> [Float] {
        (0 ..< count).map { _ in scale * (Float(Int(generator.next() % 2001) - 1000) / 1000) }
    }

    /// Σ_t Σ_r (x_t · δ_r)², in double.
    static func directLoss(x: [Float], n: Int, delta: [Float], rows: Int, columns: Int) -> Double {
        var total = 0.0
        for t in 0 ..< n {
            for r in 0 ..< rows {
                var dot = 0.0
                for i in 0 ..< columns { dot += Double(x[t * columns + i]) * Double(delta[r * columns + i]) }
                total += dot * dot
            }
        }
        return total
    }

    @Test("Gram matrix equals XᵀX and the quadratic loss equals the summed squared output error",
          arguments: [(n: 7, rows: 3, columns: 5), (n: 96, rows: 40, columns: 48), (n: 300, rows: 17, columns: 130)])
    func gramMatchesOutputError(_ shape: (n: Int, rows: Int, columns: Int)) {
        var generator = SplitMix64(seed: UInt64(shape.n * 31 + shape.columns))
        let x = Self.random(shape.n * shape.columns, &generator)
        let delta = Self.random(shape.rows * shape.columns, &generator, scale: 0.05)
        var gram = [Float](repeating: .nan, count: shape.columns * shape.columns)
        x.withUnsafeBufferPointer { xp in
            gram.withUnsafeMutableBufferPointer { AWQGramLoss.gram(xp.baseAddress!, rows: shape.n, columns: shape.columns, into: $0.baseAddress!) }
        }
        for i in 0 ..< shape.columns {
            for j in 0 ..< shape.columns {
                var expected = 0.0
                for t in 0 ..< shape.n { expected += Double(x[t * shape.columns + i]) * Double(x[t * shape.columns + j]) }
                #expect(abs(Double(gram[i * shape.columns + j]) - expected) <= 1e-4 * max(1, abs(expected)))
            }
        }
        var scratch = [Float](repeating: 0, count: shape.rows * shape.columns)
        let loss = delta.withUnsafeBufferPointer { dp in
            gram.withUnsafeBufferPointer { gp in
                scratch.withUnsafeMutableBufferPointer {
                    AWQGramLoss.quadraticLoss(dp.baseAddress!, rows: shape.rows, columns: shape.columns, gram: gp.baseAddress!, scratch: $0.baseAddress!)
                }
            }
        }
        let expected = Self.directLoss(x: x, n: shape.n, delta: delta, rows: shape.rows, columns: shape.columns)
        #expect(abs(loss - expected) <= 1e-4 * expected)
    }

    @Test("clip search through the Gram matrix picks what the direct output-error search picks")
    func clipSearchMatchesDirect() {
        var generator = SplitMix64(seed: 21)
        let rows = 24, columns = 64, groupSize = 32, n = 128
        var w = Self.random(rows * columns, &generator)
        for r in stride(from: 0, to: rows, by: 5) { w[r * columns + r % columns] = 6 }   // outliers worth clipping
        let x = Self.random(n * columns, &generator)
        let limits = w.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                AWQClipSearch.bestMaxValues(weights: wp.baseAddress!, rows: rows, columns: columns, groupSize: groupSize,
                                            samples: xp.baseAddress!, sampleCount: n)
            }
        }
        // The reference loop (AutoAWQ _compute_best_clip): mean over tokens of (x·q − x·w)², in double.
        let groups = columns / groupSize
        var agree = 0
        for r in 0 ..< rows {
            for g in 0 ..< groups {
                let group = Array(w[(r * columns + g * groupSize) ..< (r * columns + (g + 1) * groupSize)])
                let peak = group.map(abs).max()!
                var best = (error: Double.infinity, limit: peak)
                for step in 0 ..< 10 {
                    let limit = peak * (1 - Float(step) / 20)
                    var q = group.map { min(max($0, -limit), limit) }
                    q.withUnsafeMutableBufferPointer { AWQGroupQuantizer.fakeQuantizeGroup($0.baseAddress!, $0.baseAddress!, count: groupSize) }
                    var error = 0.0
                    for t in 0 ..< n {
                        var dot = 0.0
                        for i in 0 ..< groupSize { dot += Double(x[t * columns + g * groupSize + i]) * Double(q[i] - group[i]) }
                        error += dot * dot
                    }
                    error /= Double(n)
                    if error < best.error { best = (error, limit) }
                }
                if limits[r * groups + g] == best.limit { agree += 1 }
            }
        }
        #expect(agree == rows * groups)
        #expect(limits.enumerated().contains { offset, limit in limit < w[(offset / groups) * columns ..< (offset / groups + 1) * columns].map(abs).max()! })
    }
}
