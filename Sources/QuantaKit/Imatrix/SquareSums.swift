import QuantaCore

/// Σx² per input column over every row a linear received, and the row count: llama-imatrix's
/// `Stats` for a dense weight (imatrix.cpp `collect_imatrix`: `e.values[j] += x[j]*x[j]` in f32,
/// `e.counts[0] += rows`). Rows are added in order, each column's sum rounded in f32 after every
/// row exactly as that loop rounds it (no fused multiply-add: llama-imatrix is built without
/// -march=native, so its loop has none). Columns are split across cores in contiguous ranges.
final class SquareSums: @unchecked Sendable {
    let columns: Int
    private let sums: UnsafeMutablePointer<Float>
    private(set) var rows: Int64 = 0

    init(columns: Int) {
        self.columns = columns
        sums = UnsafeMutablePointer<Float>.allocate(capacity: max(1, columns))
        sums.initialize(repeating: 0, count: max(1, columns))
    }

    deinit { sums.deallocate() }

    /// Adds `rows` rows of `columns` values, `rowStride` apart.
    func add(_ values: UnsafePointer<Float>, rows count: Int, rowStride: Int) {
        guard count > 0 else { return }
        let accumulator = sums, width = columns
        // ≥ 64 columns per task: below that the fork costs more than the loop.
        Parallel.forRanges(width, minimumPerTask: 64) { range in
            for row in 0 ..< count {
                Self.addSquares(values + row * rowStride + range.lowerBound, into: accumulator + range.lowerBound,
                                count: range.count)
            }
        }
        rows += Int64(count)
    }

    /// acc[j] += x[j]·x[j] for j in 0..<count: a product rounded to f32, then a sum rounded to f32.
    @inline(__always)
    private static func addSquares(_ x: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        let rawX = UnsafeRawPointer(x), rawAcc = UnsafeMutableRawPointer(acc)
        while j + 16 <= count {
            let v = rawX.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
            let a = rawAcc.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self)
            rawAcc.storeBytes(of: a + v * v, toByteOffset: j * 4, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count {
            acc[j] = acc[j] + x[j] * x[j]
            j += 1
        }
    }

    var values: [Float] { Array(UnsafeBufferPointer(start: sums, count: columns)) }
}
