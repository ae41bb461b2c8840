import Foundation
import QuantaCore
import Testing
@testable import QuantaQuant

/// A small GPTQ problem: correlated inputs (so the Hessian has off-diagonal structure for the
/// error feedback to use) and random weights.
struct GPTQProblem {
    let rows: Int, columns: Int
    var weights: [Float]
    var hessian: [Double]

    init(rows: Int, columns: Int, samples: Int = 400, seed: UInt64 = 1) {
        var g = SplitMix64(seed: seed)
        self.rows = rows
        self.columns = columns
        weights = (0 ..< rows * columns).map { _ in g.signedUnit() * 0.05 }
        // x = z · M with a random mixing matrix M: correlated columns of different scales.
        let mixing = (0 ..< columns * columns).map { _ in Double(g.signedUnit()) }
        var h = [Double](repeating: 0, count: columns * columns)
        var x = [Double](repeating: 0, count: columns)
        for _ in 0 ..< samples {
            let z = (0 ..< columns).map { _ in Double(g.signedUnit()) }
            for j in 0 ..< columns {
                var s = 0.0
                for k in 0 ..< columns { s += z[k] * mixing[k * columns + j] * (k == j ? 3 : 0.3) }
                x[j] = s * (1 + Double(j % 7))
            }
            for i in 0 ..< columns { for j in 0 ..< columns { h[i * columns + j] += x[i] * x[j] } }
        }
        hessian = h.map { $0 * 2 / Double(samples) }
    }

    /// tr((W − Q)(H + λI)(W − Q)ᵀ): the layer-output error GPTQ minimizes (λ = `damping`, 0 unless
    /// asked: the damped objective the solve and the scale refit work with).
    func proxyLoss(_ q: [Float], damping: Double = 0) -> Double {
        var total = 0.0
        for r in 0 ..< rows {
            let d = (0 ..< columns).map { Double(weights[r * columns + $0] - q[r * columns + $0]) }
            for i in 0 ..< columns {
                var s = damping * d[i]
                for j in 0 ..< columns { s += hessian[i * columns + j] * d[j] }
                total += d[i] * s
            }
        }
        return total
    }
}

/// The straightforward GPTQ of the paper, written for the test in double precision: full
/// inverse by Gauss-Jordan, its Cholesky factor by the textbook loop, every update applied to
/// every later column immediately (no lazy batches, no row tasks).
enum ReferenceGPTQ {
    static func cholesky(_ a: [Double], n: Int) -> [Double]? {   // lower L with A = L·Lᵀ
        var l = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n {
            for j in 0 ... i {
                var s = a[i * n + j]
                for k in 0 ..< j { s -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard s > 0 else { return nil }
                    l[i * n + i] = s.squareRoot()
                } else {
                    l[i * n + j] = s / l[j * n + j]
                }
            }
        }
        return l
    }

    static func inverse(_ a: [Double], n: Int) -> [Double] {
        var m = a, inv = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n { inv[i * n + i] = 1 }
        for c in 0 ..< n {
            let pivot = (c ..< n).max { abs(m[$0 * n + c]) < abs(m[$1 * n + c]) } ?? c
            if pivot != c {
                for k in 0 ..< n { m.swapAt(c * n + k, pivot * n + k); inv.swapAt(c * n + k, pivot * n + k) }
            }
            let p = m[c * n + c]
            for k in 0 ..< n { m[c * n + k] /= p; inv[c * n + k] /= p }
            for r in 0 ..< n where r != c {
                let f = m[r * n + c]
                if f == 0 { continue }
                for k in 0 ..< n { m[r * n + k] -= f * m[c * n + k]; inv[r * n + k] -= f * inv[c * n + k] }
            }
        }
        return inv
    }

