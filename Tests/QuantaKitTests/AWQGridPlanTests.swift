@testable import QuantaKit
import Testing

/// AWQ's α grid search: exhaustive as AutoAWQ (stride 1), or coarse-to-fine (every S-th point, then ±S/2 … ±1).
@Suite("AWQ grid plan")
struct AWQGridPlanTests {
    @Test("a loss with one dip: coarse-to-fine finds the exhaustive minimum with 9 of 20 points", arguments: Array(0 ..< 20))
    func unimodal(minimum: Int) {
        let loss: (Int) -> Double = { k in Double((k - minimum) * (k - minimum)) + 1 }
        let full = AWQGridPlan.search(grid: 20, stride: 1, loss: loss)
        let fast = AWQGridPlan.search(grid: 20, stride: 4, loss: loss)
        #expect(full.best == minimum && full.scored.count == 20)
        #expect(fast.best == minimum)
        #expect(fast.scored.count <= 9 && fast.scored[0] != nil)
        #expect(fast.loss == full.loss)
    }

    @Test("stride 2 refines by ±1 (≤ 12 of 20 points); stride 3 by ±1; refinement steps halve")
    func strides() {
        #expect(AWQGridPlan.refinements(stride: 4) == [2, 1])
        #expect(AWQGridPlan.refinements(stride: 2) == [1])
        #expect(AWQGridPlan.refinements(stride: 8) == [4, 2, 1])
        for minimum in 0 ..< 20 {
            let result = AWQGridPlan.search(grid: 20, stride: 2) { k in Double((k - minimum) * (k - minimum)) }
            #expect(result.best == minimum && result.scored.count <= 12)
        }
    }

    @Test("ties keep the smaller index; NaN never wins; all NaN gives 0; grid 1 scores only α = 0")
    func edges() {
        let flat = AWQGridPlan.search(grid: 20, stride: 1) { _ in 3 }
        #expect(flat.best == 0)
        let nanAtZero = AWQGridPlan.search(grid: 20, stride: 4) { k in k == 0 ? .nan : Double(abs(k - 9)) }
        #expect(nanAtZero.best == 9 && nanAtZero.loss == 0)
        let allNaN = AWQGridPlan.search(grid: 20, stride: 4) { _ in .nan }
        #expect(allNaN.best == 0 && allNaN.loss.isNaN)
        let single = AWQGridPlan.search(grid: 1, stride: 4) { _ in 5 }
        #expect(single.best == 0 && single.scored.count == 1)
    }

    @Test("a loss with two dips: the exhaustive loop finds the deeper one; coarse-to-fine may stop in the other, never below it")
    func bimodal() {
        let loss: (Int) -> Double = { k in [10, 9, 8, 7, 6, 5, 4, 3, 2, 3, 4, 5, 6, 5, 4, 1.5, 4, 5, 6, 7][k] }
        let full = AWQGridPlan.search(grid: 20, stride: 1, loss: loss)
        let fast = AWQGridPlan.search(grid: 20, stride: 4, loss: loss)
        #expect(full.best == 15)
        #expect(fast.loss >= full.loss)
    }
}
