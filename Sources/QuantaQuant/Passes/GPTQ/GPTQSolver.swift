import COpenBLAS
import QuantaCore

/// The per-linear GPTQ solve (Frantar et al. 2022, Algorithm 1; the reference's `fasterquant`):
/// columns are quantized one at a time in sweep order, each column's error, scaled by the
/// Cholesky factor U of H⁻¹, is pushed onto the columns not yet quantized — inside a block of
/// `blockSize` columns immediately (rank-1 updates), onto the columns after the block once per
/// block (one GEMM: "lazy batch"). Output rows are independent given U, so the rows are split
/// into tasks of `rowsPerTask` that run the whole sweep on their own copy: no shared writes
/// except each task's own rows of the outputs, one allocation per task.
public enum GPTQSolver {
    static let rowsPerTask = 32

    /// Quantizes `weights` ([rows × columns], row-major, HF [out, in]) with the prepared inverse
    /// Hessian. Returns the quantized linear and its dequantized weights (what the engine should
    /// compute with from now on: bit-identical to decoding the stored layout).
    public static func solve(weights: UnsafePointer<Float>, rows: Int, columns: Int, inverse: GPTQInverseHessian,
                             configuration: GPTQConfiguration, name: String = "linear") throws
        -> (linear: GPTQQuantizedLinear, dequantized: [Float], report: GPTQSolveReport) {
        try configuration.validate()
        guard inverse.columns == columns, rows > 0 else {
            throw GPTQError.shapeMismatch("GPTQ: '\(name)' has \(columns) inputs but its Hessian has \(inverse.columns)")
        }
        try checkFinite(weights, count: rows * columns, name: name)
        let n = columns, maxq = configuration.maxq, sym = configuration.sym
        let groupSize = configuration.groupSize
        let groups = configuration.groupCount(columns: n)
        let block = configuration.blockSize
        let staticGroups = configuration.staticGroups && groupSize > 0
        let dynamicGroups = groupSize > 0 && !staticGroups
        // Group-aware order visits whole original groups: scales go to the original group's slot.
        let groupAware = !configuration.actOrder && configuration.groupAwareOrder && groupSize > 0
        let perm = inverse.permutation
        let dead = inverse.dead
        let norm = configuration.mseNorm
        // Importance of each input for the weighted range search, in sweep and in natural order.
        let weighted = norm > 0 && configuration.mseImportance
        let naturalImportance = weighted ? inverse.diagonal.map(Float.init) : []
        let sweepImportance = weighted ? perm.map { naturalImportance[$0] } : []
        /// The grid of `count` values whose inputs' importances start at `offset` of `importance`
        /// (the sweep- or natural-order array, matching how `values` are ordered).
        @inline(__always) func fit(_ values: UnsafePointer<Float>, count: Int, importance: [Float], from offset: Int) -> GPTQGrid {
            guard norm > 0 else { return GPTQGrid.fit(values, count: count, maxq: maxq, sym: sym) }
            guard weighted else { return GPTQGrid.search(values, count: count, maxq: maxq, sym: sym, norm: norm) }
            return importance.withUnsafeBufferPointer {
                GPTQGrid.search(values, count: count, maxq: maxq, sym: sym, norm: norm, importance: $0.baseAddress! + offset)
            }
        }

        var codes = [UInt8](repeating: 0, count: rows * n)
        var dequantized = [Float](repeating: 0, count: rows * n)
        var scales = [Float](repeating: 0, count: groups * rows)
        var zeros = [UInt8](repeating: 0, count: groups * rows)
        let tasks = (rows + rowsPerTask - 1) / rowsPerTask
        var losses = [Double](repeating: 0, count: tasks)
        var badScale = [Bool](repeating: false, count: tasks)

        inverse.factor.withUnsafeBufferPointer { factorBuffer in
            codes.withUnsafeMutableBufferPointer { codesOut in
            dequantized.withUnsafeMutableBufferPointer { valuesOut in
            scales.withUnsafeMutableBufferPointer { scalesOut in
            zeros.withUnsafeMutableBufferPointer { zerosOut in
            losses.withUnsafeMutableBufferPointer { lossOut in
            badScale.withUnsafeMutableBufferPointer { badOut in
                let u = factorBuffer.baseAddress!
                Parallel.forEach(tasks) { task in
                    let r0 = task * rowsPerTask, m = min(rowsPerTask, rows - r0)
                    // Working copy of this task's rows in sweep order, dead columns zeroed.
                    var w = [Float](repeating: 0, count: m * n)
                    var errors = [Float](repeating: 0, count: m * block)
                    var grids = [GPTQGrid](repeating: GPTQGrid(scale: 1, zero: 0), count: m * (staticGroups ? groups : 1))
                    var scratch = [Float](repeating: 0, count: max(groupSize, 1))
                    var loss = 0.0
                    var scaleOverflow = false
                    w.withUnsafeMutableBufferPointer { wb in
                    errors.withUnsafeMutableBufferPointer { eb in
                    grids.withUnsafeMutableBufferPointer { gb in
                        let w = wb.baseAddress!, e = eb.baseAddress!, grid = gb.baseAddress!
                        for r in 0 ..< m {
                            let source = weights + (r0 + r) * n
                            for p in 0 ..< n { w[r * n + p] = dead[perm[p]] ? 0 : source[perm[p]] }
                        }
                        func store(_ g: GPTQGrid, group: Int, row r: Int) {
                            if !g.scale.isFinite { scaleOverflow = true }
                            scalesOut[group * rows + r0 + r] = g.scale
                            zerosOut[group * rows + r0 + r] = UInt8(g.zero)
                        }
                        if groupSize == -1 {
                            // One grid per row over all (dead-zeroed) inputs; order does not matter.
                            for r in 0 ..< m {
                                grid[r] = fit(w + r * n, count: n, importance: sweepImportance, from: 0)
                                store(grid[r], group: 0, row: r)
                            }
                        } else if staticGroups {
                            // Every group's grid from the unmodified weights, in the original order.
                            scratch.withUnsafeMutableBufferPointer { sb in
                                let values = sb.baseAddress!
                                for r in 0 ..< m {
                                    let source = weights + (r0 + r) * n
                                    for k in 0 ..< groups {
                                        let start = k * groupSize, width = min(groupSize, n - start)
                                        for c in 0 ..< width { values[c] = dead[start + c] ? 0 : source[start + c] }
                                        let g = fit(values, count: width, importance: naturalImportance, from: start)
                                        grid[k * m + r] = g
                                        store(g, group: k, row: r)
                                    }
                                }
                            }
                        }
                        // The block as it was when the sweep entered it: groups that start inside a block
                        // are fitted on these values (see below).
                        var blockStart = [Float](repeating: 0, count: dynamicGroups ? m * block : 0)
                        var i1 = 0
                        while i1 < n {
                            let i2 = min(i1 + block, n)
                            if dynamicGroups {
                                for r in 0 ..< m { for c in i1 ..< i2 { blockStart[r * block + c - i1] = w[r * n + c] } }
                            }
                            for p in i1 ..< i2 {
                                if dynamicGroups && p % groupSize == 0 {
                                    // As the reference (GPTQ `fasterquant`, GPTQModel 7.7): a group's grid comes from
                                    // the weights with the updates of earlier blocks but not those made inside the
                                    // current block (it reads W, the block's updates live in W1 until the block
                                    // ends). Fitting on the fully updated weights instead is no better on
                                    // SmolLM2 4-bit g64 (PPL 27.28 vs 27.02 with act-order + mse 2, 28.00 vs 28.22
                                    // act-order, 31.85 vs 32.41 plain): we keep the reference's choice.
                                    let width = min(groupSize, n - p)
                                    let slot = groupAware ? perm[p] / groupSize : p / groupSize
                                    blockStart.withUnsafeBufferPointer { start in
                                        for r in 0 ..< m {
                                            grid[r] = fit(start.baseAddress! + r * block + p - i1, count: width,
                                                          importance: sweepImportance, from: p)
                                            store(grid[r], group: slot, row: r)
                                        }
                                    }
                                }
                                let urow = u + p * n
                                let d = urow[p]
                                let column = perm[p]
                                let staticBase = staticGroups ? (column / groupSize) * m : 0
                                let tail = i2 - p - 1
                                for r in 0 ..< m {
                                    let g = staticGroups ? grid[staticBase + r] : grid[r]
                                    let row = w + r * n
                                    let x = row[p]
                                    let code = g.code(x, maxq: maxq)
                                    let q = g.value(code)
                                    codesOut[(r0 + r) * n + column] = UInt8(code)
                                    valuesOut[(r0 + r) * n + column] = q
                                    let err = (x - q) / d
                                    loss += Double(err) * Double(err)
                                    e[r * block + (p - i1)] = err
                                    // In-block update of the columns after p.
                                    if tail > 0 {
                                        let target = row + p + 1, coefficients = urow + p + 1
                                        for j in 0 ..< tail { target[j] -= err * coefficients[j] }
                                    }
                                }
                            }
                            // Lazy batch: W[:, i2:] −= E · U[i1:i2, i2:].
                            if i2 < n {
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n - i2), Int32(i2 - i1),
                                            -1, e, Int32(block), u + i1 * n + i2, Int32(n), 1, w + i2, Int32(n))
                            }
                            i1 = i2
                        }
                    }
                    }
                    }
                    lossOut[task] = loss / 2
                    badOut[task] = scaleOverflow
                }
            }
            }
            }
            }
            }
            }
        }
        if badScale.contains(true) {
            throw GPTQError.nonFinite(tensor: name, what: "weights too large for float16 scales")
        }
        let groupIndex = groupIndices(columns: n, configuration: configuration, permutation: perm)
        let linear = GPTQQuantizedLinear(rows: rows, columns: n, configuration: configuration, codes: codes, scales: scales,
                                         zeros: zeros, groupIndex: groupIndex)
        let report = GPTQSolveReport(dampPercent: inverse.dampPercent, dampRaised: inverse.dampRaised,
                                     deadColumns: inverse.deadCount, loss: losses.reduce(0, +))
        return (linear, dequantized, report)
    }

    /// Round-to-nearest in the same layout and grid (no calibration, no error feedback): the
    /// baseline GPTQ has to beat. Codes are chosen with the exact f32 scale, as fake quantization
    /// and GPTQModel's packer do; the stored (and decoded) scale is its float16 rounding. Coding
    /// with the rounded scale instead moves values that sit exactly on a rounding midpoint all the
    /// same way, which costs SmolLM2 (whose weights come from Q4_1 and hold many such midpoints)
    /// 1.2 PPL. Act-order is meaningless without a Hessian and is ignored.
    public static func roundToNearest(weights: UnsafePointer<Float>, rows: Int, columns: Int,
                                      configuration: GPTQConfiguration, name: String = "linear") throws
        -> (linear: GPTQQuantizedLinear, dequantized: [Float]) {
        try configuration.validate()
        try checkFinite(weights, count: rows * columns, name: name)
        var natural = configuration
        natural.actOrder = false
        natural.groupAwareOrder = false
        let n = columns, maxq = natural.maxq, sym = natural.sym
        let groups = natural.groupCount(columns: n)
        let width = natural.groupSize > 0 ? natural.groupSize : n
        var codes = [UInt8](repeating: 0, count: rows * n)
        var dequantized = [Float](repeating: 0, count: rows * n)
        var scales = [Float](repeating: 0, count: groups * rows)
        var zeros = [UInt8](repeating: 0, count: groups * rows)
        var overflow = false
        codes.withUnsafeMutableBufferPointer { codesOut in
        dequantized.withUnsafeMutableBufferPointer { valuesOut in
            for r in 0 ..< rows {
                let row = weights + r * n
                for k in 0 ..< groups {
                    let start = k * width, count = min(width, n - start)
                    let exact = natural.mseNorm > 0
                        ? GPTQGrid.search(row + start, count: count, maxq: maxq, sym: sym, norm: natural.mseNorm, float16: false)
                        : GPTQGrid.fit(row + start, count: count, maxq: maxq, sym: sym, float16: false)
                    let stored = GPTQGrid(scale: GPTQGrid.float16Scale(exact.scale), zero: exact.zero)
                    if !stored.scale.isFinite { overflow = true }
                    scales[k * rows + r] = stored.scale
                    zeros[k * rows + r] = UInt8(stored.zero)
                    for c in start ..< start + count {
                        let code = exact.code(row[c], maxq: maxq)
                        codesOut[r * n + c] = UInt8(code)
                        valuesOut[r * n + c] = stored.value(code)
                    }
                }
            }
        }
        }
        if overflow { throw GPTQError.nonFinite(tensor: name, what: "weights too large for float16 scales") }
        let linear = GPTQQuantizedLinear(rows: rows, columns: n, configuration: natural, codes: codes, scales: scales, zeros: zeros,
                                         groupIndex: groupIndices(columns: n, configuration: natural, permutation: Array(0 ..< n)))
        return (linear, dequantized)
    }

    /// g_idx: the group of every input column. Without act-order (or with static groups) column c
    /// is in group c / g; with act-order the groups are consecutive runs of the sweep order, so
    /// column c is in group (its sweep position) / g. The last group is shorter when the width
    /// is not a multiple of g.
    public static func groupIndices(columns n: Int, configuration: GPTQConfiguration, permutation: [Int]) -> [Int32] {
        let g = configuration.groupSize
        guard g > 0 else { return [Int32](repeating: 0, count: n) }
        // Group-aware order keeps every group contiguous in the original order.
        if !configuration.actOrder || configuration.staticGroups { return (0 ..< n).map { Int32($0 / g) } }
        var index = [Int32](repeating: 0, count: n)
        for (position, column) in permutation.enumerated() { index[column] = Int32(position / g) }
        return index
    }

    static func checkFinite(_ weights: UnsafePointer<Float>, count: Int, name: String) throws {
        for i in 0 ..< count where !weights[i].isFinite {
            throw GPTQError.nonFinite(tensor: name, what: "a non-finite weight at element \(i)")
        }
    }
}