    /// Upper U with UᵀU = (H + λI)⁻¹ where λ = damp · mean diagonal (after the dead-column fix).
    static func factor(_ hessian: [Double], n: Int, damp: Double) -> (u: [Double], h: [Double], dead: [Bool]) {
        var h = hessian
        var dead = [Bool](repeating: false, count: n)
        for i in 0 ..< n where h[i * n + i] == 0 { dead[i] = true; h[i * n + i] = 1 }
        let mean = (0 ..< n).reduce(0.0) { $0 + h[$1 * n + $1] } / Double(n)
        var damped = h
        for i in 0 ..< n { damped[i * n + i] += damp * mean }
        let inv = inverse(damped, n: n)
        let l = cholesky(inv, n: n)!
        var u = [Double](repeating: 0, count: n * n)
        for i in 0 ..< n { for j in 0 ..< n { u[i * n + j] = l[j * n + i] } }
        return (u, h, dead)
    }

    /// Natural column order; a group's grid is fixed at its first column from the weights as they
    /// were when the sweep entered that column's block (the reference reads W, not the block's W1).
    static func solve(_ p: GPTQProblem, configuration c: GPTQConfiguration) -> (codes: [UInt8], values: [Float]) {
        let n = p.columns
        let (u, _, dead) = factor(p.hessian, n: n, damp: c.dampPercent)
        var w = p.weights.map(Double.init)
        for r in 0 ..< p.rows { for j in 0 ..< n where dead[j] { w[r * n + j] = 0 } }
        var codes = [UInt8](repeating: 0, count: p.rows * n)
        var values = [Float](repeating: 0, count: p.rows * n)
        for r in 0 ..< p.rows {
            var grid = GPTQGrid(scale: 1, zero: 0)
            var blockStart = [Double]()
            for j in 0 ..< n {
                if j % c.blockSize == 0 { blockStart = Array(w[(r * n) ..< (r * n + n)]) }
                if j == 0 || (c.groupSize > 0 && j % c.groupSize == 0) {
                    let width = c.groupSize > 0 ? min(c.groupSize, n - j) : n
                    let slice = (j ..< j + width).map { Float(blockStart[$0]) }
                    grid = GPTQGrid.fit(minimum: slice.min() ?? 0, maximum: slice.max() ?? 0, maxq: c.maxq, sym: c.sym)
                }
                let x = w[r * n + j]
                let code = grid.code(Float(x), maxq: c.maxq)
                let q = Double(grid.value(code))
                codes[r * n + j] = UInt8(code)
                values[r * n + j] = Float(q)
                let err = (x - q) / u[j * n + j]
                for k in j + 1 ..< max(j + 1, n) { w[r * n + k] -= err * u[j * n + k] }
            }
        }
        return (codes, values)
    }
}

