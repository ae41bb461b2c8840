import QuantaCore

/// Asymmetric round-to-nearest 4-bit quantization per group of `groupSize` consecutive inputs of
/// one output row, with a zero point — AutoAWQ's `pseudo_quantize_tensor` (zero_point=True):
///   scale = max(max − min, 1e-5) / 15,  zero = clamp(−round(min / scale), 0, 15),
///   code  = clamp(round(w / scale) + zero, 0, 15),  w' = (code − zero) · scale.
/// The scale is rounded to f16 first (the layout stores f16 scales, and AutoAWQ's `from_linear`
/// divides by the f16 scale), so w' is exactly what a loader decodes: f32(code − zero) · f32(scale16).
/// Rounding is half-to-even, as torch.round.
public enum AWQGroupQuantizer {
    public static let maxCode: Float = 15
    /// AutoAWQ clamps the range to at least 1e-5 so constant groups get a usable scale.
    static let minimumRange: Float = 1e-5

    /// Scale (as f16 bits and its f32 value) and zero point of one group.
    @inline(__always)
    public static func parameters(minimum: Float, maximum: Float) -> (scaleBits: UInt16, scale: Float, zero: Float) {
        // A range beyond f16 (|w| > 65504·15/2) saturates to f16's largest scale; codes then clamp.
        let wanted = min(max(maximum - minimum, minimumRange) / maxCode, Float(Float16.greatestFiniteMagnitude))
        let bits = wanted.isNaN ? Float16(1).bitPattern : Float16(wanted).bitPattern
        let scale = Float(Float16(bitPattern: bits))
        let zero = min(max(-(minimum / scale).rounded(.toNearestOrEven), 0), maxCode)
        return (bits, scale, zero)
    }

    @inline(__always)
    static func code(_ w: Float, scale: Float, zero: Float) -> Float {
        let v = (w / scale).rounded(.toNearestOrEven) + zero
        // `!(v >= 0)` also catches NaN, so a non-finite weight can never trap the UInt8 conversion.
        return v >= 0 ? min(v, maxCode) : 0
    }

    /// Quantize-dequantize `count` values of one group from `source` into `target` (may alias).
    @inline(__always)
    public static func fakeQuantizeGroup(_ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, count: Int) {
        var lo = Float.infinity, hi = -Float.infinity
        for i in 0 ..< count { lo = min(lo, source[i]); hi = max(hi, source[i]) }
        let (_, scale, zero) = parameters(minimum: lo, maximum: hi)
        for i in 0 ..< count { target[i] = (code(source[i], scale: scale, zero: zero) - zero) * scale }
    }

    /// Quantize-dequantize a [rows × columns] matrix group by group, rows split across cores.
    public static func fakeQuantize(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>,
                                    rows: Int, columns: Int, groupSize: Int) {
        let s = UInt(bitPattern: source), t = UInt(bitPattern: target)
        Parallel.forRanges(rows, minimumPerTask: 16) { range in
            guard let source = UnsafePointer<Float>(bitPattern: s), let target = UnsafeMutablePointer<Float>(bitPattern: t) else { return }
            for r in range {
                var c = 0
                while c < columns {
                    fakeQuantizeGroup(source + r * columns + c, target + r * columns + c, count: groupSize)
                    c += groupSize
                }
            }
        }
    }

