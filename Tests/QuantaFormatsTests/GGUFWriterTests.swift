import Foundation
import QuantaCore
import Testing
@testable import QuantaFormats

@Suite("GGUF writer")
struct GGUFWriterTests {
    /// Built from the sidecar (not from our reader): KVs and tensor facts as the script gave them to
    /// gguf-py, tensor bytes sliced from the gguf-py file. Our output must equal gguf-py's byte for byte.
    @Test("writes the same bytes as gguf-py 0.19.0", arguments: GGUFFixtures.goldenNames)
    func matchesGGUFPy(name: String) throws {
        let sidecar = try GGUFFixtures.sidecar(name)
        let golden = try GGUFFixtures.bytes(name)
        var writer = GGUFWriter()
        for entry in try GGUFFixtures.metadata(sidecar) { try writer.addMetadata(entry.key, entry.value) }
        for tensor in try GGUFFixtures.tensors(sidecar) {
            let bytes = Array(golden[tensor.offset ..< tensor.offset + tensor.byteCount])
            try writer.addTensor(name: tensor.name, type: tensor.type, shape: tensor.shape, data: .bytes(bytes))
        }
        let plan = try writer.plan()
        #expect(plan.dataOffset == sidecar["data_offset"]?.intValue)
        #expect(plan.fileSize == golden.count)

        let out = try FixturePaths.scratchDirectory("gguf-writer") + "/out.gguf"
        try writer.write(to: out)
        let written = try GGUFFixtures.bytes(atPath: out)
        #expect(GGUFFixtures.firstDifference(written, golden) == nil)
    }

    @Test("read → write reproduces every fixture byte for byte", arguments: GGUFFixtures.goldenNames)
    func roundTrip(name: String) throws {
        let file = try GGUFFile(path: GGUFFixtures.path(name))
        let out = try FixturePaths.scratchDirectory("gguf-roundtrip") + "/out.gguf"
        try GGUFWriter(copying: file).write(to: out)
        #expect(GGUFFixtures.firstDifference(try GGUFFixtures.bytes(atPath: out), try GGUFFixtures.bytes(name)) == nil)
    }

    @Test("a v2 file is rewritten as v3 with nothing else changed")
    func rewritesVersion2AsVersion3() throws {
        let out = try FixturePaths.scratchDirectory("gguf-roundtrip") + "/out.gguf"
        try GGUFWriter(copying: try GGUFFile(path: GGUFFixtures.path("v2"))).write(to: out)
        var expected = try GGUFFixtures.bytes("v2")
        GGUFFixtures.put(UInt32(3), at: 4, in: &expected)
        #expect(GGUFFixtures.firstDifference(try GGUFFixtures.bytes(atPath: out), expected) == nil)
    }