@Suite("GPTQ solve")
struct GPTQSolverTests {
    static func solve(_ p: GPTQProblem, _ c: GPTQConfiguration) throws -> (linear: GPTQQuantizedLinear, values: [Float], report: GPTQSolveReport) {
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: p.columns, actOrder: c.actOrder, dampPercent: c.dampPercent)
        let r = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.solve(weights: $0.baseAddress!, rows: p.rows, columns: p.columns, inverse: inverse, configuration: c)
        }
        return (r.linear, r.dequantized, r.report)
    }

    @Test("the inverse factor satisfies UᵀU = (H + λI)⁻¹", arguments: [false, true])
    func inverseFactor(actOrder: Bool) throws {
        let p = GPTQProblem(rows: 4, columns: 40)
        let n = p.columns
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: n, actOrder: actOrder, dampPercent: 0.01)
        let (uRef, _, _) = ReferenceGPTQ.factor(
            (0 ..< n * n).map { p.hessian[inverse.permutation[$0 / n] * n + inverse.permutation[$0 % n]] }, n: n, damp: 0.01)
        var worst = 0.0
        for i in 0 ..< n { for j in 0 ..< n {
            worst = max(worst, abs(Double(inverse.factor[i * n + j]) - uRef[i * n + j]) / max(abs(uRef[i * n + i]), 1e-12))
        } }
        #expect(worst < 1e-5)
        if actOrder {
            let diagonal = inverse.permutation.map { p.hessian[$0 * n + $0] }
            #expect(zip(diagonal, diagonal.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(Set(inverse.permutation) == Set(0 ..< n))
        } else {
            #expect(inverse.permutation == Array(0 ..< n))
        }
    }

    @Test("lazy-batched, row-parallel solve equals the straightforward reference",
          arguments: [(4, 32, true), (4, -1, true), (3, 32, false), (2, 16, true), (8, 64, false)])
    func matchesReference(bits: Int, groupSize: Int, sym: Bool) throws {
        // 300 columns: several 128-column blocks, a ragged last group for every group size.
        let p = GPTQProblem(rows: 40, columns: 300, seed: UInt64(bits * 100 + max(groupSize, 0)))
        let c = GPTQConfiguration(bits: bits, groupSize: groupSize, sym: sym)
        let (linear, values, _) = try Self.solve(p, c)
        let reference = ReferenceGPTQ.solve(p, configuration: c)
        let same = zip(linear.codes, reference.codes).filter { $0 == $1 }.count
        // f32 lazy batches vs f64 immediate updates: a code may flip where a value sits on a rounding edge.
        #expect(Double(same) / Double(linear.codes.count) > 0.995)
        let ours = p.proxyLoss(values), theirs = p.proxyLoss(reference.values)
        #expect(abs(ours - theirs) / theirs < 0.01)
        #expect(linear.dequantized() == values)
    }

    @Test("GPTQ's layer-output error is well below round-to-nearest's", arguments: [(3, true), (4, true), (4, false), (8, true)])
    func beatsRoundToNearest(bits: Int, sym: Bool) throws {
        let p = GPTQProblem(rows: 32, columns: 160, seed: 9)
        let c = GPTQConfiguration(bits: bits, groupSize: 32, sym: sym)
        let (_, gptq, report) = try Self.solve(p, c)
        let rtn = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: p.rows, columns: p.columns, configuration: c)
        }
        #expect(p.proxyLoss(gptq) < 0.8 * p.proxyLoss(rtn.dequantized))
        #expect(report.loss > 0 && !report.dampRaised && report.deadColumns == 0)
    }

    @Test("round-to-nearest codes every group on its own weights")
    func roundToNearest() throws {
        let p = GPTQProblem(rows: 8, columns: 80, seed: 3)
        let c = GPTQConfiguration(bits: 4, groupSize: 32, sym: false)
        let (linear, values) = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: p.rows, columns: p.columns, configuration: c)
        }
        for r in 0 ..< p.rows {
            for start in stride(from: 0, to: 80, by: 32) {
                let slice = Array(p.weights[(r * 80 + start) ..< (r * 80 + min(start + 32, 80))])
                // Codes from the exact f32 grid, values from its float16-rounded (stored) scale.
                let grid = GPTQGrid.fit(minimum: slice.min()!, maximum: slice.max()!, maxq: 15, sym: false, float16: false)
                let stored = GPTQGrid(scale: GPTQGrid.float16Scale(grid.scale), zero: grid.zero)
                #expect(linear.scales[(start / 32) * p.rows + r] == stored.scale)
                for (k, v) in slice.enumerated() {
                    #expect(Int(linear.codes[r * 80 + start + k]) == grid.code(v, maxq: 15))
                    #expect(values[r * 80 + start + k] == stored.value(grid.code(v, maxq: 15)))
                }
            }
        }
        #expect(linear.groupIndex == (0 ..< 80).map { Int32($0 / 32) })
    }

    @Test("g_idx: natural groups with a ragged last one; act-order groups follow the sweep; static groups stay natural")
    func groupIndex() throws {
        let p = GPTQProblem(rows: 32, columns: 80, seed: 5)
        let natural = try Self.solve(p, GPTQConfiguration(bits: 4, groupSize: 32)).linear
        #expect(natural.groups == 3)
        #expect(natural.groupIndex == (0 ..< 80).map { Int32($0 / 32) })
        #expect(natural.groupIndex.filter { $0 == 2 }.count == 16)

        let act = try Self.solve(p, GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true))
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: 80, actOrder: true, dampPercent: 0.01)
        for (position, column) in inverse.permutation.enumerated() { #expect(act.linear.groupIndex[column] == Int32(position / 32)) }
        #expect(act.linear.groupIndex != natural.groupIndex)
        #expect((0 ..< 3).map { g in act.linear.groupIndex.filter { $0 == g }.count } == [32, 32, 16])
        #expect(act.linear.dequantized() == act.values)

        let fixed = try Self.solve(p, GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true, staticGroups: true))
        #expect(fixed.linear.groupIndex == natural.groupIndex)
        #expect(fixed.linear.dequantized() == fixed.values)
        // Static grids come from the untouched weights: they equal round-to-nearest's.
        let rtn = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: p.rows, columns: 80, configuration: GPTQConfiguration(bits: 4, groupSize: 32))
        }
        #expect(fixed.linear.scales == rtn.linear.scales && fixed.linear.zeros == rtn.linear.zeros)
    }

    @Test("group-aware order: groups by their largest diagonal, columns inside by decreasing diagonal, ragged tail last")
    func groupAwarePermutation() {
        let diagonal: [Double] = [1, 5, 2, 9, 3, 0.5, 4, 4, 7, 6]   // groups of 4: {1,5,2,9} {3,.5,4,4} tail {7,6}
        let perm = GPTQColumnOrder.groupAware(groupSize: 4).permutation(diagonal: diagonal)
        #expect(perm == [3, 1, 2, 0, 6, 7, 4, 5, 8, 9])
        #expect(GPTQColumnOrder.decreasingDiagonal.permutation(diagonal: diagonal) == [3, 8, 9, 1, 6, 7, 4, 2, 0, 5])
        #expect(GPTQColumnOrder.natural.permutation(diagonal: diagonal) == Array(0 ..< 10))
    }

    @Test("group-aware solve keeps natural groups (g_idx c / g) and stores each grid in its own group's slot")
    func groupAwareSolve() throws {
        let p = GPTQProblem(rows: 32, columns: 80, seed: 5)
        let c = GPTQConfiguration(bits: 4, groupSize: 32, groupAwareOrder: true)
        let (linear, values, _) = try Self.solve(p, c)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: 80, order: c.ordering, dampPercent: 0.01)
        #expect(inverse.permutation != Array(0 ..< 80))
        #expect(linear.groupIndex == (0 ..< 80).map { Int32($0 / 32) })
        #expect(linear.dequantized() == values)
        // Every stored grid covers its own group's codes: decoding with the natural g_idx reproduces the sweep's values.
        for r in 0 ..< 32 {
            for col in 0 ..< 80 {
                let g = col / 32
                let grid = GPTQGrid(scale: linear.scales[g * 32 + r], zero: Int(linear.zeros[g * 32 + r]))
                #expect(grid.value(Int(linear.codes[r * 80 + col])) == values[r * 80 + col])
            }
        }
        #expect(p.proxyLoss(values) < p.proxyLoss(try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: 32, columns: 80, configuration: GPTQConfiguration(bits: 4, groupSize: 32))
        }.dequantized))
    }

    @Test("act-order lowers the layer-output error on a Hessian with very uneven columns")
    func actOrderHelps() throws {
        let p = GPTQProblem(rows: 32, columns: 128, seed: 21)
        let plain = try Self.solve(p, GPTQConfiguration(bits: 3, groupSize: -1))
        let act = try Self.solve(p, GPTQConfiguration(bits: 3, groupSize: -1, actOrder: true))
        #expect(p.proxyLoss(act.values) < p.proxyLoss(plain.values))
    }

    @Test("dead inputs: zero Hessian diagonal → the column is zeroed and decodes to 0")
    func deadColumns() throws {
        var p = GPTQProblem(rows: 16, columns: 64, seed: 7)
        for dead in [5, 40] {
            for k in 0 ..< 64 { p.hessian[dead * 64 + k] = 0; p.hessian[k * 64 + dead] = 0 }
        }
        let (linear, values, report) = try Self.solve(p, GPTQConfiguration(bits: 4, groupSize: 32))
        #expect(report.deadColumns == 2)
        for r in 0 ..< 16 { #expect(values[r * 64 + 5] == 0 && values[r * 64 + 40] == 0) }
        #expect(linear.dequantized() == values)
        // With dead columns set to zero, the rest still solves like the reference.
        let reference = ReferenceGPTQ.solve(p, configuration: GPTQConfiguration(bits: 4, groupSize: 32))
        #expect(zip(linear.codes, reference.codes).filter { $0 == $1 }.count >= linear.codes.count * 99 / 100)
    }

    @Test("damp is raised when the Cholesky fails, and the damp used is reported")
    func dampEscalation() throws {
        // Eigenvalues −0.5 and 2.5: positive definite only once λ = damp · 1 > 0.5 → 0.01 · 2⁶ = 0.64.
        let indefinite: [Double] = [1, 1.5, 1.5, 1]
        let inverse = try GPTQInverseHessian(hessian: indefinite, columns: 2, actOrder: false, dampPercent: 0.01)
        #expect(inverse.dampRaised)
        #expect(abs(inverse.dampPercent - 0.64) < 1e-12)
        let weights: [Float] = [0.1, -0.2, 0.3, 0.05]
        let (_, _, report) = try weights.withUnsafeBufferPointer {
            try GPTQSolver.solve(weights: $0.baseAddress!, rows: 2, columns: 2, inverse: inverse,
                                 configuration: GPTQConfiguration(bits: 4, groupSize: -1))
        }
        #expect(report.dampRaised && abs(report.dampPercent - 0.64) < 1e-12)
        // Eigenvalue −2: still indefinite at λ = 1 (the cap), refused with the tensor's name.
        #expect(throws: GPTQError.choleskyFailed(tensor: "x", lastDamp: 1)) {
            _ = try GPTQInverseHessian(hessian: [1, 3, 3, 1], columns: 2, actOrder: false, dampPercent: 0.01, name: "x")
        }
        let fine = try GPTQInverseHessian(hessian: [2, 0.5, 0.5, 1], columns: 2, actOrder: false, dampPercent: 0.01)
        #expect(!fine.dampRaised && fine.dampPercent == 0.01)
    }

    @Test("the in-place factorization retries on the same H: a raised damp gives the factor a fresh start at that damp gives",
          arguments: [GPTQColumnOrder.natural, .decreasingDiagonal])
    func inPlaceRetry(order: GPTQColumnOrder) throws {
        // H − 0.3·mean(diag)·I: indefinite, so 0.01 fails and the damp is doubled until it works.
        let p = GPTQProblem(rows: 4, columns: 48, seed: 11)
        let n = p.columns
        let mean = (0 ..< n).reduce(0.0) { $0 + p.hessian[$1 * n + $1] } / Double(n)
        var shifted = p.hessian
        for i in 0 ..< n { shifted[i * n + i] -= 0.3 * mean }
        let raised = try GPTQInverseHessian(hessian: shifted, columns: n, order: order, dampPercent: 0.01)
        #expect(raised.dampRaised)
        let fresh = try GPTQInverseHessian(hessian: shifted, columns: n, order: order, dampPercent: raised.dampPercent)
        #expect(!fresh.dampRaised)
        #expect(raised.factor == fresh.factor)
        #expect(raised.permutation == fresh.permutation)
    }

    @Test("the in-place symmetric permutation equals gathering H[p(i)][p(j)]")
    func inPlacePermutation() {
        var g = SplitMix64(seed: 9)
        let n = 37
        let h = (0 ..< n * n).map { _ in Double(g.signedUnit()) }
        // A permutation with cycles of several lengths and fixed points.
        var permutation = Array(0 ..< n)
        for i in stride(from: n - 1, to: 0, by: -1) { permutation.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        permutation.swapAt(3, 3)
        var permuted = h
        GPTQInverseHessian.permute(&permuted, n: n, permutation: permutation)
        #expect(permuted == (0 ..< n * n).map { h[permutation[$0 / n] * n + permutation[$0 % n]] })
    }

    @Test("non-finite weights and Hessians are refused by name")
    func nonFinite() throws {
        let inverse = try GPTQInverseHessian(hessian: [2, 0, 0, 2], columns: 2, actOrder: false, dampPercent: 0.01)
        let weights: [Float] = [0.1, .nan, 0.3, 0.05]
        #expect(throws: GPTQError.self) {
            _ = try weights.withUnsafeBufferPointer {
                try GPTQSolver.solve(weights: $0.baseAddress!, rows: 2, columns: 2, inverse: inverse, configuration: GPTQConfiguration(bits: 4, groupSize: -1))
            }
        }
        #expect(throws: GPTQError.self) { _ = try GPTQInverseHessian(hessian: [.infinity, 0, 0, 1], columns: 2, actOrder: false, dampPercent: 0.01) }
    }

    @Test("the Hessian accumulator equals 2·XᵀX/n, across staging flushes and row strides")
    func hessianAccumulation() {
        var g = SplitMix64(seed: 4)
        let columns = 200, rows = 300, stride = 210
        let x = (0 ..< rows * stride).map { _ in g.signedUnit() }
        let accumulator = GPTQHessian(columns: columns, stagingRows: 128)
        x.withUnsafeBufferPointer { b in
            accumulator.add(b.baseAddress!, rows: 100, rowStride: stride)
            accumulator.add(b.baseAddress! + 100 * stride, rows: 200, rowStride: stride)
        }
        let h = accumulator.matrix()
        var worst = 0.0
        for i in 0 ..< columns { for j in 0 ..< columns {
            var s = 0.0
            for r in 0 ..< rows { s += Double(x[r * stride + i]) * Double(x[r * stride + j]) }
            worst = max(worst, abs(h[i * columns + j] - 2 * s / Double(rows)))
        } }
        #expect(accumulator.count == rows)
        #expect(worst < 1e-4)
    }
}

