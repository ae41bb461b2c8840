/// Overflow-checked shape arithmetic. Every count derived from a file goes through here
/// before it is used to size a buffer or an offset.
public enum ShapeMath {
    /// Product of the dimensions; throws on a negative dimension or on overflow.
    public static func elementCount(_ shape: [Int], context: String) throws -> Int {
        var total = 1
        for dim in shape {
            guard dim >= 0 else { throw CoreError.invalidShape(context: context, shape: shape) }
            let (product, overflow) = total.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw CoreError.overflow(context: "\(context): shape \(shape)") }
            total = product
        }
        return total
    }

    /// `count * size` with an overflow check.
    public static func multiply(_ count: Int, _ size: Int, context: String) throws -> Int {
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, product >= 0 else { throw CoreError.overflow(context: context) }
        return product
    }

    /// `a + b` with an overflow check.
    public static func add(_ a: Int, _ b: Int, context: String) throws -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw CoreError.overflow(context: context) }
        return sum
    }

    /// Byte length of a tensor: elements × dtype size, overflow-checked.
    public static func byteCount(_ shape: [Int], _ dtype: DType, context: String) throws -> Int {
        try multiply(try elementCount(shape, context: context), dtype.byteSize, context: context)
    }
}
