/// Which points of AWQ's α grid the scale search scores, and the search itself.
///
/// AutoAWQ scores all n_grid = 20 ratios α = k/20 and keeps the best. Along the grid the block-output
/// loss is mostly a smooth curve with one dip in α (the scale trades the salient channels' error
/// against the others'), so a coarse pass over every 4th point followed by ±2 and ±1 around the best
/// so far lands on the same k whenever the curve has one dip, for 9 scored points instead of 20.
/// Where the curve has two dips it can stop in the other one: on SmolLM2 (8 windows) 4 of 90 group
/// choices differ from the exhaustive loop (docs/quantization.md gives the PPL of both).
enum AWQGridPlan {
    static let coarseStride = 4
    static let refinements = [2, 1]

    /// The best grid index (ties: the smaller index, as AutoAWQ's strict `<`), its loss, and every
    /// index scored with its loss. Index 0 (α = 0, plain round-to-nearest) is always scored: the
    /// report compares against it. A NaN loss never wins; when every loss is NaN the result is 0.
    static func search(grid: Int, exhaustive: Bool, loss: (Int) -> Double) -> (best: Int, loss: Double, scored: [Int: Double]) {
        var scored: [Int: Double] = [:]
        var best: (k: Int, loss: Double)? = nil
        func score(_ k: Int) {
            guard k >= 0, k < grid, scored[k] == nil else { return }
            let l = loss(k)
            scored[k] = l
            if let b = best {
                if l < b.loss || (l == b.loss && k < b.k) { best = (k, l) }
            } else if !l.isNaN {
                best = (k, l)
            }
        }
        if exhaustive {
            for k in 0 ..< grid { score(k) }
        } else {
            for k in stride(from: 0, to: grid, by: coarseStride) { score(k) }
            for step in refinements {
                let centre = best?.k ?? 0
                score(centre - step)
                score(centre + step)
            }
        }
        guard let chosen = best else { return (0, scored[0] ?? .nan, scored) }
        return (chosen.k, chosen.loss, scored)
    }
}
