import Foundation
import QuantaCore
import Testing
@testable import QuantaFormats

@Suite("GGUF reader")
struct GGUFReaderTests {
    /// Every KV (type and exact value, in file order) and every tensor fact equals what gguf-py wrote.
    @Test("reads gguf-py fixtures as their sidecars describe", arguments: GGUFFixtures.goldenNames)
    func readsFixture(name: String) throws {
        let sidecar = try GGUFFixtures.sidecar(name)
        let file = try GGUFFile(path: GGUFFixtures.path(name))
        #expect(file.version == 3)
        #expect(file.alignment == sidecar["alignment"]?.intValue)
        #expect(file.dataOffset == sidecar["data_offset"]?.intValue)

        let expected = try GGUFFixtures.metadata(sidecar)
        #expect(file.metadata.map(\.key) == expected.map(\.key))
        for (got, want) in zip(file.metadata, expected) {
            #expect(got.value == want.value, "\(want.key)")
            #expect(file[want.key] == want.value)
        }

        let facts = try GGUFFixtures.tensors(sidecar)
        #expect(file.tensors.count == facts.count)
        let raw = try GGUFFixtures.bytes(name)
        for (tensor, fact) in zip(file.tensors, facts) {
            #expect(tensor.name == fact.name)
            #expect(tensor.type == fact.type)
            #expect(tensor.dimensions == fact.dims)
            #expect(tensor.shape == fact.shape)
            #expect(tensor.elementCount == fact.elements)
            #expect(tensor.byteCount == fact.byteCount)
            #expect(tensor.offset == fact.offset)
            #expect(tensor.offset % file.alignment == 0)
            #expect(Array(tensor.bytes) == Array(raw[fact.offset ..< fact.offset + fact.byteCount]))
            #expect(file.tensor(named: fact.name)?.offset == fact.offset)
        }
    }

    @Test("a v2 file (gguf-py v3 bytes with the version patched) reads like the v3 one")
    func readsVersion2() throws {
        let v2 = try GGUFFile(path: GGUFFixtures.path("v2"))
        let v3 = try GGUFFile(path: GGUFFixtures.path("all_types"))
        #expect(v2.version == 2)
        #expect(v2.metadata.map(\.key) == v3.metadata.map(\.key))
        #expect(v2.metadata.map(\.value) == v3.metadata.map(\.value))
        #expect(v2.tensors.map(\.offset) == v3.tensors.map(\.offset))
        #expect(v2.dataOffset == v3.dataOffset)
    }

