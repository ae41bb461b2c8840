@testable import QuantaKit
import Testing

/// AWQ's α grid search: exhaustive as AutoAWQ, or coarse-to-fine (every 4th point, then ±2, ±1).
@Suite("AWQ grid plan")
struct AWQGridPlanTests {
    @Test("a loss with one dip: coarse-to-fine finds the exhaustive minimum with 9 of 20 points", arguments: Array(0 ..< 20))
    func unimodal(minimum: Int) {
        let loss: (Int) -> Double = { k in Double((k - minimum) * (k - minimum)) + 1 }
        let full = AWQGridPlan.search(grid: 20, exhaustive: true, loss: loss)
        let fast = AWQGridPlan.search(grid: 20, exhaustive: false, loss: loss)
        #expect(full.best == minimum && full.scored.count == 20)
        #expect(fast.best == minimum)
        #expect(fast.scored.count <= 9 && fast.scored[0] != nil)
        #expect(fast.loss == full.loss)
    }

    @Test("ties keep the smaller index; NaN never wins; all NaN gives 0; grid 1 scores only α = 0")
    func edges() {
        let flat = AWQGridPlan.search(grid: 20, exhaustive: true) { _ in 3 }
        #expect(flat.best == 0)
        let nanAtZero = AWQGridPlan.search(grid: 20, exhaustive: false) { k in k == 0 ? .nan : Double(abs(k - 9)) }
        #expect(nanAtZero.best == 9 && nanAtZero.loss == 0)
        let allNaN = AWQGridPlan.search(grid: 20, exhaustive: false) { _ in .nan }
        #expect(allNaN.best == 0 && allNaN.loss.isNaN)
        let single = AWQGridPlan.search(grid: 1, exhaustive: false) { _ in 5 }
        #expect(single.best == 0 && single.scored.count == 1)
    }

    @Test("a loss with two dips: the exhaustive loop finds the deeper one; coarse-to-fine may stop in the other, never below it")
    func bimodal() {
        let loss: (Int) -> Double = { k in [10, 9, 8, 7, 6, 5, 4, 3, 2, 3, 4, 5, 6, 5, 4, 1.5, 4, 5, 6, 7][k] }
        let full = AWQGridPlan.search(grid: 20, exhaustive: true, loss: loss)
        let fast = AWQGridPlan.search(grid: 20, exhaustive: false, loss: loss)
        #expect(full.best == 15)
        #expect(fast.loss >= full.loss)
    }
}
