import Foundation
import QuantaCore
import Testing
@testable import QuantaFormats

/// Helpers for the GGUF tests: the sidecars fixtures/make_gguf.py wrote next to each gguf-py file,
/// raw file bytes, byte-level mutation and error matching.
enum GGUFFixtures {
    static let goldenNames = ["all_types", "aligned64", "no_tensors", "empty_array"]
    static let modelPath = FixturePaths.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

    static func path(_ name: String) -> String { FixturePaths.fixture("gguf/\(name).gguf") }

    static func bytes(_ name: String) throws -> [UInt8] { try bytes(atPath: path(name)) }

    static func bytes(atPath path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func sidecar(_ name: String) throws -> JSONValue {
        let raw = try bytes(atPath: FixturePaths.fixture("gguf/\(name).json"))
        return try JSONParser.parse(raw, context: name + ".json")
    }

    /// A value from the sidecar encoding (see make_gguf.py: integers as decimal strings, floats as
    /// hex bit patterns).
    static func value(_ json: JSONValue) throws -> GGUFValue {
        let typeName = try #require(json["type"]?.stringValue)
        let type = try #require(GGUFValueType(name: typeName), "unknown type \(typeName)")
        if type == .array {
            let elementName = try #require(json["element_type"]?.stringValue)
            let elementType = try #require(GGUFValueType(name: elementName))
            let elements = try #require(json["elements"]?.arrayValue).map(value)
            return .array(elementType: elementType, elements: elements)
        }
        if type == .bool {
            guard let flag = json["value"]?.boolValue else {
                throw GGUFError.invalidMetadata(key: "", reason: "sidecar BOOL without a bool value")
            }
            return .bool(flag)
        }
        let text = try #require(json["value"]?.stringValue)
        switch type {
        case .string: return .string(text)
        case .float32: return .float32(Float(bitPattern: try #require(UInt32(text.dropFirst(2), radix: 16))))
        case .float64: return .float64(Double(bitPattern: try #require(UInt64(text.dropFirst(2), radix: 16))))
        case .uint8: return .uint8(try #require(UInt8(text)))
        case .int8: return .int8(try #require(Int8(text)))
        case .uint16: return .uint16(try #require(UInt16(text)))
        case .int16: return .int16(try #require(Int16(text)))
        case .uint32: return .uint32(try #require(UInt32(text)))
        case .int32: return .int32(try #require(Int32(text)))
        case .uint64: return .uint64(try #require(UInt64(text)))
        case .int64: return .int64(try #require(Int64(text)))
        case .bool, .array: throw GGUFError.invalidMetadata(key: "", reason: "unreachable")
        }
    }

    static func metadata(_ sidecar: JSONValue) throws -> [(key: String, value: GGUFValue)] {
        try #require(sidecar["metadata"]?.arrayValue).map { entry in
            (key: try #require(entry["key"]?.stringValue), value: try value(entry))
        }
    }

    struct TensorFacts {
        let name: String
        let type: GGMLType
        let dims: [Int]
        let shape: [Int]
        let elements: Int
        let byteCount: Int
        let offset: Int
    }

    static func tensors(_ sidecar: JSONValue) throws -> [TensorFacts] {
        try #require(sidecar["tensors"]?.arrayValue).map { t in
            let typeName = try #require(t["type"]?.stringValue)
            return TensorFacts(name: try #require(t["name"]?.stringValue),
                        type: try #require(GGMLType(name: typeName)),
                        dims: try #require(t["dims"]?.arrayValue).map { try #require($0.intValue) },
                        shape: try #require(t["shape"]?.arrayValue).map { try #require($0.intValue) },
                        elements: try #require(t["elements"]?.intValue),
                        byteCount: try #require(t["byte_count"]?.intValue),
                        offset: try #require(t["offset"]?.intValue))
        }
    }

    /// nil when equal; else the first differing byte index (or the shorter length).
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        if let index = (0 ..< min(a.count, b.count)).first(where: { a[$0] != b[$0] }) { return index }
        return a.count == b.count ? nil : min(a.count, b.count)
    }

    /// Writes `bytes` to a fresh scratch file and returns its path.
    static func scratchFile(_ bytes: [UInt8], name: String = "mutated.gguf") throws -> String {
        let path = try FixturePaths.scratchDirectory("gguf") + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The index of the first occurrence of `needle` in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) throws -> Int {
        guard needle.count <= haystack.count else { throw GGUFError.missingKey(path: "", key: "needle") }
        for index in start ... (haystack.count - needle.count) where haystack[index] == needle[0] {
            if Array(haystack[index ..< index + needle.count]) == needle { return index }
        }
        throw GGUFError.missingKey(path: "fixture", key: String(decoding: needle, as: UTF8.self))
    }

    /// Offset just past a key (or tensor name) string `text` inside a GGUF header: its value type
    /// (or n_dims) starts here.
    static func afterString(_ text: String, in bytes: [UInt8]) throws -> Int {
        let encoded = Array(text.utf8)
        var length = withUnsafeBytes(of: UInt64(encoded.count).littleEndian) { [UInt8]($0) }
        length.append(contentsOf: encoded)
        return try find(length, in: bytes) + length.count
    }

    static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (index, byte) in raw.enumerated() { bytes[offset + index] = byte }
        }
    }

    static func get<T: FixedWidthInteger>(_: T.Type, at offset: Int, in bytes: [UInt8]) -> T {
        var value: T = 0
        for index in 0 ..< MemoryLayout<T>.size { value |= T(bytes[offset + index]) << (8 * index) }
        return value
    }

    /// Reads `bytes` as a GGUF file and returns the GGUFError it must fail with.
    static func readError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws -> GGUFError {
        let path = try scratchFile(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let file = try GGUFFile(path: path)
            Issue.record("expected an error, read \(file.tensors.count) tensors", sourceLocation: sourceLocation)
            throw GGUFError.missingKey(path: path, key: "<no error>")
        } catch let error as GGUFError {
            return error
        }
    }

    /// Tensor info field offsets for `name`: n_dims, each dim, type, offset.
    struct InfoFields {
        let dimensionCount: Int
        let dims: [Int]
        let type: Int
        let offset: Int
    }

    static func infoFields(_ name: String, in bytes: [UInt8]) throws -> InfoFields {
        let at = try afterString(name, in: bytes)
        let count = Int(get(UInt32.self, at: at, in: bytes))
        let dims = (0 ..< count).map { at + 4 + 8 * $0 }
        let type = at + 4 + 8 * count
        return InfoFields(dimensionCount: at, dims: dims, type: type, offset: type + 4)
    }
}
