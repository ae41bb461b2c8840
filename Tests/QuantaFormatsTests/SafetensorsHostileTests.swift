import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// Hostile files: the reference refuses to write them, so they are made here by mutating the
/// bytes of a valid reference file. Each must end in a clear error naming the file (and the
/// tensor where there is one), and a conversion reading it must leave nothing behind.
@Suite("Safetensors hostile input")
struct SafetensorsHostileTests {
    /// special_shapes.safetensors: its header text and its 18-byte data section.
    static func original() throws -> (header: [UInt8], data: [UInt8]) {
        let bytes = try SafetensorsFixtures.bytes(atPath: SafetensorsFixtures.path("special_shapes.safetensors"))
        let length = bytes[0 ..< 8].reversed().reduce(0) { $0 << 8 | Int($1) }
        return (Array(bytes[8 ..< 8 + length]), Array(bytes[(8 + length)...]))
    }

    static func assemble(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        var header = header
        while header.count % 8 != 0 { header.append(0x20) }
        let length = declaredLength ?? UInt64(header.count)
        return (0 ..< 8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + header + data
    }

    /// The original file with `old` replaced by `new` in its header text.
    static func replacing(_ old: String, with new: String) throws -> [UInt8] {
        let (header, data) = try original()
        let text = String(decoding: header, as: UTF8.self)
        try #require(text.contains(old), "fixture header lacks \(old)")
        let mutated = text.replacingOccurrences(of: old, with: new).trimmingCharacters(in: .whitespaces)
        return assemble(header: Array(mutated.utf8), data: data)
    }

    enum Expected {
        case error(SafetensorsError)
        /// Any SafetensorsError whose message contains these words.
        case mentions([String])
    }

    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let bytes: @Sendable () throws -> [UInt8]
        let tensor: String?
        let check: @Sendable (SafetensorsError, String) -> Bool
    }

    static let file = "hostile.safetensors"