    /// The llama.cpp-written model: our writer lays out its 272 tensors exactly as llama.cpp did.
    @Test("SmolLM2 Q4_1 round-trips byte for byte")
    func roundTripsSmolLM2() throws {
        try #require(FileManager.default.fileExists(atPath: GGUFFixtures.modelPath),
                     "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run `make test`, which fetches it")
        let input = try GGUFFile(path: GGUFFixtures.modelPath)
        let directory = try FixturePaths.scratchDirectory("gguf-model")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let out = directory + "/out.gguf"
        try GGUFWriter(copying: input).write(to: out)
        let copy = try MappedFile(path: out)
        #expect(copy.size == input.file.size)
        guard copy.size == input.file.size else { return }
        let a = try #require(copy.bytes.baseAddress), b = try #require(input.file.bytes.baseAddress)
        #expect(memcmp(a, b, copy.size) == 0)
    }

    @Test("quantized producers, dtype conversions and custom alignment read back")
    func producersAndAlignment() throws {
        var writer = GGUFWriter()
        try writer.addMetadata("general.architecture", .string("llama"))
        let blocks = (0 ..< 2 * 34).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try writer.addTensor(name: "q", type: .q8_0, shape: [1, 64], data: .produce(byteCount: blocks.count) { out in
            out.copyBytes(from: blocks)
        })
        let floats = try TensorView.float32([1, -2, 0.5, 65504, 3, 4], shape: [2, 3])
        try writer.addTensor(name: "h", type: .f16, shape: [2, 3],
                             data: .payload(try TensorPayload(converting: floats, to: .f16)))
        try writer.addTensor(name: "f", type: .f32, shape: [2, 3], data: .payload(TensorPayload(view: floats)))
        // Alignment added after the tensors still governs the layout: it is read when planning.
        try writer.addMetadata("general.alignment", .uint32(128))

        let out = try FixturePaths.scratchDirectory("gguf-writer") + "/out.gguf"
        try writer.write(to: out)
        let file = try GGUFFile(path: out)
        #expect(file.alignment == 128)
        #expect(file.dataOffset % 128 == 0)
        #expect(file.tensors.map(\.relativeOffset) == [0, 128, 256])
        #expect(Array(try file.requiredTensor("q").bytes) == blocks)
        #expect(try file.view(of: file.requiredTensor("h")).floats() == [1, -2, 0.5, 65504, 3, 4])
        #expect(try file.view(of: file.requiredTensor("f")).floats() == [1, -2, 0.5, 65504, 3, 4])
        #expect(file.file.size == file.dataOffset + 256 + 128, "each tensor is padded, the last one too")
    }

    @Test("arrays nested to the depth limit round-trip; setMetadata keeps the key's position")
    func deepArraysAndReplacement() throws {
        var value = GGUFValue.int32Array([1, 2])
        for _ in 1 ..< GGUFLimits.maxArrayNestingDepth { value = .array(elementType: .array, elements: [value]) }
        var writer = GGUFWriter()
        try writer.addMetadata("a", .uint8(1))
        try writer.addMetadata("deep", value)
        try writer.addMetadata("b", .string("x"))
        try writer.setMetadata("a", .int64(-5))
        let out = try FixturePaths.scratchDirectory("gguf-writer") + "/out.gguf"
        try writer.write(to: out)
        let file = try GGUFFile(path: out)
        #expect(file.keys == ["a", "deep", "b"])
        #expect(file["a"] == .int64(-5))
        #expect(file["deep"] == value)
        #expect(file.tensors.isEmpty)

        let tooDeep = GGUFValue.array(elementType: .array, elements: [value])
        #expect(throws: GGUFError.self) { try writer.addMetadata("deeper", tooDeep) }
    }

    @Test("invalid metadata is refused before anything is written")
    func refusesBadMetadata() throws {
        var writer = GGUFWriter()
        try writer.addMetadata("k", .uint8(1))
        #expect(throws: GGUFError.invalidMetadata(key: "k", reason: "added twice")) { try writer.addMetadata("k", .uint8(2)) }
        #expect(throws: GGUFError.self) { try writer.addMetadata("", .uint8(2)) }
        #expect(throws: GGUFError.self) { try writer.addMetadata("general.alignment", .uint64(32)) }
        #expect(throws: GGUFError.self) { try writer.addMetadata("general.alignment", .uint32(48)) }
        #expect(throws: GGUFError.self) { try writer.addMetadata("general.alignment", .uint32(0)) }
        #expect(throws: GGUFError.self) {
            try writer.addMetadata("mixed", .array(elementType: .int32, elements: [.int32(1), .uint32(2)]))
        }
        #expect(writer.metadata.map(\.key) == ["k"])
    }

    @Test("invalid tensors are refused when added")
    func refusesBadTensors() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "t", type: .f32, shape: [2], data: .bytes([UInt8](repeating: 0, count: 8)))
        #expect(throws: GGUFError.invalidTensor(tensor: "t", reason: "added twice")) {
            try writer.addTensor(name: "t", type: .f32, shape: [2], data: .bytes([UInt8](repeating: 0, count: 8)))
        }
        #expect(throws: GGUFError.dataSizeMismatch(tensor: "u", expected: 8, actual: 7)) {
            try writer.addTensor(name: "u", type: .f32, shape: [2], data: .bytes([UInt8](repeating: 0, count: 7)))
        }
        // Q4_0 rows must hold whole 32-element blocks; the row is the last row-major dimension.
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "q", type: .q4_0, shape: [32, 48], data: .bytes([UInt8](repeating: 0, count: 18 * 48)))
        }
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: String(repeating: "n", count: 64), type: .f32, shape: [1], data: .bytes([0, 0, 0, 0]))
        }
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "five", type: .f32, shape: [1, 1, 1, 1, 1], data: .bytes([0, 0, 0, 0]))
        }
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "neg", type: .f32, shape: [-1], data: .bytes([]))
        }
        let ints = try TensorView.copying(UnsafeRawBufferPointer(start: nil, count: 0), dtype: .i32, shape: [0])
        #expect(throws: GGUFError.self) {
            try writer.addTensor(name: "dtype", type: .f32, shape: [0], data: .payload(TensorPayload(view: ints)))
        }
        #expect(writer.tensors.map(\.name) == ["t"])
    }

    @Test("mapped sources are copied and must lie inside their file")
    func mappedSources() throws {
        var writer = GGUFWriter()
        let source = try GGUFFixtures.scratchFile([UInt8](repeating: 1, count: 64), name: "source.bin")
        let mapped = try MappedFile(path: source)
        try writer.addTensor(name: "m", type: .f32, shape: [16], data: .mapped(mapped, offset: 0, byteCount: 64))
        let out = try FixturePaths.scratchDirectory("gguf-writer") + "/out.gguf"
        try writer.write(to: out)
        let copied = try GGUFFile(path: out).requiredTensor("m")  // the info keeps the map alive
        #expect(copied.withUnsafeBytes { $0.allSatisfy { $0 == 1 } })
        #expect(throws: GGUFError.self) {
            var bad = GGUFWriter()
            try bad.addTensor(name: "m", type: .f32, shape: [32], data: .mapped(mapped, offset: 0, byteCount: 128))
        }
    }
}
