import Dispatch

/// Bulk conversion between element types. Float types convert through f32 (f64 ↔ f32 directly),
/// with each narrow type's reference rounding (see `FloatBits`). Integer types convert only to
/// themselves or, for reading values, to f32/f64.
public enum DTypeConversion {
    /// Whether `convert` supports this pair.
    public static func canConvert(from source: DType, to target: DType) -> Bool {
        source == target || (source.isFloatingPoint && target.isFloatingPoint)
            || (target == .f32 || target == .f64)
    }

    /// Converts `count` elements. Large inputs are split across cores.
    public static func convert(_ source: UnsafeRawBufferPointer, from sourceType: DType,
                               into target: UnsafeMutableRawBufferPointer, to targetType: DType,
                               count: Int) throws {
        guard canConvert(from: sourceType, to: targetType) else {
            throw CoreError.unsupportedDType(context: "convert \(sourceType.rawValue) → \(targetType.rawValue)",
                                             dtype: targetType.rawValue)
        }
        guard source.count >= count * sourceType.byteSize, target.count >= count * targetType.byteSize else {
            throw CoreError.outOfBounds(context: "dtype conversion", offset: 0,
                                        need: count * sourceType.byteSize, available: source.count)
        }
        if count == 0 { return }
        guard let sourceBase = source.baseAddress, let targetBase = target.baseAddress else { return }
        if sourceType == targetType {
            targetBase.copyMemory(from: sourceBase, byteCount: count * sourceType.byteSize)
            return
        }
        let chunk = 1 << 18
        let chunks = (count + chunk - 1) / chunk
        let sourceAddress = UInt(bitPattern: sourceBase)
        let targetAddress = UInt(bitPattern: targetBase)
        let work: @Sendable (Int) -> Void = { index in
            let start = index * chunk
            let length = min(chunk, count - start)
            let src = UnsafeRawPointer(bitPattern: sourceAddress)! + start * sourceType.byteSize
            let dst = UnsafeMutableRawPointer(bitPattern: targetAddress)! + start * targetType.byteSize
            convertRange(src, sourceType, dst, targetType, length)
        }
        if chunks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
    }

    /// One contiguous run, no allocation: read each element as f32 (or f64), write it back.
    private static func convertRange(_ src: UnsafeRawPointer, _ from: DType,
                                     _ dst: UnsafeMutableRawPointer, _ to: DType, _ count: Int) {
        if from == .f64 && to == .f64 { dst.copyMemory(from: src, byteCount: count * 8); return }
        if to == .f64 {
            let out = dst.assumingMemoryBound(to: Double.self)
            for i in 0 ..< count { out[i] = readDouble(src, from, i) }
            return
        }
        let out = dst
        switch to {
        case .f32:
            let typed = out.assumingMemoryBound(to: Float.self)
            switch from {
            case .f16:
                let input = src.assumingMemoryBound(to: UInt16.self)
                for i in 0 ..< count { typed[i] = FloatBits.f16ToFloat(input[i]) }
            case .bf16:
                let input = src.assumingMemoryBound(to: UInt16.self)
                for i in 0 ..< count { typed[i] = FloatBits.bf16ToFloat(input[i]) }
            default:
                for i in 0 ..< count { typed[i] = readFloat(src, from, i) }
            }
        case .f16:
            let typed = out.assumingMemoryBound(to: UInt16.self)
            if from == .f32 {
                let input = src.assumingMemoryBound(to: Float.self)
                for i in 0 ..< count { typed[i] = FloatBits.floatToF16(input[i]) }
            } else {
                // f64 → f16 goes through f32 (two roundings), as torch's conversion does.
                for i in 0 ..< count { typed[i] = FloatBits.floatToF16(readFloat(src, from, i)) }
            }
        case .bf16:
            let typed = out.assumingMemoryBound(to: UInt16.self)
            if from == .f32 {
                let input = src.assumingMemoryBound(to: Float.self)
                for i in 0 ..< count { typed[i] = FloatBits.floatToBF16(input[i]) }
            } else {
                for i in 0 ..< count { typed[i] = FloatBits.floatToBF16(readFloat(src, from, i)) }
            }
        case .f8e4m3:
            let typed = out.assumingMemoryBound(to: UInt8.self)
            for i in 0 ..< count { typed[i] = FloatBits.floatToF8E4M3(readFloat(src, from, i)) }
        case .f8e5m2:
            let typed = out.assumingMemoryBound(to: UInt8.self)
            for i in 0 ..< count { typed[i] = FloatBits.floatToF8E5M2(readFloat(src, from, i)) }
        default:
            break  // excluded by canConvert
        }
    }

    /// Element `i` of a buffer of `dtype`, as f32.
    @inline(__always)
    public static func readFloat(_ base: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Float {
        switch dtype {
        case .f32: return base.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
        case .f64: return Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
        case .f16: return FloatBits.f16ToFloat(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .bf16: return FloatBits.bf16ToFloat(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case .f8e4m3: return FloatBits.f8e4m3ToFloat(base.load(fromByteOffset: i, as: UInt8.self))
        case .f8e5m2: return FloatBits.f8e5m2ToFloat(base.load(fromByteOffset: i, as: UInt8.self))
        case .i64: return Float(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        case .i32: return Float(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        case .i16: return Float(base.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case .i8: return Float(base.load(fromByteOffset: i, as: Int8.self))
        case .u8, .bool: return Float(base.load(fromByteOffset: i, as: UInt8.self))
        }
    }

    /// Element `i` as f64 (exact for every type but i64 beyond 2^53).
    @inline(__always)
    public static func readDouble(_ base: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Double {
        switch dtype {
        case .f64: return base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
        case .i64: return Double(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        default: return Double(readFloat(base, dtype, i))
        }
    }
}
