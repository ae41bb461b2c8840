/// GGUF metadata value type ids (ggml docs/gguf.md `gguf_metadata_value_type`, gguf-py `GGUFValueType`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, Hashable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// gguf-py's spelling: "UINT8", "FLOAT32", "ARRAY".
    public var name: String { String(describing: self).uppercased() }

    public init?(name: String) {
        guard let match = GGUFValueType.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = match
    }

    /// Bytes of one value of a fixed-size type; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value of this type can take on disk: a string is at least its u64
    /// length, an array its u32 element type and u64 count. Bounds array counts before allocating.
    var minimumEncodedSize: Int {
        switch self {
        case .string: return 8
        case .array: return 12
        default: return fixedSize ?? 1
        }
    }
}

/// One GGUF metadata value. Integers keep their exact on-disk width and arrays keep their element
/// type (even when empty), so a value read and written back has the same bytes.
/// Equality compares floats by bit pattern, which is what "same bytes" means.
public enum GGUFValue: Sendable, Equatable, CustomStringConvertible {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)
    /// Elements all of `elementType`. Nested arrays (`elementType == .array`) may hold inner arrays
    /// of different element types, as gguf-py writes them.
    case array(elementType: GGUFValueType, elements: [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// Any integer type as `Int`; nil for other types or a UInt64 above `Int.max`.
    public var intValue: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// FLOAT32 or FLOAT64 as `Double` (integers are not floats here: a type mismatch is a finding).
    public var floatValue: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return nil
        }
    }

    public var boolValue: Bool? { if case let .bool(v) = self { return v }; return nil }
    public var stringValue: String? { if case let .string(v) = self { return v }; return nil }

    public var arrayElements: [GGUFValue]? {
        if case let .array(_, elements) = self { return elements }
        return nil
    }

    public var arrayElementType: GGUFValueType? {
        if case let .array(elementType, _) = self { return elementType }
        return nil
    }

    /// A STRING array as `[String]`.
    public var stringArray: [String]? {
        guard case let .array(.string, elements) = self else { return nil }
        var result: [String] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case let .string(s) = element else { return nil }
            result.append(s)
        }
        return result
    }

    /// An array of any integer type as `[Int]`; nil if any element does not fit.
    public var intArray: [Int]? {
        guard case let .array(elementType, elements) = self, elementType != .array, elementType != .string,
              elementType != .bool, elementType != .float32, elementType != .float64 else { return nil }
        var result: [Int] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard let v = element.intValue else { return nil }
            result.append(v)
        }
        return result
    }

    /// A FLOAT32 or FLOAT64 array as `[Double]`.
    public var floatArray: [Double]? {
        guard case let .array(elementType, elements) = self, elementType == .float32 || elementType == .float64 else {
            return nil
        }
        let result = elements.compactMap(\.floatValue)
        return result.count == elements.count ? result : nil
    }

    /// A FLOAT32 array as `[Float]` (token scores).
    public var float32Array: [Float]? {
        guard case let .array(.float32, elements) = self else { return nil }
        var result: [Float] = []
        result.reserveCapacity(elements.count)
        for element in elements {
            guard case let .float32(v) = element else { return nil }
            result.append(v)
        }
        return result
    }

    // Convenience constructors for the common array shapes.
    public static func stringArray(_ values: [String]) -> GGUFValue {
        .array(elementType: .string, elements: values.map { .string($0) })
    }
    public static func int32Array(_ values: [Int32]) -> GGUFValue {
        .array(elementType: .int32, elements: values.map { .int32($0) })
    }
    public static func uint32Array(_ values: [UInt32]) -> GGUFValue {
        .array(elementType: .uint32, elements: values.map { .uint32($0) })
    }
    public static func float32Array(_ values: [Float]) -> GGUFValue {
        .array(elementType: .float32, elements: values.map { .float32($0) })
    }

    public static func == (lhs: GGUFValue, rhs: GGUFValue) -> Bool {
        switch (lhs, rhs) {
        case let (.uint8(a), .uint8(b)): return a == b
        case let (.int8(a), .int8(b)): return a == b
        case let (.uint16(a), .uint16(b)): return a == b
        case let (.int16(a), .int16(b)): return a == b
        case let (.uint32(a), .uint32(b)): return a == b
        case let (.int32(a), .int32(b)): return a == b
        case let (.float32(a), .float32(b)): return a.bitPattern == b.bitPattern
        case let (.bool(a), .bool(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.uint64(a), .uint64(b)): return a == b
        case let (.int64(a), .int64(b)): return a == b
        case let (.float64(a), .float64(b)): return a.bitPattern == b.bitPattern
        case let (.array(ta, ea), .array(tb, eb)): return ta == tb && ea == eb
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .uint8(v): return "\(v) (UINT8)"
        case let .int8(v): return "\(v) (INT8)"
        case let .uint16(v): return "\(v) (UINT16)"
        case let .int16(v): return "\(v) (INT16)"
        case let .uint32(v): return "\(v) (UINT32)"
        case let .int32(v): return "\(v) (INT32)"
        case let .float32(v): return "\(v) (FLOAT32)"
        case let .bool(v): return "\(v) (BOOL)"
        case let .string(v): return v.count > 60 ? "\"\(v.prefix(60))…\" (STRING, \(v.utf8.count) bytes)" : "\"\(v)\" (STRING)"
        case let .uint64(v): return "\(v) (UINT64)"
        case let .int64(v): return "\(v) (INT64)"
        case let .float64(v): return "\(v) (FLOAT64)"
        case let .array(type, elements):
            let head = elements.prefix(4).map(\.description).joined(separator: ", ")
            return "[\(head)\(elements.count > 4 ? ", …" : "")] (ARRAY of \(elements.count) \(type.name))"
        }
    }
}
