/// What a writer does with NaN/±Inf it finds in a tensor's values.
public enum NonFinitePolicy: Sendable, Equatable {
    /// Stop with an error naming the tensor (the default: a NaN weight is almost always a broken checkpoint).
    case refuse
    /// Write them as they are and say so on stderr (`--allow-nonfinite`).
    case allow
}

/// The checks a writer runs on one tensor while it streams it (`TensorPayload.check`): NaN/±Inf in
/// the values follow `nonFinite`; a conversion to a narrower float type that turns a finite value
/// into ±Inf is refused whatever the policy (that infinity was not in the input).
public struct ValueCheck: Sendable {
    public var tensor: String
    public var nonFinite: NonFinitePolicy
    /// Counts the values of source bytes whose dtype does not say how to read them (ggml blocks are
    /// U8 bytes); nil scans by dtype.
    public var sourceScan: (@Sendable (UnsafeRawBufferPointer) throws -> ValueStats)?

    public init(tensor: String, nonFinite: NonFinitePolicy = .refuse,
                sourceScan: (@Sendable (UnsafeRawBufferPointer) throws -> ValueStats)? = nil) {
        self.tensor = tensor
        self.nonFinite = nonFinite
        self.sourceScan = sourceScan
    }

    /// Applies the policy to what a whole tensor's scan found: throws when refusing, warns when allowing.
    public func conclude(_ stats: ValueStats) throws {
        guard stats.nonFinite > 0 else { return }
        let error = ValueCheckError.nonFinite(tensor: tensor, stats: stats)
        switch nonFinite {
        case .refuse: throw error
        case .allow:
            ProgressReporter.warn("tensor '\(tensor)' has \(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0)); written as they are (--allow-nonfinite)")
        }
    }
}

/// Why a writer refused a tensor's values.
public enum ValueCheckError: Error, CustomStringConvertible, Sendable, Equatable {
    /// NaN or ±Inf among the values.
    case nonFinite(tensor: String, stats: ValueStats)
    /// A conversion to `dtype` would turn `count` finite values into ±Inf.
    case overflow(tensor: String, dtype: DType, count: Int, firstIndex: Int, firstValue: Double)

    public var description: String {
        switch self {
        case let .nonFinite(tensor, stats):
            return "tensor '\(tensor)' has \(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0) of \(stats.count)): "
                + "refusing to write it; pass --allow-nonfinite to keep non-finite values as they are"
        case let .overflow(tensor, dtype, count, first, value):
            return "tensor '\(tensor)': \(count) finite value\(count == 1 ? "" : "s") overflow\(count == 1 ? "s" : "") \(dtype.rawValue) to infinity "
                + "(first at element \(first): \(value)): refusing to write \(count == 1 ? "it" : "them"); keep this tensor in a wider type (bf16 or f32)"
        }
    }
}

extension DTypeConversion {
    /// Largest finite magnitude of a float type (E4M3FN saturates instead of overflowing: none).
    static func largestFinite(_ dtype: DType) -> Double? {
        switch dtype {
        case .f64: return Double.greatestFiniteMagnitude
        case .f32: return Double(Float.greatestFiniteMagnitude)
        case .bf16: return Double(FloatBits.bf16ToFloat(0x7F7F))
        case .f16: return 65504
        case .f8e5m2: return 57344
        default: return nil
        }
    }

    /// Whether converting `source` to `target` can turn a finite value into ±Inf.
    public static func canOverflow(from source: DType, to target: DType) -> Bool {
        guard source.isFloatingPoint, let range = largestFinite(target) else { return false }
        let sourceRange = source == .f8e4m3 ? 448 : (largestFinite(source) ?? 0)
        return sourceRange > range
    }

    /// `convert`, then refuses finite values that became ±Inf (f32 → f16 above 65504, …), naming
    /// `tensor`; `offset` is the index of the first element within it.
    public static func convert(_ source: UnsafeRawBufferPointer, from sourceType: DType,
                               into target: UnsafeMutableRawBufferPointer, to targetType: DType, count: Int,
                               refusingOverflowIn tensor: String, offset: Int = 0) throws {
        try convert(source, from: sourceType, into: target, to: targetType, count: count)
        guard canOverflow(from: sourceType, to: targetType) else { return }
        if let (overflows, first) = overflow(source, sourceType, UnsafeRawBufferPointer(target), targetType, count) {
            let value = source.baseAddress.map { readDouble($0, sourceType, first) } ?? 0
            throw ValueCheckError.overflow(tensor: tensor, dtype: targetType, count: overflows, firstIndex: offset + first, firstValue: value)
        }
    }

    /// How many finite source values became ±Inf, and the first one's index.
    static func overflow(_ source: UnsafeRawBufferPointer, _ sourceType: DType, _ target: UnsafeRawBufferPointer,
                         _ targetType: DType, _ count: Int) -> (count: Int, first: Int)? {
        guard ValueScan.scan(target, dtype: targetType, count: count).infinite > 0,
              let src = source.baseAddress, let dst = target.baseAddress else { return nil }
        var overflows = 0
        var first: Int?
        for i in 0 ..< count where !Double(readFloat(dst, targetType, i)).isFinite && readDouble(src, sourceType, i).isFinite {
            overflows += 1
            if first == nil { first = i }
        }
        return first.map { (overflows, $0) }
    }
}
