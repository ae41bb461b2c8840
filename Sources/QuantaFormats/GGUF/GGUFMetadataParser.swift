/// Reads the key/value section of a GGUF header (layout: ggml docs/gguf.md `gguf_metadata_kv_t`):
/// key (u64 length + UTF-8), value type u32, value; an array value is element type u32, count u64,
/// then the elements. Every count is checked against a cap and against the bytes left first.
enum GGUFMetadataParser {
    static func parseEntries(_ cursor: inout GGUFCursor, count rawCount: UInt64, countOffset: Int)
        throws -> [(key: String, value: GGUFValue)]
    {
        let count = try checkedCount(rawCount, cap: GGUFLimits.maxMetadataCount,
                                     minimumBytes: GGUFLimits.minimumMetadataEntryBytes,
                                     what: "metadata key/value count", cursor: cursor, offset: countOffset)
        var entries: [(key: String, value: GGUFValue)] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        seen.reserveCapacity(count)
        for index in 0 ..< count {
            let keyOffset = cursor.offset
            let key = try cursor.string(limit: GGUFLimits.maxKeyBytes, "metadata key #\(index)")
            guard !key.isEmpty else { throw GGUFError.emptyKey(path: cursor.path, offset: keyOffset) }
            guard seen.insert(key).inserted else {
                throw GGUFError.duplicateKey(path: cursor.path, key: key, offset: keyOffset)
            }
            let typeOffset = cursor.offset
            let typeID = try cursor.u32("value type of '\(key)'")
            guard let type = GGUFValueType(rawValue: typeID) else {
                throw GGUFError.invalidValueType(path: cursor.path, key: key, typeID: typeID, offset: typeOffset)
            }
            let value = try parseValue(&cursor, type: type, key: key, depth: 0)
            entries.append((key: key, value: value))
        }
        return entries
    }

    /// A count read from the file, as `Int`, refused above `cap` or above what the bytes left
    /// could hold at `minimumBytes` per entry (so nothing is allocated for entries that cannot exist).
    static func checkedCount(_ raw: UInt64, cap: Int, minimumBytes: Int, what: String,
                             cursor: GGUFCursor, offset: Int) throws -> Int
    {
        guard raw <= UInt64(cap) else {
            throw GGUFError.limitExceeded(path: cursor.path, what: what, value: raw, limit: UInt64(cap), offset: offset)
        }
        let fitting = cursor.remaining / minimumBytes
        guard raw <= UInt64(fitting) else {
            throw GGUFError.limitExceeded(path: cursor.path,
                                          what: "\(what) (the \(cursor.remaining) bytes left hold at most \(fitting))",
                                          value: raw, limit: UInt64(fitting), offset: offset)
        }
        return Int(raw)
    }

    /// One value of `type`. `depth` counts the arrays around it.
    static func parseValue(_ cursor: inout GGUFCursor, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.u8("UINT8 value of '\(key)'"))
        case .int8: return .int8(try cursor.i8("INT8 value of '\(key)'"))
        case .uint16: return .uint16(try cursor.u16("UINT16 value of '\(key)'"))
        case .int16: return .int16(try cursor.i16("INT16 value of '\(key)'"))
        case .uint32: return .uint32(try cursor.u32("UINT32 value of '\(key)'"))
        case .int32: return .int32(try cursor.i32("INT32 value of '\(key)'"))
        case .float32: return .float32(try cursor.f32("FLOAT32 value of '\(key)'"))
        case .uint64: return .uint64(try cursor.u64("UINT64 value of '\(key)'"))
        case .int64: return .int64(try cursor.i64("INT64 value of '\(key)'"))
        case .float64: return .float64(try cursor.f64("FLOAT64 value of '\(key)'"))
        case .bool:
            // docs/gguf.md: "1-byte value where 0 is false and 1 is true. Anything else is invalid".
            let at = cursor.offset
            let byte = try cursor.u8("BOOL value of '\(key)'")
            guard byte <= 1 else { throw GGUFError.invalidBool(path: cursor.path, key: key, byte: byte, offset: at) }
            return .bool(byte == 1)
        case .string:
            return .string(try cursor.string(limit: GGUFLimits.maxStringBytes, "STRING value of '\(key)'"))
        case .array:
            return try parseArray(&cursor, key: key, depth: depth + 1)
        }
    }

    private static func parseArray(_ cursor: inout GGUFCursor, key: String, depth: Int) throws -> GGUFValue {
        let typeOffset = cursor.offset
        let typeID = try cursor.u32("array element type of '\(key)'")
        guard let elementType = GGUFValueType(rawValue: typeID) else {
            throw GGUFError.invalidValueType(path: cursor.path, key: key, typeID: typeID, offset: typeOffset)
        }
        if elementType == .array && depth >= GGUFLimits.maxArrayNestingDepth {
            throw GGUFError.limitExceeded(path: cursor.path, what: "array nesting depth of '\(key)'",
                                          value: UInt64(depth + 1), limit: UInt64(GGUFLimits.maxArrayNestingDepth),
                                          offset: typeOffset)
        }
        let countOffset = cursor.offset
        let rawCount = try cursor.u64("array element count of '\(key)'")
        let count = try checkedCount(rawCount, cap: GGUFLimits.maxArrayElements,
                                     minimumBytes: elementType.minimumEncodedSize,
                                     what: "element count of array '\(key)'", cursor: cursor, offset: countOffset)
        var elements: [GGUFValue] = []
        elements.reserveCapacity(count)
        for _ in 0 ..< count {
            elements.append(try parseValue(&cursor, type: elementType, key: key, depth: depth))
        }
        return .array(elementType: elementType, elements: elements)
    }
}
