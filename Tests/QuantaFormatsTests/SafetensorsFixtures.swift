import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// The safetensors goldens made by fixtures/make_safetensors.py and their JSON sidecars.
enum SafetensorsFixtures {
    /// Files written by `safetensors.torch.save_file`, each with a `<stem>.json` sidecar.
    static let stems = ["dtypes", "special_shapes", "names", "empty", "metadata_only"]

    struct Tensor {
        let name: String
        let dtype: DType
        let shape: [Int]
        let bytes: [UInt8]
    }

    struct Sidecar {
        /// Metadata in the order the reference file holds it; nil when it has none.
        let metadata: [(String, String)]?
        /// Tensor names in file (data offset) order.
        let fileOrder: [String]
        /// Tensors in the order they were given to save_file.
        let tensors: [Tensor]
    }

    static func path(_ relative: String) -> String { FixturePaths.fixture("safetensors/" + relative) }

    static func bytes(atPath path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func json(_ relative: String) throws -> JSONValue {
        try JSONParser.parse(try bytes(atPath: path(relative)), context: relative)
    }

    static func sidecar(_ stem: String) throws -> Sidecar {
        let root = try json("\(stem).json")
        var metadata: [(String, String)]?
        if let pairs = root["metadata"]?.arrayValue {
            metadata = try pairs.map { pair in
                let items = try #require(pair.arrayValue)
                return (try #require(items.first?.stringValue), try #require(items.last?.stringValue))
            }
        }
        let order = try #require(root["file_order"]?.arrayValue).map { try #require($0.stringValue) }
        let tensors = try #require(root["tensors"]?.arrayValue).map { item in
            let dtypeName = try #require(item["dtype"]?.stringValue)
            return Tensor(name: try #require(item["name"]?.stringValue),
                   dtype: try #require(DType(safetensorsName: dtypeName)),
                   shape: try #require(item["shape"]?.arrayValue).map { try #require($0.intValue) },
                   bytes: try hexBytes(try #require(item["hex"]?.stringValue)))
        }
        return Sidecar(metadata: metadata, fileOrder: order, tensors: tensors)
    }

    static func hexBytes(_ text: String) throws -> [UInt8] {
        let digits = Array(text.utf8)
        try #require(digits.count % 2 == 0)
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: throw SafetensorsError.invalidByteSize(text: "bad hex in fixture")
            }
        }
        return try stride(from: 0, to: digits.count, by: 2).map { try nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }

    /// Payloads built from the sidecar's raw bytes, in the order given to save_file.
    static func payloads(_ sidecar: Sidecar) throws -> [(name: String, payload: TensorPayload)] {
        try sidecar.tensors.map { tensor in
            let view = try tensor.bytes.withUnsafeBytes { try TensorView.copying($0, dtype: tensor.dtype, shape: tensor.shape) }
            return (tensor.name, TensorPayload(view: view))
        }
    }

    static func viewBytes(_ view: TensorView) -> [UInt8] {
        view.withUnsafeBytes { [UInt8]($0) }
    }

    /// Index of the first differing byte, for readable failures.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        if let index = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset { return index }
        return a.count == b.count ? nil : min(a.count, b.count)
    }

    static func writeBytes(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
