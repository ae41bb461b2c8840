import QuantaCore

/// `torch.Tensor.sum()` / `.mean()` of a contiguous 1-D f32 tensor on CPU, reproduced bit for bit, because
/// double quantization stores `absmax.mean()` and quantizes `absmax - mean`: a last-bit difference in the
/// mean would change bytes.
///
/// torch 2.15's `cascade_sum` (aten/src/ATen/native/cpu/SumKernel.cpp): `vectorized_inner_sum` over
/// 8-lane vectors (the sum kernel is registered without an AVX512 variant, so AVX512 machines run the
/// AVX2 one), each lane summed by `row_sum` (4 interleaved accumulators, `multi_row_sum`'s 4-level
/// cascade), the scalar tail added to 0, then the 8 lanes in order. Above `GRAIN_SIZE` (32768) elements
/// and with several threads, `parallel_reduce` sums one contiguous chunk per thread and then adds the
/// per-thread results. `mean` divides the sum by the count in f32.
public enum TorchFloatSum {
    static let lanes = 8
    static let grainSize = 32768

    public static func mean(_ values: UnsafeBufferPointer<Float>, threads: Int) -> Float {
        guard !values.isEmpty else { return .nan }
        return sum(values, threads: threads) / Float(values.count)
    }

    public static func sum(_ values: UnsafeBufferPointer<Float>, threads: Int) -> Float {
        let n = values.count
        guard n > grainSize, threads > 1 else { return 0 + innerSum(values) }
        // at::parallel_for: min(threads, ceil(n / grain)) tasks of ceil(n / tasks) elements each.
        let tasks = min(threads, (n + grainSize - 1) / grainSize)
        let chunk = (n + tasks - 1) / tasks
        var partials = [Float](repeating: 0, count: threads)
        var start = 0, index = 0
        while start < n {
            partials[index] = 0 + innerSum(UnsafeBufferPointer(rebasing: values[start ..< min(n, start + chunk)]))
            start += chunk
            index += 1
        }
        return partials.withUnsafeBufferPointer { 0 + innerSum($0) }
    }

    /// One `vectorized_inner_sum` (n ≥ 8) or `scalar_inner_sum` row.
    static func innerSum(_ x: UnsafeBufferPointer<Float>) -> Float {
        let n = x.count
        guard n >= lanes else {
            return rowSum(count: n, zero: Float(0)) { x[$0] }
        }
        let vectors = n / lanes
        guard let base = x.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        let accumulated = rowSum(count: vectors, zero: SIMD8<Float>(repeating: 0)) {
            raw.loadUnaligned(fromByteOffset: $0 * lanes * 4, as: SIMD8<Float>.self)
        }
        var total: Float = 0
        for k in vectors * lanes ..< n { total += x[k] }
        for lane in 0 ..< lanes { total += accumulated[lane] }
        return total
    }

    /// `row_sum`: the row seen as (-1, 4), its 4 columns summed by `multiRowSum`, the leftover added to
    /// column 0, then columns 1…3 added to column 0.
    @inline(__always)
    static func rowSum<T: CascadeAddable>(count: Int, zero: T, _ load: (Int) -> T) -> T {
        let ilp = 4
        let rows = count / ilp
        var partial = multiRowSum(rows: rows, zero: zero) { row, column in load(row * ilp + column) }
        for i in rows * ilp ..< count { partial[0] = partial[0] + load(i) }
        for k in 1 ..< ilp { partial[0] = partial[0] + partial[k] }
        return partial[0]
    }

    /// `multi_row_sum` with 4 columns and 4 cascade levels of `2^max(4, ceil(log2(rows)) / 4)` steps.
    @inline(__always)
    static func multiRowSum<T: CascadeAddable>(rows size: Int, zero: T, _ load: (Int, Int) -> T) -> [T] {
        let levels = 4, columns = 4
        let levelPower = max(4, ceilLog2(size) / levels)
        let levelStep = 1 << levelPower
        let levelMask = levelStep - 1
        var acc = [T](repeating: zero, count: levels * columns)
        var i = 0
        while i + levelStep <= size {
            for _ in 0 ..< levelStep {
                for k in 0 ..< columns { acc[k] = acc[k] + load(i, k) }
                i += 1
            }
            for j in 1 ..< levels {
                for k in 0 ..< columns {
                    acc[j * columns + k] = acc[j * columns + k] + acc[(j - 1) * columns + k]
                    acc[(j - 1) * columns + k] = zero
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < size {
            for k in 0 ..< columns { acc[k] = acc[k] + load(i, k) }
            i += 1
        }
        for j in 1 ..< levels {
            for k in 0 ..< columns { acc[k] = acc[k] + acc[j * columns + k] }
        }
        return Array(acc[0 ..< columns])
    }

    /// c10 `llvm::Log2_64_Ceil` as used by `utils::CeilLog2`: 0 for 0 and 1.
    static func ceilLog2(_ x: Int) -> Int {
        guard x > 1 else { return 0 }
        return Int.bitWidth - (x - 1).leadingZeroBitCount
    }
}

/// What the cascade adds: f32 scalars and 8-lane f32 vectors (lane-wise, as ATen's Vectorized<float>).
protocol CascadeAddable { static func + (lhs: Self, rhs: Self) -> Self }
extension Float: CascadeAddable {}
extension SIMD8: CascadeAddable where Scalar == Float {}
