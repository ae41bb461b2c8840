/// What a scan of tensor values found: how many are NaN, ±Inf or zero, and where the first
/// non-finite one is. Integer dtypes have no non-finite values and count no zeros (an all-zero
/// `g_idx` or bias of codes is not a finding).
public struct ValueStats: Sendable, Equatable {
    public var count = 0
    public var nan = 0
    public var infinite = 0
    public var zeros = 0
    /// Element index (from the start of what was scanned) of the first NaN or ±Inf.
    public var firstNonFinite: Int?

    public init() {}

    public var nonFinite: Int { nan + infinite }
    /// Every value is ±0 (and there is at least one).
    public var allZero: Bool { count > 0 && zeros == count }

    /// Adds the scan of the elements that follow those already counted.
    public mutating func append(_ next: ValueStats) {
        if firstNonFinite == nil, let first = next.firstNonFinite { firstNonFinite = count + first }
        count += next.count
        nan += next.nan
        infinite += next.infinite
        zeros += next.zeros
    }

    /// "1 NaN", "2 infinite values", "1 NaN and 3 infinite values".
    public var nonFiniteDescription: String {
        var parts: [String] = []
        if nan > 0 { parts.append("\(nan) NaN") }
        if infinite > 0 { parts.append("\(infinite) infinite value\(infinite == 1 ? "" : "s")") }
        return parts.isEmpty ? "no non-finite values" : parts.joined(separator: " and ")
    }
}

/// Counts NaN, ±Inf and zeros in raw tensor bytes by their bit patterns (no conversion, so a
/// scan costs one read of the bytes). Large runs are split across cores.
public enum ValueScan {
    /// Elements per task when a run is split across cores.
    static let elementsPerTask = 1 << 20

    /// Scans `count` little-endian elements of `dtype` at the start of `bytes`.
    public static func scan(_ bytes: UnsafeRawBufferPointer, dtype: DType, count: Int) -> ValueStats {
        var total = ValueStats()
        guard dtype.isFloatingPoint else {
            total.count = count
            return total
        }
        guard count > 0, let base = bytes.baseAddress, bytes.count >= count * dtype.byteSize else { return total }
        let tasks = (count + elementsPerTask - 1) / elementsPerTask
        if tasks == 1 { return scanRange(base, dtype, 0 ..< count) }
        var parts = [ValueStats](repeating: ValueStats(), count: tasks)
        let address = UInt(bitPattern: base)
        parts.withUnsafeMutableBufferPointer { out in
            Parallel.forEach(tasks) { task in
                guard let base = UnsafeRawPointer(bitPattern: address) else { return }
                let start = task * elementsPerTask
                out[task] = scanRange(base, dtype, start ..< min(count, start + elementsPerTask))
            }
        }
        for part in parts { total.append(part) }
        return total
    }

    /// Scans a view's values in chunks, dropping each chunk's mapped pages once read, so RSS stays
    /// near one chunk (a later copy reads the page cache, not this mapping).
    public static func scan(_ view: TensorView) -> ValueStats {
        var stats = ValueStats()
        guard view.dtype.isFloatingPoint else {
            stats.count = view.elementCount
            return stats
        }
        let chunk = 1 << 22, size = view.dtype.byteSize
        view.withUnsafeBytes { raw in
            var start = 0
            while start < view.elementCount {
                let count = min(chunk, view.elementCount - start)
                stats.append(scan(UnsafeRawBufferPointer(rebasing: raw[(start * size) ..< ((start + count) * size)]),
                                  dtype: view.dtype, count: count))
                if let (file, offset) = view.mappedLocation { file.release(offset: offset + start * size, count: count * size) }
                start += count
            }
        }
        return stats
    }

    /// Scans f32 values.
    public static func scan(_ values: UnsafeBufferPointer<Float>) -> ValueStats {
        scan(UnsafeRawBufferPointer(values), dtype: .f32, count: values.count)
    }

    /// One run, on the calling thread.
    static func scanRange(_ base: UnsafeRawPointer, _ dtype: DType, _ range: Range<Int>) -> ValueStats {
        switch dtype {
        case .f64: return scanBits(base, range, UInt64.self, exponent: 0x7FF0_0000_0000_0000, mantissa: 0x000F_FFFF_FFFF_FFFF)
        case .f32: return scanBits(base, range, UInt32.self, exponent: 0x7F80_0000, mantissa: 0x007F_FFFF)
        case .f16: return scanBits(base, range, UInt16.self, exponent: 0x7C00, mantissa: 0x03FF)
        case .bf16: return scanBits(base, range, UInt16.self, exponent: 0x7F80, mantissa: 0x007F)
        case .f8e5m2: return scanBits(base, range, UInt8.self, exponent: 0x7C, mantissa: 0x03)
        case .f8e4m3: return scanE4M3(base, range)
        default:
            var stats = ValueStats()
            stats.count = range.count
            return stats
        }
    }

    /// IEEE-style layouts: all exponent bits set is ±Inf (mantissa 0) or NaN.
    @inline(__always)
    static func scanBits<T: FixedWidthInteger & UnsignedInteger>(_ base: UnsafeRawPointer, _ range: Range<Int>, _: T.Type,
                                                                exponent: T, mantissa: T) -> ValueStats {
        var stats = ValueStats()
        stats.count = range.count
        let magnitudeMask = exponent | mantissa
        let size = MemoryLayout<T>.size
        // First pass: zeros and how many are special, branch-free so it vectorizes.
        var zeros = 0
        var special = 0
        for i in range {
            let magnitude = T(littleEndian: base.loadUnaligned(fromByteOffset: i * size, as: T.self)) & magnitudeMask
            zeros &+= magnitude == 0 ? 1 : 0
            special &+= (magnitude & exponent) == exponent ? 1 : 0
        }
        stats.zeros = zeros
        guard special > 0 else { return stats }
        for i in range {
            let magnitude = T(littleEndian: base.loadUnaligned(fromByteOffset: i * size, as: T.self)) & magnitudeMask
            guard magnitude & exponent == exponent else { continue }
            if magnitude & mantissa != 0 { stats.nan += 1 } else { stats.infinite += 1 }
            if stats.firstNonFinite == nil { stats.firstNonFinite = i - range.lowerBound }
        }
        return stats
    }

    /// OCP E4M3FN has no infinity; S.1111.111 is NaN.
    static func scanE4M3(_ base: UnsafeRawPointer, _ range: Range<Int>) -> ValueStats {
        var stats = ValueStats()
        stats.count = range.count
        for i in range {
            let magnitude = base.load(fromByteOffset: i, as: UInt8.self) & 0x7F
            if magnitude == 0 { stats.zeros += 1 }
            if magnitude == 0x7F {
                stats.nan += 1
                if stats.firstNonFinite == nil { stats.firstNonFinite = i - range.lowerBound }
            }
        }
        return stats
    }
}
