import Foundation
import QuantaCore
import Testing
@testable import QuantaQuant

@Suite("GPTQ scale refit")
struct GPTQScaleRefitTests {
    /// The least-squares scales of one row written out for the test: A built explicitly, the
    /// normal equations (AᵀHA) s = AᵀHw solved by Gaussian elimination in double.
    static func referenceScales(_ p: GPTQProblem, _ linear: GPTQQuantizedLinear, row r: Int, damping lambda: Double) -> [Double] {
        let n = p.columns, k = linear.groups
        func h(_ i: Int, _ j: Int) -> Double { p.hessian[i * n + j] + (i == j ? lambda : 0) }
        var a = [[Double]](repeating: [Double](repeating: 0, count: n), count: k)
        for c in 0 ..< n {
            let g = Int(linear.groupIndex[c])
            a[g][c] = Double(Int(linear.codes[r * n + c]) - Int(linear.zeros[g * linear.rows + r]))
        }
        let w = (0 ..< n).map { Double(p.weights[r * n + $0]) }
        var m = [[Double]](repeating: [Double](repeating: 0, count: k + 1), count: k)
        for g in 0 ..< k {
            var hag = [Double](repeating: 0, count: n)
            for i in 0 ..< n { for j in 0 ..< n { hag[i] += h(i, j) * a[g][j] } }
            for t in 0 ..< k { m[g][t] = zip(a[t], hag).reduce(0) { $0 + $1.0 * $1.1 } }
            m[g][k] = zip(w, hag).reduce(0) { $0 + $1.0 * $1.1 }
        }
        for col in 0 ..< k {
            let pivot = (col ..< k).max { abs(m[$0][col]) < abs(m[$1][col]) }!
            m.swapAt(col, pivot)
            for i in 0 ..< k where i != col {
                let f = m[i][col] / m[col][col]
                for j in col ... k { m[i][j] -= f * m[col][j] }
            }
        }
        return (0 ..< k).map { m[$0][k] / m[$0][$0] }
    }

    @Test("refit lowers GPTQ's layer-output error and changes only the scales",
          arguments: [(4, 32, false, true), (4, 32, true, true), (3, 40, true, false), (2, 16, false, true), (8, 64, false, false)])
    func lowersError(bits: Int, groupSize: Int, actOrder: Bool, sym: Bool) throws {
        let p = GPTQProblem(rows: 24, columns: 160, seed: UInt64(31 + bits * 10 + groupSize))
        let c = GPTQConfiguration(bits: bits, groupSize: groupSize, sym: sym, actOrder: actOrder)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: p.columns, order: c.ordering, dampPercent: c.dampPercent)
        let solved = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.solve(weights: $0.baseAddress!, rows: p.rows, columns: p.columns, inverse: inverse, configuration: c)
        }
        var linear = solved.linear
        let (values, report) = p.weights.withUnsafeBufferPointer {
            GPTQScaleRefit.refit(&linear, weights: $0.baseAddress!, hessian: p.hessian, damping: inverse.damping)
        }
        // Only the scales move; the result decodes to what the refit returned.
        #expect(linear.codes == solved.linear.codes && linear.zeros == solved.linear.zeros)
        #expect(linear.groupIndex == solved.linear.groupIndex)
        #expect(linear.dequantized() == values)
        #expect(linear.scales.allSatisfy { $0 > 0 && Float(Float16($0)) == $0 })
        // The report's figures are the damped objective before and after.
        let before = p.proxyLoss(solved.dequantized, damping: inverse.damping)
        let after = p.proxyLoss(values, damping: inverse.damping)
        #expect(abs(report.errorBefore - before) / before < 1e-3)
        #expect(abs(report.errorAfter - after) / before < 1e-3)
        #expect(after < before)
        #expect(report.rowsChanged > p.rows / 2 && report.rows == p.rows)
        #expect((report.errorReduction ?? 0) > 0)
        #expect(GPTQScaleRefit.Report.total([report, report])?.rows == 2 * p.rows && GPTQScaleRefit.Report.total([]) == nil)
        // The plain objective GPTQ minimizes drops too.
        #expect(p.proxyLoss(values) < p.proxyLoss(solved.dequantized))
    }

    @Test("refitted scales are the float16 rounding of the least-squares solution")
    func matchesLeastSquares() throws {
        let p = GPTQProblem(rows: 12, columns: 96, seed: 77)
        let c = GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: p.columns, order: c.ordering, dampPercent: c.dampPercent)
        var linear = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.solve(weights: $0.baseAddress!, rows: p.rows, columns: p.columns, inverse: inverse, configuration: c)
        }.linear
        let original = linear
        _ = p.weights.withUnsafeBufferPointer {
            GPTQScaleRefit.refit(&linear, weights: $0.baseAddress!, hessian: p.hessian, damping: inverse.damping)
        }
        var agree = 0, total = 0
        for r in 0 ..< p.rows {
            let exact = Self.referenceScales(p, original, row: r, damping: inverse.damping)
            for g in 0 ..< linear.groups {
                total += 1
                let stored = linear.scales[g * p.rows + r]
                // f32 GEMMs vs the double reference: equal after rounding, or one float16 step apart
                // where the solution sits near a rounding midpoint.
                if stored == Float(Float16(Float(exact[g]))) { agree += 1 }
                #expect(abs(Double(stored) - exact[g]) <= abs(exact[g]) * 1.5e-3)
            }
        }
        #expect(agree * 10 >= total * 9)
    }

    @Test("a group whose codes all sit on the zero point keeps its scale")
    func pinnedGroup() throws {
        var p = GPTQProblem(rows: 6, columns: 64, seed: 5)
        // Group 1's weights are zero: every code there is the zero point, its scale cannot matter.
        for r in 0 ..< p.rows { for c in 32 ..< 64 { p.weights[r * 64 + c] = 0 } }
        let c = GPTQConfiguration(bits: 4, groupSize: 32)
        let linear = try p.weights.withUnsafeBufferPointer {
            try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: p.rows, columns: 64, configuration: c)
        }.linear
        var refitted = linear
        let (values, report) = p.weights.withUnsafeBufferPointer {
            GPTQScaleRefit.refit(&refitted, weights: $0.baseAddress!, hessian: p.hessian, damping: 0.01 * p.hessian[0])
        }
        for r in 0 ..< p.rows {
            #expect(refitted.scales[p.rows + r] == linear.scales[p.rows + r])
            for c in 32 ..< 64 { #expect(values[r * 64 + c] == 0) }
        }
        #expect(report.errorAfter <= report.errorBefore)
        #expect(report.rowsChanged > 0)
    }
}