@Suite("GPTQ grid")
struct GPTQGridTests {
    @Test("symmetric: zero at 2^(bits−1), scale = f16(2·absmax / maxq)", arguments: [2, 3, 4, 8])
    func symmetric(bits: Int) {
        let maxq = (1 << bits) - 1
        let grid = GPTQGrid.fit(minimum: -0.3, maximum: 0.2, maxq: maxq, sym: true)
        #expect(grid.zero == (maxq + 1) / 2)
        #expect(grid.scale == Float(Float16(0.6 / Float(maxq))))
    }

    @Test("asymmetric: zero = round(−min / scale), kept ≥ 1 so zero − 1 is never negative")
    func asymmetric() {
        let grid = GPTQGrid.fit(minimum: -0.3, maximum: 0.2, maxq: 15, sym: false)
        let scale = Float(Float16(Float(0.5) / 15))
        #expect(grid.scale == scale && grid.zero == Int((0.3 / scale).rounded(.toNearestOrEven)))
        // All values ≥ 0 would give zero 0: the grid widens to [−s, 14·s] instead.
        let positive = GPTQGrid.fit(minimum: 0.1, maximum: 1.5, maxq: 15, sym: false)
        #expect(positive.zero == 1 && positive.scale == Float(Float16(Float(1.5) / 14)))
        #expect(positive.code(1.5, maxq: 15) == 15 && positive.code(0, maxq: 15) == 1)
    }

