import Foundation
import QuantaCore
import QuantaFormats

/// One golden case from fixtures/ggml/manifest.json (written by fixtures/make_ggml.py with gguf-py 0.19.0).
struct GGMLFixtureCase: Sendable, CustomStringConvertible {
    enum Kind: String, Sendable { case dequantize, quantize }
    let kind: Kind
    let type: GGMLType
    let name: String
    let count: Int
    /// Raw blocks as gguf-py wrote or read them.
    let blocks: String
    /// gguf-py's dequantization of `blocks`, raw little-endian f32.
    let values: String
    /// The f32 input gguf-py quantized (quantize cases only).
    let input: String?

    var description: String { "\(type.name)/\(name) (\(kind.rawValue), \(count) elements)" }
}

enum GGMLFixtures {
    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(String)
        var description: String {
            switch self {
            case let .unreadable(path): return "cannot read fixture \(path); run fixtures/make_ggml.py"
            case let .malformed(what): return "malformed fixtures/ggml/manifest.json: \(what)"
            }
        }
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        let path = FixturePaths.fixture("ggml/" + relative)
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path) }
        return [UInt8](data)
    }

    /// Little-endian f32 file as bit patterns (so NaN payloads compare exactly).
    static func floatBits(_ relative: String) throws -> [UInt32] {
        let raw = try bytes(relative)
        guard raw.count % 4 == 0 else { throw Failure.malformed("\(relative) is not a whole number of f32") }
        return raw.withUnsafeBytes { buffer in
            (0 ..< raw.count / 4).map { UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
    }

    static func floats(_ relative: String) throws -> [Float] { try floatBits(relative).map(Float.init(bitPattern:)) }

    static func cases() throws -> [GGMLFixtureCase] {
        let json = try JSONParser.parse(try bytes("manifest.json"), context: "fixtures/ggml/manifest.json")
        guard let entries = json["cases"]?.arrayValue else { throw Failure.malformed("no cases array") }
        return try entries.map { entry in
            guard let kind = entry["kind"]?.stringValue.flatMap(GGMLFixtureCase.Kind.init(rawValue:)),
                  let typeName = entry["type"]?.stringValue, let type = GGMLType(name: typeName),
                  let name = entry["case"]?.stringValue, let count = entry["count"]?.intValue,
                  let blocks = entry["blocks"]?.stringValue, let values = entry["values"]?.stringValue
            else { throw Failure.malformed("entry \(JSONWriter.compact(entry))") }
            return GGMLFixtureCase(kind: kind, type: type, name: name, count: count, blocks: blocks,
                                   values: values, input: entry["input"]?.stringValue)
        }
    }

    static func cases(for type: GGMLType, kind: GGMLFixtureCase.Kind? = nil) throws -> [GGMLFixtureCase] {
        try cases().filter { $0.type == type && (kind == nil || $0.kind == kind) }
    }

    /// First differing index and how many differ, for a readable failure message.
    static func mismatch<T: Equatable>(_ actual: [T], _ expected: [T]) -> (first: Int, count: Int)? {
        guard actual.count == expected.count else { return (min(actual.count, expected.count), -1) }
        var first = -1, count = 0
        for i in 0 ..< actual.count where actual[i] != expected[i] {
            if first < 0 { first = i }
            count += 1
        }
        return first < 0 ? nil : (first, count)
    }
}