    /// Quantizes a [rows × columns] weight (row-major, HF [out, in]); `columns % groupSize == 0`.
    public static func quantize(_ weights: UnsafePointer<Float>, rows: Int, columns: Int, groupSize: Int) -> AWQQuantizedWeight {
        let groups = columns / groupSize
        var codes = [UInt8](repeating: 0, count: rows * columns)
        var zeros = [UInt8](repeating: 0, count: rows * groups)
        var scales = [UInt16](repeating: 0, count: rows * groups)
        let w = UInt(bitPattern: weights)
        codes.withUnsafeMutableBufferPointer { codesBuffer in
            zeros.withUnsafeMutableBufferPointer { zerosBuffer in
                scales.withUnsafeMutableBufferPointer { scalesBuffer in
                    let cp = UInt(bitPattern: codesBuffer.baseAddress), zp = UInt(bitPattern: zerosBuffer.baseAddress)
                    let sp = UInt(bitPattern: scalesBuffer.baseAddress)
                    Parallel.forRanges(rows, minimumPerTask: 16) { range in
                        guard let weights = UnsafePointer<Float>(bitPattern: w), let codes = UnsafeMutablePointer<UInt8>(bitPattern: cp),
                              let zeros = UnsafeMutablePointer<UInt8>(bitPattern: zp),
                              let scales = UnsafeMutablePointer<UInt16>(bitPattern: sp) else { return }
                        for r in range {
                            for g in 0 ..< groups {
                                let base = r * columns + g * groupSize
                                var lo = Float.infinity, hi = -Float.infinity
                                for i in 0 ..< groupSize { lo = min(lo, weights[base + i]); hi = max(hi, weights[base + i]) }
                                let (bits, scale, zero) = parameters(minimum: lo, maximum: hi)
                                scales[r * groups + g] = bits
                                zeros[r * groups + g] = UInt8(zero)
                                for i in 0 ..< groupSize { codes[base + i] = UInt8(code(weights[base + i], scale: scale, zero: zero)) }
                            }
                        }
                    }
                }
            }
        }
        return AWQQuantizedWeight(rows: rows, columns: columns, groupSize: groupSize, codes: codes, zeros: zeros, scales: scales)
    }
}

extension AWQGroupQuantizer {
    /// `quantize`, refusing what the layout cannot store: NaN/±Inf weights (the kernel codes them 0)
    /// and groups whose range needs a scale beyond float16 (the kernel saturates the scale and
    /// clamps the codes). Errors name `tensor`.
    public static func quantize(_ weights: UnsafePointer<Float>, rows: Int, columns: Int, groupSize: Int,
                                tensor: String) throws -> AWQQuantizedWeight {
        let stats = ValueScan.scan(UnsafeBufferPointer(start: weights, count: rows * columns))
        guard stats.nonFinite == 0 else {
            throw AWQError.nonFinite(tensor: tensor, what: "\(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0))")
        }
        let q = quantize(weights, rows: rows, columns: columns, groupSize: groupSize)
        let groups = q.groups
        let largest = Float16.greatestFiniteMagnitude.bitPattern
        for (index, bits) in q.scales.enumerated() {
            let scale = Float(Float16(bitPattern: bits))
            guard scale.isFinite, scale > 0 else {
                throw AWQError.nonFinite(tensor: tensor, what: "a scale of \(scale) (row \(index / groups), group \(index % groups))")
            }
            guard bits == largest else { continue }
            // A saturated scale: refuse it when the group's range really needed more.
            let base = weights + (index / groups) * columns + (index % groups) * groupSize
            var lo = Float.infinity, hi = -Float.infinity
            for i in 0 ..< groupSize { lo = min(lo, base[i]); hi = max(hi, base[i]) }
            if (hi - lo) / maxCode > Float(Float16.greatestFiniteMagnitude) {
                throw AWQError.nonFinite(tensor: tensor, what: "a group whose range \(hi - lo) needs a scale beyond float16's largest value (row \(index / groups), group \(index % groups))")
            }
        }
        return q
    }
}

/// A weight quantized for AWQ, unpacked: one code per weight, one zero and f16 scale per
/// (output row, group). Row-major in HF's [out, in] orientation.
public struct AWQQuantizedWeight: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let groupSize: Int
    public let codes: [UInt8]       // [rows × columns], 0...15
    public let zeros: [UInt8]       // [rows × groups], 0...15
    public let scales: [UInt16]     // [rows × groups], f16 bits

    public init(rows: Int, columns: Int, groupSize: Int, codes: [UInt8], zeros: [UInt8], scales: [UInt16]) {
        self.rows = rows
        self.columns = columns
        self.groupSize = groupSize
        self.codes = codes
        self.zeros = zeros
        self.scales = scales
    }

    public var groups: Int { columns / groupSize }

    /// The weight a loader decodes: f32(code − zero) · f32(scale16), [rows × columns].
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        out.withUnsafeMutableBufferPointer { dequantize(into: $0.baseAddress!) }
        return out
    }

    public func dequantize(into target: UnsafeMutablePointer<Float>) {
        let groups = self.groups
        for r in 0 ..< rows {
            for g in 0 ..< groups {
                let scale = Float(Float16(bitPattern: scales[r * groups + g]))
                let zero = Int(zeros[r * groups + g])
                let base = r * columns + g * groupSize
                for i in 0 ..< groupSize { target[base + i] = Float(Int(codes[base + i]) - zero) * scale }
            }
        }
    }
}
