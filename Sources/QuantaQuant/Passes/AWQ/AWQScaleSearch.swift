import Foundation
import QuantaCore

/// The kernels of AWQ's activation-aware scale search (Lin et al. 2023, §3.2; AutoAWQ
/// `_search_best_scale` / `_compute_best_scale`). For a group of linears sharing an input x,
/// per input channel: s = mean|x|^α (or, with duo scaling, mean|x|^α / (w_mean^(1−α) + 1e-4)),
/// normalised by √(max s · min s); the candidate weight is Q(W·diag(s))·diag(s)⁻¹ and the α whose
/// block output is closest (MSE) to the float block's wins.
public enum AWQScaleSearch {
    /// Adds Σ|x| per column of `rows` rows (`rowStride` apart) into `sums` (columns split across cores).
    public static func accumulateAbsoluteSums(_ values: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int,
                                              into sums: UnsafeMutablePointer<Double>) {
        let v = UInt(bitPattern: values), s = UInt(bitPattern: sums)
        Parallel.forRanges(columns, minimumPerTask: 64) { range in
            guard let values = UnsafePointer<Float>(bitPattern: v), let sums = UnsafeMutablePointer<Double>(bitPattern: s) else { return }
            var partial = [Float](repeating: 0, count: range.count)
            partial.withUnsafeMutableBufferPointer { acc in
                for r in 0 ..< rows {
                    let row = values + r * rowStride + range.lowerBound
                    for j in 0 ..< range.count { acc[j] += abs(row[j]) }
                }
                for j in 0 ..< range.count { sums[range.lowerBound + j] += Double(acc[j]) }
            }
        }
    }

    /// AutoAWQ's w_mean: each weight's |w| relative to its group's max |w| (+1e-6), averaged over
    /// every output row of every linear in the group; one value per input channel.
    public static func relativeWeightMean(_ weights: [(pointer: UnsafePointer<Float>, rows: Int)], columns: Int, groupSize: Int) -> [Float] {
        var sums = [Double](repeating: 0, count: columns)
        var totalRows = 0
        var relative = [Float](repeating: 0, count: groupSize)
        for (pointer, rows) in weights {
            totalRows += rows
            for r in 0 ..< rows {
                var c = 0
                while c < columns {
                    let group = pointer + r * columns + c
                    var peak: Float = 0
                    for i in 0 ..< groupSize { peak = max(peak, abs(group[i])) }
                    let inverse = 1 / (peak + 1e-6)
                    for i in 0 ..< groupSize { relative[i] = abs(group[i]) * inverse }
                    for i in 0 ..< groupSize { sums[c + i] += Double(relative[i]) }
                    c += groupSize
                }
            }
        }
        return sums.map { Float($0 / Double(max(totalRows, 1))) }
    }

    /// The per-channel scales for grid point `ratio` (α = ratio), normalised as the reference
    /// (s / √(max·min)); non-finite entries become 1 as AutoAWQ does.
    public static func scales(activationMean: [Float], weightMean: [Float]?, ratio: Float) -> [Float] {
        var s = [Float](repeating: 1, count: activationMean.count)
        for c in s.indices {
            let x = powf(activationMean[c], ratio)
            if let weightMean {
                s[c] = max(x / (powf(weightMean[c], 1 - ratio) + 1e-4), 1e-4)
            } else {
                s[c] = max(x, 1e-4)
            }
        }
        let hi = s.max() ?? 1, lo = s.min() ?? 1
        let norm = (hi * lo).squareRoot()
        for c in s.indices {
            let v = s[c] / norm
            s[c] = v.isFinite ? v : 1
        }
        return s
    }

    /// target = Q(source · diag(s)) · diag(s)⁻¹ for a [rows × columns] weight, rows split across cores.
    public static func scaledFakeQuantize(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
                                          rows: Int, columns: Int, scales: [Float], groupSize: Int) {
        let src = UInt(bitPattern: source), dst = UInt(bitPattern: target)
        scales.withUnsafeBufferPointer { scalesBuffer in
            let sp = UInt(bitPattern: scalesBuffer.baseAddress)
            Parallel.forRanges(rows, minimumPerTask: 16) { range in
                guard let source = UnsafePointer<Float>(bitPattern: src), let target = UnsafeMutablePointer<Float>(bitPattern: dst),
                      let s = UnsafePointer<Float>(bitPattern: sp) else { return }
                for r in range {
                    let from = source + r * columns, to = target + r * columns
                    for c in 0 ..< columns { to[c] = from[c] * s[c] }
                    var c = 0
                    while c < columns {
                        AWQGroupQuantizer.fakeQuantizeGroup(to + c, to + c, count: groupSize)
                        c += groupSize
                    }
                    for c in 0 ..< columns { to[c] /= s[c] }
                }
            }
        }
    }

    /// target −= source over `count` values (split across cores).
    public static func subtract(_ source: UnsafePointer<Float>, from target: UnsafeMutablePointer<Float>, count: Int) {
        let sp = UInt(bitPattern: source), tp = UInt(bitPattern: target)
        Parallel.forRanges(count, minimumPerTask: 1 << 16) { range in
            guard let source = UnsafePointer<Float>(bitPattern: sp), let target = UnsafeMutablePointer<Float>(bitPattern: tp) else { return }
            for i in range { target[i] -= source[i] }
        }
    }

    /// Σ (a − b)² over `count` values (f64 accumulation, split across cores).
    public static func squaredError(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        let pa = UInt(bitPattern: a), pb = UInt(bitPattern: b)
        let tasks = max(1, min(Parallel.cores, count / 65536))
        var partial = [Double](repeating: 0, count: tasks)
        partial.withUnsafeMutableBufferPointer { out in
            let po = UInt(bitPattern: out.baseAddress)
            let size = (count + tasks - 1) / tasks
            Parallel.forEach(tasks) { task in
                guard let a = UnsafePointer<Float>(bitPattern: pa), let b = UnsafePointer<Float>(bitPattern: pb),
                      let out = UnsafeMutablePointer<Double>(bitPattern: po) else { return }
                var sum = 0.0
                var block = task * size
                let end = min(count, block + size)
                while block < end {
                    let stop = min(end, block + 4096)
                    var acc: Float = 0
                    for i in block ..< stop { let d = a[i] - b[i]; acc += d * d }
                    sum += Double(acc)
                    block = stop
                }
                out[task] = sum
            }
        }
        return partial.reduce(0, +)
    }
}
