import Foundation
import QuantaCore
import QuantaGraph

/// Golden cases from fixtures/bnb/manifest.json (fixtures/make_bnb.py, bitsandbytes 0.50.2).
enum BnbFixtures {
    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case malformed(String)
        var description: String {
            switch self {
            case let .unreadable(path): return "cannot read fixture \(path); run fixtures/make_bnb.py"
            case let .malformed(what): return "malformed fixtures/bnb/manifest.json: \(what)"
            }
        }
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        let path = FixturePaths.fixture("bnb/" + relative)
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path) }
        return [UInt8](data)
    }

    static func floats(_ relative: String) throws -> [Float] { try values(relative, dtype: .f32) }

    /// A raw little-endian file of `dtype` (f32, f16 or bf16), as exact f32 values.
    static func values(_ relative: String, dtype: DType) throws -> [Float] {
        let raw = try bytes(relative)
        guard raw.count % dtype.byteSize == 0 else { throw Failure.malformed("\(relative) is not whole \(dtype.rawValue) values") }
        return raw.withUnsafeBytes { buffer in
            (0 ..< raw.count / dtype.byteSize).map { DTypeConversion.readFloat(buffer.baseAddress!, dtype, $0) }
        }
    }

    static func entries() throws -> [JSONValue] {
        guard let list = try JSONParser.parse(try bytes("manifest.json"), context: "fixtures/bnb/manifest.json").arrayValue else {
            throw Failure.malformed("not a list")
        }
        return list
    }

    static func dtype(_ name: String) throws -> DType {
        switch name {
        case "f32": return .f32
        case "f16": return .f16
        case "bf16": return .bf16
        default: throw Failure.malformed("dtype \(name)")
        }
    }
}

/// A quantize_4bit case.
struct Bnb4BitCase: CustomStringConvertible, Sendable {
    let name: String
    let kind: QuantScheme.Bnb4Kind
    let blockSize: Int
    let doubleQuant: Bool
    let dtype: DType
    let shape: [Int]
    let entry: JSONValue

    var description: String { name }

    func file(_ key: String) throws -> String {
        guard let path = entry[key]?.stringValue else { throw BnbFixtures.Failure.malformed("\(name): no \(key)") }
        return path
    }

    static func all() throws -> [Bnb4BitCase] {
        try BnbFixtures.entries().filter { $0["kind"]?.stringValue == "4bit" }.map { entry in
            guard let name = entry["case"]?.stringValue, let kind = entry["quant_type"]?.stringValue.flatMap(QuantScheme.Bnb4Kind.init),
                  let block = entry["blocksize"]?.intValue, let dq = entry["double_quant"]?.boolValue,
                  let dtypeName = entry["dtype"]?.stringValue, let shape = entry["shape"]?.arrayValue?.compactMap({ $0.intValue })
            else { throw BnbFixtures.Failure.malformed(JSONWriter.compact(entry)) }
            return Bnb4BitCase(name: name, kind: kind, blockSize: block, doubleQuant: dq, dtype: try BnbFixtures.dtype(dtypeName),
                               shape: shape, entry: entry)
        }
    }

    /// Names only, for parameterized tests (the cases are loaded inside each test so a missing fixture fails it).
    static let names: [String] = (try? all().map(\.name)) ?? ["fixtures/bnb/manifest.json is missing"]

    static func named(_ name: String) throws -> Bnb4BitCase {
        guard let found = try all().first(where: { $0.name == name }) else { throw BnbFixtures.Failure.malformed("no case \(name)") }
        return found
    }
}
