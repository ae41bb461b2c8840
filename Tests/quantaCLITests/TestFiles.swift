import Foundation
import Testing

/// A safetensors file's header, read here independently of QuantaFormats (8-byte little-endian
/// length, then a JSON object of name → {dtype, shape, data_offsets}; offsets are relative to the
/// end of the header — huggingface/safetensors README "Format").
struct SafetensorsLayout {
    struct Entry { var dtype: String; var shape: [Int]; var begin: Int; var end: Int }

    var dataStart: Int
    var tensors: [String: Entry]
    var metadata: [String: String]?

    init(path: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try #require(bytes.count >= 8, "\(path): shorter than the 8-byte header length")
        var length = 0
        for i in 0..<8 { length |= Int(bytes[bytes.startIndex + i]) << (8 * i) }
        try #require(length > 0 && 8 + length <= bytes.count, "\(path): header length \(length) out of range")
        let header = bytes.subdata(in: (bytes.startIndex + 8)..<(bytes.startIndex + 8 + length))
        let object = try #require(try JSONSerialization.jsonObject(with: header) as? [String: Any], "\(path): header is not an object")
        dataStart = 8 + length
        tensors = [:]
        metadata = object["__metadata__"] as? [String: String]
        for (name, value) in object where name != "__metadata__" {
            let entry = try #require(value as? [String: Any], "\(path): entry \(name)")
            let offsets = try #require(entry["data_offsets"] as? [Int], "\(path): \(name) data_offsets")
            try #require(offsets.count == 2)
            tensors[name] = Entry(dtype: try #require(entry["dtype"] as? String), shape: try #require(entry["shape"] as? [Int]),
                                  begin: offsets[0], end: offsets[1])
        }
    }
}

/// File-system chores of the tests.
enum TestFiles {
    static let manager = FileManager.default

    /// Every entry of a folder, hidden ones included, sorted.
    static func listing(_ folder: String) throws -> [String] {
        try manager.contentsOfDirectory(atPath: folder).sorted()
    }

    static func copy(_ source: String, to destination: String) throws {
        try manager.copyItem(atPath: source, toPath: destination)
    }

    static func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    static func write(_ data: Data, to path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

    static func exists(_ path: String) -> Bool { manager.fileExists(atPath: path) }

    static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return manager.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }

    static func jsonObject(_ path: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: try bytes(path))
        return try #require(parsed as? [String: Any], "\(path) is not a JSON object")
    }

    /// A JSON object re-serialized with sorted keys, for comparing contents regardless of layout.
    static func canonicalJSON(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The `.safetensors` files of a directory.
    static func safetensorsFiles(in folder: String) throws -> [String] {
        try listing(folder).filter { $0.hasSuffix(".safetensors") }
    }

    /// Little-endian f32 at a byte offset of `data`.
    static func float32(_ data: Data, at offset: Int) -> Float {
        var bits: UInt32 = 0
        for i in 0..<4 { bits |= UInt32(data[data.startIndex + offset + i]) << (8 * i) }
        return Float(bitPattern: bits)
    }
}

/// Every tensor of the `.safetensors` files of a folder (or of one file): dtype, shape, bytes.
struct TensorBytes: Equatable {
    var dtype: String
    var shape: [Int]
    var data: Data

    static func read(_ path: String) throws -> [String: TensorBytes] {
        let files = TestFiles.isDirectory(path)
            ? try TestFiles.safetensorsFiles(in: path).map { path + "/" + $0 } : [path]
        var result: [String: TensorBytes] = [:]
        for file in files {
            let layout = try SafetensorsLayout(path: file)
            let bytes = try TestFiles.bytes(file)
            for (name, entry) in layout.tensors {
                #expect(result[name] == nil, "\(name) appears in more than one file of \(path)")
                let start = bytes.startIndex + layout.dataStart
                result[name] = TensorBytes(dtype: entry.dtype, shape: entry.shape,
                                           data: bytes.subdata(in: (start + entry.begin)..<(start + entry.end)))
            }
        }
        return result
    }
}