    @Test("typed getters accept every integer width and keep exact values")
    func typedGetters() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("all_types"))
        #expect(file.string("general.architecture") == "llama")
        #expect(file.string("test.string_unicode") == "héllo wörld — 日本語 🦙")
        #expect(file.string("test.string_empty") == "")
        #expect(file.int("test.u8") == 255)
        #expect(file.int("test.i8") == -128)
        #expect(file.int("test.u16") == 65535)
        #expect(file.int("test.i16") == -32768)
        #expect(file.int("test.u32") == 4_294_967_295)
        #expect(file.int("test.i32") == -2_147_483_648)
        #expect(file.int("test.i64") == Int.min)
        #expect(file.int("test.u64") == nil, "UInt64.max does not fit Int")
        #expect(file["test.u64"] == .uint64(.max))
        #expect(file.float("test.f32") == 1.5)
        #expect(file.float("test.f64") == 3.141592653589793)
        #expect(file["test.f32_negative_zero"] == .float32(-0.0))
        #expect(file["test.f32_negative_zero"] != .float32(0.0), "equality is by bit pattern")
        #expect(file.float("test.u8") == nil, "an integer is not a float")
        #expect(file.bool("test.bool_true") == true)
        #expect(file.bool("test.bool_false") == false)
        #expect(file.stringArray("test.array_string") == ["a", "", "ünïcode", "<|im_start|>"])
        #expect(file.intArray("test.array_i32") == [-1, 0, 1, 2_147_483_647])
        #expect(file.intArray("test.array_u64") == nil, "UInt64.max does not fit Int")
        #expect(file.floatArray("test.array_f32") == [0.25, -2.5, Double(Float(1e-8))])
        #expect(file.float32Array("test.array_f32") == [0.25, -2.5, 1e-8])
        #expect(file.string("missing.key") == nil)
        #expect(try file.requiredInt("test.u32") == 4_294_967_295)
        #expect(throws: GGUFError.missingKey(path: file.path, key: "missing.key")) { try file.requiredString("missing.key") }
        #expect(throws: GGUFError.wrongValueType(path: file.path, key: "test.u8", expected: "STRING", found: .uint8)) {
            try file.requiredString("test.u8")
        }
    }

    @Test("nested and empty arrays keep their element types")
    func nestedArrays() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("empty_array"))
        #expect(file["test.placeholder_for_empty"] == .array(elementType: .uint64, elements: []))
        #expect(file["test.nested_mixed"] == .array(elementType: .array, elements: [
            .array(elementType: .int32, elements: [.int32(1), .int32(2)]),
            .array(elementType: .string, elements: [.string("x"), .string("yz")]),
            .array(elementType: .float32, elements: [.float32(0.5)]),
            .array(elementType: .bool, elements: [.bool(true), .bool(false)]),
        ]))
        #expect(file["test.nested_depth3"]?.arrayElements?.first?.arrayElements?.first == .stringArray(["deep"]))
    }

    @Test("plain tensors give typed views; block-quantized ones only raw bytes")
    func tensorViews() throws {
        let file = try GGUFFile(path: GGUFFixtures.path("all_types"))
        let embedding = try file.requiredTensor("token_embd.weight")
        let view = try file.view(of: embedding)
        #expect(view.dtype == .f32)
        #expect(view.shape == [4, 64])
        let floats = view.floats()
        let fromBytes = embedding.bytes.withMemoryRebound(to: UInt8.self) { bytes in
            (0 ..< 256).map { i in
                Float(bitPattern: (0 ..< 4).reduce(UInt32(0)) { $0 | UInt32(bytes[i * 4 + $1]) << (8 * $1) })
            }
        }
        #expect(floats == fromBytes)
        let halves = try file.view(of: try file.requiredTensor("blk.0.ffn_up.weight"))
        #expect(halves.dtype == .f16 && halves.shape == [2, 3, 32])
        let positions = try file.view(of: try file.requiredTensor("blk.0.positions"))
        #expect(positions.dtype == .i32 && positions.floats() == [-1, 0, 1, 2, 3])

        let q8 = try file.requiredTensor("blk.0.attn_q.weight")
        #expect(q8.type == .q8_0 && q8.byteCount == 8 * 2 * 34)
        #expect(throws: GGUFError.notAPlainTensor(path: file.path, tensor: q8.name, type: .q8_0)) { try file.view(of: q8) }
        #expect(throws: GGUFError.missingTensor(path: file.path, tensor: "nope")) { try file.requiredTensor("nope") }
    }

    /// The real model, written by llama.cpp tools, against facts gguf-py read from it.
    @Test("reads SmolLM2-135M-Instruct Q4_1 as gguf-py does")
    func readsSmolLM2() throws {
        try #require(FileManager.default.fileExists(atPath: GGUFFixtures.modelPath),
                     "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run `make test`, which fetches it")
        let summary = try GGUFFixtures.sidecar("smollm2_summary")
        let file = try GGUFFile(path: GGUFFixtures.modelPath)
        #expect(file.file.size == summary["file_size"]?.intValue)
        #expect(Int(file.version) == summary["version"]?.intValue)
        #expect(file.tensors.count == summary["tensor_count"]?.intValue)
        #expect(file.tensors.count == 272)
        #expect(file.metadata.count == summary["kv_count"]?.intValue)
        #expect(file.alignment == summary["alignment"]?.intValue)
        #expect(file.dataOffset == summary["data_offset"]?.intValue)
        #expect(file.keys == (summary["keys"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(file.string("general.architecture") == "llama")

        let described = try #require(summary["metadata"]?.objectValue)
        for (key, facts) in described.entries {
            let value = try #require(file[key], "\(key)")
            let types = (facts["types"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(value.type.name == types.first, "\(key)")
            if let count = facts["count"]?.intValue {
                let elements = try #require(value.arrayElements)
                #expect(value.arrayElementType?.name == types.last, "\(key)")
                #expect(elements.count == count, "\(key)")
                let first = (facts["first"]?.arrayValue ?? []).map(Self.plain)
                let last = (facts["last"]?.arrayValue ?? []).map(Self.plain)
                #expect(elements.prefix(first.count).map(Self.plain) == first, "\(key)")
                #expect(elements.suffix(last.count).map(Self.plain) == last, "\(key)")
            } else {
                #expect(Self.plain(value) == Self.plain(try #require(facts["value"])), "\(key)")
            }
        }

        let tensors = try #require(summary["tensors"]?.arrayValue)
        #expect(tensors.count == file.tensors.count)
        for (tensor, facts) in zip(file.tensors, tensors) {
            #expect(tensor.name == facts["name"]?.stringValue)
            #expect(tensor.type.name == facts["type"]?.stringValue)
            #expect(tensor.dimensions == (facts["dims"]?.arrayValue ?? []).compactMap(\.intValue))
            #expect(tensor.offset == facts["offset"]?.intValue)
            #expect(tensor.byteCount == facts["byte_count"]?.intValue)
        }
        #expect(file.stringArray("tokenizer.ggml.tokens")?.count == 49152)
    }

    /// A comparable spelling of a GGUF value or a summary JSON value (FLOAT32 as hex bits).
    private static func plain(_ value: GGUFValue) -> String {
        switch value {
        case let .float32(v): return String(format: "0x%08x", v.bitPattern)
        case let .string(s): return s
        case let .bool(b): return b ? "true" : "false"
        default: return value.intValue.map(String.init) ?? value.description
        }
    }

    private static func plain(_ json: JSONValue) -> String {
        switch json {
        case let .string(s): return s
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        default: return "\(json)"
        }
    }
}