    static let cases: [Case] = [
        Case(description: "empty file", bytes: { [] }, tensor: nil) { error, path in
            error == .fileTooSmall(file: path, size: 0)
        },
        Case(description: "truncated inside the length", bytes: { Array(try original().header.prefix(5)) }, tensor: nil) { error, path in
            error == .fileTooSmall(file: path, size: 5)
        },
        Case(description: "truncated inside the header", bytes: {
            Array(assemble(header: try original().header, data: try original().data).prefix(100))
        }, tensor: nil) { error, path in
            error == .headerPastEnd(file: path, length: 480, fileSize: 100)
        },
        Case(description: "truncated data section", bytes: {
            let (header, data) = try original()
            return assemble(header: header, data: Array(data.dropLast()))
        }, tensor: nil) { error, path in
            error == .dataSizeMismatch(file: path, covered: 18, dataSection: 17)
        },
        Case(description: "data section longer than declared", bytes: {
            let (header, data) = try original()
            return assemble(header: header, data: data + [0, 0, 0, 0])
        }, tensor: nil) { error, path in
            error == .dataSizeMismatch(file: path, covered: 18, dataSection: 22)
        },
        Case(description: "header length past the end", bytes: {
            let (header, data) = try original()
            return assemble(header: header, data: data, declaredLength: 499)
        }, tensor: nil) { error, path in
            error == .headerPastEnd(file: path, length: 499, fileSize: 506)
        },
        Case(description: "header over the 100 MB cap", bytes: {
            let (header, data) = try original()
            return assemble(header: header, data: data, declaredLength: 100_000_001)
        }, tensor: nil) { error, path in
            error == .headerTooLarge(file: path, length: 100_000_001, limit: 100_000_000)
        },
        Case(description: "header length 2^64-1", bytes: {
            let (header, data) = try original()
            return assemble(header: header, data: data, declaredLength: .max)
        }, tensor: nil) { error, path in
            error == .headerTooLarge(file: path, length: .max, limit: 100_000_000)
        },
        Case(description: "overlapping offsets", bytes: {
            try replacing(#""data_offsets":[8,12]"#, with: #""data_offsets":[4,8]"#)
        }, tensor: "one") { error, path in
            error == .offsetMismatch(file: path, tensor: "one", begin: 4, end: 8, expectedBegin: 8)
        },
        Case(description: "gap between tensors", bytes: {
            try replacing(#""data_offsets":[12,16]"#, with: #""data_offsets":[13,17]"#)
        }, tensor: "scalar.f32") { error, path in
            error == .offsetMismatch(file: path, tensor: "scalar.f32", begin: 13, end: 17, expectedBegin: 12)
        },
        Case(description: "end before begin", bytes: {
            try replacing(#""data_offsets":[8,8]"#, with: #""data_offsets":[8,4]"#)
        }, tensor: "empty.rows") { error, path in
            error == .offsetMismatch(file: path, tensor: "empty.rows", begin: 8, end: 4, expectedBegin: 8)
        },
        Case(description: "range shorter than the tensor", bytes: {
            try replacing(#""data_offsets":[0,8]"#, with: #""data_offsets":[0,0]"#)
        }, tensor: "scalar.i64") { error, path in
            error == .sizeMismatch(file: path, tensor: "scalar.i64", dtype: .i64, shape: [], declared: 0, needed: 8)
        },
        Case(description: "shape does not match the byte range", bytes: {
            try replacing(#""shape":[1,1,1,1]"#, with: #""shape":[1,1,1,2]"#)
        }, tensor: "one") { error, path in
            error == .sizeMismatch(file: path, tensor: "one", dtype: .f32, shape: [1, 1, 1, 2], declared: 4, needed: 8)
                && error.description == "\(path): tensor 'one' declares 4 bytes for F32[1,1,1,2] (needs 8)"
        },
        Case(description: "dims whose product overflows", bytes: {
            try replacing(#""shape":[1,1,1,1]"#, with: #""shape":[4294967296,4294967296,4]"#)
        }, tensor: "one") { error, path in
            error == .sizeOverflow(file: path, tensor: "one", shape: [4294967296, 4294967296, 4])
        },
        Case(description: "byte size overflows after the element count", bytes: {
            try replacing(#""shape":[1,1,1,1]"#, with: #""shape":[4611686018427387904]"#)
        }, tensor: "one") { error, path in
            error == .sizeOverflow(file: path, tensor: "one", shape: [4611686018427387904])
        },
        Case(description: "negative dimension", bytes: {
            try replacing(#""shape":[1,1,1,1]"#, with: #""shape":[1,-1]"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "dimension beyond 64 bits", bytes: {
            try replacing(#""shape":[1,1,1,1]"#, with: #""shape":[18446744073709551616]"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "fractional offset", bytes: {
            try replacing(#""data_offsets":[8,12]"#, with: #""data_offsets":[8.0,12]"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "three offsets", bytes: {
            try replacing(#""data_offsets":[8,12]"#, with: #""data_offsets":[8,12,16]"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "missing dtype", bytes: {
            try replacing(#""one":{"dtype":"F32","#, with: #""one":{"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "entry is not an object", bytes: {
            try replacing(#""one":{"dtype":"F32","shape":[1,1,1,1],"data_offsets":[8,12]}"#, with: #""one":[8,12]"#)
        }, tensor: "one") { error, _ in
            if case .invalidEntry(_, "one", _) = error { return true }
            return false
        },
        Case(description: "unknown dtype", bytes: {
            try replacing(#""one":{"dtype":"F32""#, with: #""one":{"dtype":"C64""#)
        }, tensor: "one") { error, path in
            error == .unsupportedDType(file: path, tensor: "one", dtype: "C64")
        },
        Case(description: "duplicate tensor key", bytes: {
            try replacing(#""scalar.f32":"#, with: #""one":"#)
        }, tensor: "one") { error, _ in
            if case let .headerNotJSON(_, _, message) = error { return message.contains("duplicate key \"one\"") }
            return false
        },
        Case(description: "metadata value not a string", bytes: {
            try replacing(#"{"format":"pt"}"#, with: #"{"format":1}"#)
        }, tensor: nil) { error, _ in
            if case .invalidMetadata = error { return true }
            return false
        },
        Case(description: "metadata not an object", bytes: {
            try replacing(#"{"format":"pt"}"#, with: #"["pt"]"#)
        }, tensor: nil) { error, _ in
            if case .invalidMetadata = error { return true }
            return false
        },
        Case(description: "truncated JSON", bytes: {
            let (header, data) = try original()
            let text = String(decoding: header, as: UTF8.self).trimmingCharacters(in: .whitespaces).dropLast()
            return assemble(header: Array(text.utf8), data: data)
        }, tensor: nil) { error, _ in
            if case .headerNotJSON = error { return true }
            return false
        },
        Case(description: "header is not an object", bytes: { assemble(header: Array("[]".utf8), data: []) }, tensor: nil) { error, path in
            error == .headerNotJSON(file: path, offset: 8, message: "the header must be a JSON object")
        },
        Case(description: "zero-length header", bytes: { assemble(header: [], data: []) }, tensor: nil) { error, _ in
            if case .headerNotJSON = error { return true }
            return false
        },
        Case(description: "invalid UTF-8 in a name", bytes: {
            let (header, data) = try original()
            let needle = Array("scalar.f32".utf8)
            let start = try #require((0 ... header.count - needle.count).first { Array(header[$0 ..< $0 + needle.count]) == needle })
            var mutated = header
            mutated[start + 6] = 0xFF
            return assemble(header: mutated, data: data)
        }, tensor: nil) { error, path in
            error == .headerNotUTF8(file: path, offset: 8 + 220 + 6)
        },
        Case(description: "nesting bomb in metadata", bytes: {
            try replacing(#"{"format":"pt"}"#, with: String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000))
        }, tensor: nil) { error, _ in
            if case let .headerNotJSON(_, _, message) = error { return message.contains("nesting") }
            return false
        },
    ]

    @Test("hostile file is refused with a clear error", arguments: cases)
    func refused(_ hostile: Case) throws {
        let dir = try FixturePaths.scratchDirectory("st-hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/" + Self.file
        try SafetensorsFixtures.writeBytes(try hostile.bytes(), to: input)
        let outputs = dir + "/out"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: false)
        do {
            try Self.convert(input: input, output: outputs + "/converted.safetensors")
            Issue.record("\(hostile) was accepted")
        } catch let error as SafetensorsError {
            #expect(hostile.check(error, input), "\(hostile): \(error)")
            #expect(error.description.contains(input), "message does not name the file: \(error)")
            if let tensor = hostile.tensor {
                #expect(error.description.contains("'\(tensor)'") || error.description.contains("\"\(tensor)\""),
                        "message does not name the tensor: \(error)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outputs) == [], "output left behind")
    }

    /// A conversion as the CLI does it: decide (open and validate), then write atomically.
    static func convert(input: String, output: String) throws {
        let atomic = try AtomicOutput(path: output, isDirectory: false, force: false)
        do {
            let source = try SafetensorsFile(path: input)
            try SafetensorsWriter.write(tensors: source.tensors.map { ($0.name, TensorPayload(view: $0.view)) },
                                        metadata: source.metadata.map { ($0.key, $0.value) }, to: atomic.temporaryPath)
            try atomic.commit()
        } catch {
            atomic.abort()
            throw error
        }
    }

    @Test func trailingPaddingIsAccepted() throws {
        // The reference pads with spaces to a multiple of 8 and accepts any amount of trailing
        // JSON whitespace (serde_json); 24 extra spaces still read.
        let (header, data) = try Self.original()
        let dir = try FixturePaths.scratchDirectory("st-hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/padded.safetensors"
        try SafetensorsFixtures.writeBytes(Self.assemble(header: header + Array(repeating: 0x20, count: 24), data: data), to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.tensors.count == 7)
        #expect(file.dataStart == 8 + 480 + 24)
    }

    @Test func unknownFieldsAreIgnoredAsInTheReference() throws {
        let dir = try FixturePaths.scratchDirectory("st-hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/extra.safetensors"
        try SafetensorsFixtures.writeBytes(try Self.replacing(#""one":{"dtype":"F32","#, with: #""one":{"note":[1,{}],"dtype":"F32","#), to: path)
        #expect(try SafetensorsFile(path: path).tensor(named: "one")?.shape == [1, 1, 1, 1])
    }

    // MARK: - Sharded checkpoints

    /// A scratch copy of the transformers checkpoint with its index rewritten by `edit`.
    static func checkpoint(editing edit: (inout JSONObject) throws -> Void) throws -> String {
        let dir = try FixturePaths.scratchDirectory("st-hostile-ckpt")
        let source = SafetensorsFixtures.path("sharded")
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: dir + "/" + name)
        }
        let indexPath = dir + "/model.safetensors.index.json"
        var index = try #require(try JSONParser.parse(try SafetensorsFixtures.bytes(atPath: indexPath), context: "index").objectValue)
        try edit(&index)
        try SafetensorsFixtures.writeBytes(Array(JSONWriter.pretty(.object(index)).utf8), to: indexPath)
        return dir
    }

    static func editWeightMap(_ index: inout JSONObject, _ edit: (inout JSONObject) -> Void) throws {
        var map = try #require(index["weight_map"]?.objectValue)
        edit(&map)
        index["weight_map"] = .object(map)
    }

    static func expectCheckpointError(_ dir: String, _ matches: (SafetensorsError) -> Bool) {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try SafetensorsCheckpoint(path: dir)
            Issue.record("checkpoint accepted")
        } catch let error as SafetensorsError {
            #expect(matches(error), "\(error)")
            #expect(error.description.contains(dir), "message does not name the file: \(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test(arguments: ["../model-00001-of-00007.safetensors", "/etc/passwd", "sub/../model.safetensors", "", "./x.safetensors"])
    func shardPathsMustStayInTheFolder(_ shard: String) throws {
        let dir = try Self.checkpoint { index in
            try Self.editWeightMap(&index) { $0["lm_head.weight"] = .string(shard) }
        }
        Self.expectCheckpointError(dir) { $0 == .unsafeShardPath(index: dir + "/model.safetensors.index.json", tensor: "lm_head.weight", shard: shard) }
    }

    @Test func missingShard() throws {
        let dir = try Self.checkpoint { _ in }
        try FileManager.default.removeItem(atPath: dir + "/model-00003-of-00007.safetensors")
        Self.expectCheckpointError(dir) { $0 == .missingShard(index: dir + "/model.safetensors.index.json", shard: "model-00003-of-00007.safetensors") }
    }

    @Test func mappedTensorMissingFromItsShard() throws {
        let dir = try Self.checkpoint { index in
            try Self.editWeightMap(&index) { $0["ghost.weight"] = .string("model-00001-of-00007.safetensors") }
        }
        Self.expectCheckpointError(dir) {
            $0 == .tensorMissingFromShard(index: dir + "/model.safetensors.index.json", tensor: "ghost.weight", shard: "model-00001-of-00007.safetensors")
        }
    }

    @Test func shardTensorMissingFromTheMap() throws {
        let dir = try Self.checkpoint { index in
            try Self.editWeightMap(&index) { $0.remove("model.norm.weight") }
        }
        Self.expectCheckpointError(dir) {
            $0 == .tensorNotInIndex(index: dir + "/model.safetensors.index.json", tensor: "model.norm.weight", shard: "model-00007-of-00007.safetensors")
        }
    }

    @Test func tensorStoredInTwoShards() throws {
        let dir = try Self.checkpoint { index in
            try Self.editWeightMap(&index) { $0["extra.weight"] = .string("extra.safetensors") }
        }
        // A shard that also holds lm_head.weight, which the index maps to shard 6.
        let lmHead = try #require(try SafetensorsFile(path: dir + "/model-00006-of-00007.safetensors").tensor(named: "lm_head.weight"))
        try SafetensorsWriter.write(tensors: [("lm_head.weight", TensorPayload(view: lmHead.view)),
                                              ("extra.weight", TensorPayload(view: try TensorView.float32([1], shape: [1])))],
                                    metadata: nil, to: dir + "/extra.safetensors")
        Self.expectCheckpointError(dir) {
            $0 == .tensorInTwoShards(index: dir + "/model.safetensors.index.json", tensor: "lm_head.weight",
                                     mappedTo: "model-00006-of-00007.safetensors", alsoIn: "extra.safetensors")
        }
    }

    @Test func weightMapMustBeAnObjectOfStrings() throws {
        let noMap = try Self.checkpoint { $0.remove("weight_map") }
        Self.expectCheckpointError(noMap) { if case .invalidIndex = $0 { return true }; return false }
        let numbers = try Self.checkpoint { index in try Self.editWeightMap(&index) { $0["lm_head.weight"] = .int(6) } }
        Self.expectCheckpointError(numbers) { if case .invalidIndex = $0 { return true }; return false }
    }

    @Test func indexThatIsNotJSON() throws {
        let dir = try Self.checkpoint { _ in }
        try SafetensorsFixtures.writeBytes(Array("{\"weight_map\": {".utf8), to: dir + "/model.safetensors.index.json")
        Self.expectCheckpointError(dir) { if case .invalidIndex = $0 { return true }; return false }
    }

    @Test func truncatedShardIsNamed() throws {
        let dir = try Self.checkpoint { _ in }
        let shard = dir + "/model-00004-of-00007.safetensors"
        let bytes = try SafetensorsFixtures.bytes(atPath: shard)
        try SafetensorsFixtures.writeBytes(Array(bytes.dropLast(10)), to: shard)
        Self.expectCheckpointError(dir) { $0 == .dataSizeMismatch(file: shard, covered: bytes.count - 8 - Self.headerLength(bytes), dataSection: bytes.count - 18 - Self.headerLength(bytes)) }
    }

    static func headerLength(_ bytes: [UInt8]) -> Int {
        bytes[0 ..< 8].reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
