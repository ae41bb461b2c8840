import QuantaCore
import QuantaFormats

/// GGUF metadata values as JSON (for `inspect --json`) and as plain text (for the text view).
/// Long arrays (token lists, merges) are summarized: element type and count, not 49,152 strings.
enum GGUFValueJSON {
    static let arrayLimit = 64

    static func json(_ value: GGUFValue) -> JSONValue {
        switch value {
        case let .uint8(v): return .int(Int64(v))
        case let .int8(v): return .int(Int64(v))
        case let .uint16(v): return .int(Int64(v))
        case let .int16(v): return .int(Int64(v))
        case let .uint32(v): return .int(Int64(v))
        case let .int32(v): return .int(Int64(v))
        case let .uint64(v): return Int64(exactly: v).map { .int($0) } ?? .double(Double(v))
        case let .int64(v): return .int(v)
        case let .float32(v): return .double(Double(String(v)) ?? Double(v))
        case let .float64(v): return .double(v)
        case let .bool(v): return .bool(v)
        case let .string(v): return .string(v)
        case let .array(elementType, elements):
            if elements.count > arrayLimit {
                return .object(JSONObject([("array_of", .string(elementType.name)), ("count", .int(Int64(elements.count)))]))
            }
            return .array(elements.map(json))
        }
    }

    static func text(_ value: GGUFValue) -> String {
        switch value {
        case let .array(elementType, elements) where elements.count > arrayLimit:
            return "[\(elements.count) × \(elementType.name)]"
        case let .array(_, elements):
            return "[" + elements.map(text).joined(separator: ", ") + "]"
        case let .string(v):
            return v.count > 120 ? JSONWriter.quoted(String(v.prefix(117)) + "…") : JSONWriter.quoted(v)
        default:
            return JSONWriter.compact(json(value))
        }
    }
}
