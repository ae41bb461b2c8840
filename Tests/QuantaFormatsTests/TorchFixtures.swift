import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// The torch.save goldens of fixtures/torch (made by fixtures/make_torch.py) and their sidecars.
enum TorchFixtures {
    static func path(_ name: String) -> String { FixturePaths.fixture("torch/" + name) }
    static func malicious(_ name: String) -> String { FixturePaths.fixture("malicious/" + name) }

    /// One tensor as torch described it.
    struct Expected: Sendable {
        let name: String
        let dtype: DType
        let shape: [Int]
        let stride: [Int]
        let storageOffset: Int
        let contiguous: Bool
        /// Row-major little-endian bytes (`tensor.contiguous()`).
        let bytes: [UInt8]
    }

    static func bytes(atPath path: String) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        return Array(file.bytes)
    }

    static func json(atPath path: String) throws -> JSONValue {
        try JSONParser.parse(try bytes(atPath: path), context: path)
    }

    struct MissingField: Error, CustomStringConvertible {
        let description: String
    }

    static func field<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw MissingField(description: "sidecar lacks \(what)") }
        return value
    }

    /// `<stem>.json` + `<stem>.values.bin`, in the order torch listed them.
    static func expected(_ stem: String) throws -> [Expected] {
        let values = try bytes(atPath: path(stem + ".values.bin"))
        let root = try json(atPath: path(stem + ".json"))
        let entries = try field(root["tensors"]?.arrayValue, "tensors")
        return try entries.map { entry in
            let offset = try field(entry["offset"]?.intValue, "offset")
            let length = try field(entry["length"]?.intValue, "length")
            let dtypeName = try field(entry["dtype"]?.stringValue, "dtype")
            return Expected(
                name: try field(entry["name"]?.stringValue, "name"),
                dtype: try field(DType(safetensorsName: dtypeName), "a known dtype"),
                shape: try field(entry["shape"]?.arrayValue, "shape").map { try field($0.intValue, "a dimension") },
                stride: try field(entry["stride"]?.arrayValue, "stride").map { try field($0.intValue, "a stride") },
                storageOffset: try field(entry["storage_offset"]?.intValue, "storage_offset"),
                contiguous: try field(entry["contiguous"]?.boolValue, "contiguous"),
                bytes: Array(values[offset ..< offset + length]))
        }
    }

    /// Payloads holding the expected bytes, for the writer.
    static func payloads(_ stem: String) throws -> [(name: String, payload: TensorPayload)] {
        try expected(stem).map { tensor in
            let view = try tensor.bytes.withUnsafeBytes { try TensorView.copying($0, dtype: tensor.dtype, shape: tensor.shape) }
            return (tensor.name, TensorPayload(view: view))
        }
    }

    static func bytes(of view: TensorView) -> [UInt8] { view.withUnsafeBytes { Array($0) } }

    /// Writes `bytes` to a fresh scratch file and returns its path.
    static func scratchFile(_ bytes: [UInt8], name: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Opens the checkpoint and reads every tensor's bytes (so a bad range would fault here).
    @discardableResult
    static func readEverything(_ path: String) throws -> Int {
        let file = try TorchFile(path: path)
        var checksum = 0
        for tensor in file.tensors {
            let view = try file.view(of: tensor)
            view.withUnsafeBytes { raw in for byte in raw { checksum &+= Int(byte) } }
        }
        return checksum
    }
}