    @Test("an all-zero group gets the range [−1, 1] and decodes zeros exactly")
    func allZero() {
        for sym in [true, false] {
            let grid = GPTQGrid.fit(minimum: 0, maximum: 0, maxq: 15, sym: sym)
            #expect(grid.value(grid.code(0, maxq: 15)) == 0)
            #expect(grid.scale == Float(Float16(Float(2) / 15)))
        }
    }

    @Test("the range search never does worse than min/max and only ever shrinks the range", arguments: [true, false])
    func rangeSearch(sym: Bool) {
        var g = SplitMix64(seed: 8)
        var values = (0 ..< 64).map { _ in g.signedUnit() * 0.1 }
        values[17] = 0.9   // one outlier
        values.withUnsafeBufferPointer { b in
            let plain = GPTQGrid.fit(b.baseAddress!, count: 64, maxq: 15, sym: sym)
            for norm in [2.0, 2.4] {
                let searched = GPTQGrid.search(b.baseAddress!, count: 64, maxq: 15, sym: sym, norm: norm)
                #expect(searched.error(b.baseAddress!, count: 64, stride: 1, maxq: 15, norm: norm)
                        <= plain.error(b.baseAddress!, count: 64, stride: 1, maxq: 15, norm: norm))
                #expect(searched.scale <= plain.scale)
            }
        }
    }

    @Test("the importance-weighted range search: uniform weights change nothing, a heavy weight on the outlier keeps it unclipped")
    func weightedRangeSearch() {
        var g = SplitMix64(seed: 8)
        var values = (0 ..< 64).map { _ in g.signedUnit() * 0.1 }
        values[17] = 0.9   // the outlier the unweighted search clips
        let uniform = [Float](repeating: 2, count: 64)   // a power of two: exact scaling, identical comparisons
        var heavy = [Float](repeating: 1, count: 64)
        heavy[17] = 1e4
        values.withUnsafeBufferPointer { b in
            let v = b.baseAddress!
            let plain = GPTQGrid.search(v, count: 64, maxq: 15, sym: true, norm: 2)
            let same = uniform.withUnsafeBufferPointer { GPTQGrid.search(v, count: 64, maxq: 15, sym: true, norm: 2, importance: $0.baseAddress) }
            #expect(same == plain)
            let weighted = heavy.withUnsafeBufferPointer { GPTQGrid.search(v, count: 64, maxq: 15, sym: true, norm: 2, importance: $0.baseAddress) }
            let clipped = { (grid: GPTQGrid) in abs(0.9 - grid.value(grid.code(0.9, maxq: 15))) }
            let minMax = GPTQGrid.fit(v, count: 64, maxq: 15, sym: true)
            #expect(plain.scale < minMax.scale)   // unweighted: the range shrinks and the outlier is clipped
            #expect(clipped(weighted) < clipped(plain))
            // Weighted, the outlier is coded as well as the full min/max range codes it (a sym grid reaches
            // only 7 steps up, so even that leaves half a step).
            #expect(clipped(weighted) <= clipped(minMax) * 1.0001)
        }
    }

    @Test("codes round half to even (torch.round) and clamp to 0…maxq")
    func rounding() {
        let grid = GPTQGrid(scale: 1, zero: 8)
        #expect(grid.code(0.5, maxq: 15) == 8 && grid.code(1.5, maxq: 15) == 10 && grid.code(-2.5, maxq: 15) == 6)
        #expect(grid.code(100, maxq: 15) == 15 && grid.code(-100, maxq: 15) == 0)
    }

    @Test("options are validated")
    func validation() {
        #expect(throws: GPTQError.unsupportedBits(5)) { try GPTQConfiguration(bits: 5).validate() }
        #expect(throws: GPTQError.invalidGroupSize(0)) { try GPTQConfiguration(groupSize: 0).validate() }
        #expect(throws: GPTQError.invalidDamp(0)) { try GPTQConfiguration(dampPercent: 0).validate() }
        #expect(throws: GPTQError.self) { try GPTQConfiguration(actOrder: true, groupAwareOrder: true).validate() }
        #expect(throws: GPTQError.self) { try GPTQConfiguration(groupSize: -1, groupAwareOrder: true).validate() }
        #expect(throws: GPTQError.self) { try GPTQConfiguration(mseNorm: 0.5).validate() }
        #expect(GPTQConfiguration(groupSize: 64).blockSize == 128 && GPTQConfiguration(groupSize: 48).blockSize == 96)
        #expect(GPTQConfiguration(groupSize: 256).blockSize == 256 && GPTQConfiguration(groupSize: -1).blockSize == 128)
    }
}
