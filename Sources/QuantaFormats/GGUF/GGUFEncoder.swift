/// Little-endian serialization of GGUF header pieces into a byte array, in the exact form gguf-py
/// `GGUFWriter._pack_val` produces: strings as u64 length + UTF-8, arrays as element type u32 +
/// count u64 + elements without type tags, BOOL as one byte.
struct GGUFEncoder {
    private(set) var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendString(_ text: String) {
        append(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    /// A value without its type tag (the tag is written by the KV, or once per array).
    mutating func appendValue(_ value: GGUFValue) {
        switch value {
        case let .uint8(v): append(v)
        case let .int8(v): append(v)
        case let .uint16(v): append(v)
        case let .int16(v): append(v)
        case let .uint32(v): append(v)
        case let .int32(v): append(v)
        case let .float32(v): append(v.bitPattern)
        case let .bool(v): append(UInt8(v ? 1 : 0))
        case let .string(v): appendString(v)
        case let .uint64(v): append(v)
        case let .int64(v): append(v)
        case let .float64(v): append(v.bitPattern)
        case let .array(elementType, elements):
            append(elementType.rawValue)
            append(UInt64(elements.count))
            for element in elements { appendValue(element) }
        }
    }

    mutating func appendKeyValue(_ key: String, _ value: GGUFValue) {
        appendString(key)
        append(value.type.rawValue)
        appendValue(value)
    }

    /// A tensor info; `dimensions` in ggml order (gguf-py writes `shape` reversed).
    mutating func appendTensorInfo(name: String, dimensions: [Int], type: GGMLType, relativeOffset: Int) {
        appendString(name)
        append(UInt32(dimensions.count))
        for dim in dimensions { append(UInt64(dim)) }
        append(type.rawValue)
        append(UInt64(relativeOffset))
    }

    mutating func appendZeros(_ count: Int) {
        bytes.append(contentsOf: repeatElement(0, count: count))
    }
}
