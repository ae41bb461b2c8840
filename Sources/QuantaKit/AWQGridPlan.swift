/// Which points of AWQ's α grid the scale search scores, and the search itself.
///
/// AutoAWQ scores all n_grid = 20 ratios α = k/20 and keeps the best; so does the default here
/// (stride 1). Along the grid the block-output loss is mostly a smooth curve with one dip in α, so a
/// coarse pass over every S-th point followed by ±S/2 … ±1 around the best lands on the same k whenever
/// the curve has one dip. It does not always have one: with stride 4 (9 of 20 points) on SmolLM2 at
/// 8 windows 4 of 90 group choices differed from the exhaustive loop, and at 128 windows PPL rose
/// from 27.06 to 27.53 (KLD 0.1415 → 0.1439) — so the exhaustive loop stays the default and the
/// coarse plans are an opt-in trade (docs/quantization.md has the figures).
enum AWQGridPlan {
    /// The refinement steps after a coarse pass of `stride`: stride/2, stride/4, …, 1.
    static func refinements(stride: Int) -> [Int] {
        var steps: [Int] = []
        var step = stride / 2
        while step >= 1 { steps.append(step); step /= 2 }
        return steps
    }

    /// The best grid index (ties: the smaller index, as AutoAWQ's strict `<`), its loss, and every
    /// index scored with its loss. Index 0 (α = 0, plain round-to-nearest) is always scored: the
    /// report compares against it. A NaN loss never wins; when every loss is NaN the result is 0.
    /// `stride` 1 is AutoAWQ's exhaustive loop; larger strides score every stride-th point, then
    /// halve the step around the best so far.
    static func search(grid: Int, stride coarse: Int, loss: (Int) -> Double) -> (best: Int, loss: Double, scored: [Int: Double]) {
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
        if coarse <= 1 {
            for k in 0 ..< grid { score(k) }
        } else {
            for k in stride(from: 0, to: grid, by: coarse) { score(k) }
            for step in refinements(stride: coarse) {
                let centre = best?.k ?? 0
                score(centre - step)
                score(centre + step)
            }
        }
        guard let chosen = best else { return (0, scored[0] ?? .nan, scored) }
        return (chosen.k, chosen.loss, scored)
    }
}
