import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

@Suite("Safetensors writer")
struct SafetensorsWriterTests {
    @Test("bytes equal safetensors.torch.save_file", arguments: SafetensorsFixtures.stems)
    func matchesReference(_ stem: String) throws {
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sidecar = try SafetensorsFixtures.sidecar(stem)
        let out = dir + "/out.safetensors"
        // Tensors go in the scrambled order they were given to save_file; metadata in the order
        // the reference file holds it (0.8.0 writes it in hash order).
        try SafetensorsWriter.write(tensors: try SafetensorsFixtures.payloads(sidecar), metadata: sidecar.metadata, to: out)
        let reference = try SafetensorsFixtures.bytes(atPath: SafetensorsFixtures.path("\(stem).safetensors"))
        let written = try SafetensorsFixtures.bytes(atPath: out)
        #expect(written.count == reference.count)
        #expect(written == reference, "first difference at byte \(String(describing: SafetensorsFixtures.firstDifference(written, reference)))")
    }

    @Test("mapped round trip is bit-identical", arguments: SafetensorsFixtures.stems)
    func roundTrip(_ stem: String) throws {
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try SafetensorsFile(path: SafetensorsFixtures.path("\(stem).safetensors"))
        let out = dir + "/copy.safetensors"
        // Reverse the order to show the writer, not the caller, decides the layout.
        let tensors = source.tensors.reversed().map { ($0.name, TensorPayload(view: $0.view)) }
        try SafetensorsWriter.write(tensors: tensors, metadata: source.hasMetadata ? source.metadata.map { ($0.key, $0.value) } : nil, to: out)
        let original = try SafetensorsFixtures.bytes(atPath: source.path)
        let copy = try SafetensorsFixtures.bytes(atPath: out)
        #expect(copy == original, "first difference at byte \(String(describing: SafetensorsFixtures.firstDifference(copy, original)))")

        let reread = try SafetensorsFile(path: out)
        #expect(reread.names == source.names)
        for (a, b) in zip(reread.tensors, source.tensors) {
            #expect(SafetensorsFixtures.viewBytes(a.view) == SafetensorsFixtures.viewBytes(b.view))
        }
    }

    @Test func layoutSortsByDTypeThenNameBytes() throws {
        let sizes: [(String, DType)] = [
            ("b", .bool), ("u", .u8), ("i8", .i8), ("e5", .f8e5m2), ("e4", .f8e4m3), ("i16", .i16), ("h", .f16),
            ("bf", .bf16), ("i32", .i32), ("f", .f32), ("d", .f64), ("l", .i64), ("Z", .f32), ("é", .f32), ("e\u{301}x", .f32),
        ]
        let layout = try SafetensorsWriter.layout(
            tensors: sizes.map { ($0.0, $0.1, [1], $0.1.byteSize) }, metadata: nil)
        let names = layout.order.map { sizes[$0].0 }
        // "e\u{301}x" (0x65 0xCC 0x81) sorts before "f" (0x66), and "é" (0xC3 0xA9) after it: byte order.
        #expect(names == ["l", "d", "Z", "e\u{301}x", "f", "é", "i32", "bf", "h", "i16", "e4", "e5", "i8", "u", "b"])
        #expect(layout.header.count % 8 == 0)
        #expect(layout.fileSize == 8 + layout.header.count + sizes.reduce(0) { $0 + $1.1.byteSize })
    }

    /// save_file({"x": torch.zeros(1, dtype=torch.uint8)}, metadata={}) writes this header.
    @Test func emptyMetadataIsWrittenWhenGiven() throws {
        let layout = try SafetensorsWriter.layout(tensors: [("x", .u8, [1], 1)], metadata: [])
        #expect(String(decoding: layout.header, as: UTF8.self)
            == #"{"__metadata__":{},"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} "#)
    }

    @Test func convertedPayloadsAreStreamed() throws {
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = [1, -2.5, 3.140625, 65504, .infinity, 0]
        let view = try TensorView.float32(values, shape: [2, 3])
        let out = dir + "/bf16.safetensors"
        try SafetensorsWriter.write(tensors: [("w", try TensorPayload(converting: view, to: .bf16))], metadata: nil, to: out)
        let file = try SafetensorsFile(path: out)
        let tensor = try #require(file.tensor(named: "w"))
        #expect(tensor.dtype == .bf16)
        #expect(tensor.shape == [2, 3])
        #expect(tensor.view.floats() == values.map { FloatBits.bf16ToFloat(FloatBits.floatToBF16($0)) })
    }

    @Test func producedPayloadsAreWritten() throws {
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = try TensorPayload(dtype: .i16, shape: [3]) { buffer in
            for i in 0 ..< 3 { buffer.storeBytes(of: Int16(-i).littleEndian, toByteOffset: 2 * i, as: Int16.self) }
        }
        let out = dir + "/p.safetensors"
        try SafetensorsWriter.write(tensors: [("p", payload)], metadata: [("format", "pt")], to: out)
        let file = try SafetensorsFile(path: out)
        #expect(try #require(file.tensor(named: "p")).view.floats() == [0, -1, -2])
        #expect(file.metadata.map(\.value) == ["pt"])
    }

    @Test func badNamesFailBeforeAnyByteIsWritten() throws {
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = TensorPayload(view: try TensorView.float32([1], shape: [1]))
        let out = dir + "/bad.safetensors"
        #expect(throws: SafetensorsError.emptyTensorName(position: 1)) {
            try SafetensorsWriter.write(tensors: [("a", payload), ("", payload)], metadata: nil, to: out)
        }
        #expect(throws: SafetensorsError.duplicateTensorName(name: "a")) {
            try SafetensorsWriter.write(tensors: [("a", payload), ("b", payload), ("a", payload)], metadata: nil, to: out)
        }
        #expect(throws: SafetensorsError.reservedTensorName(name: "__metadata__")) {
            try SafetensorsWriter.write(tensors: [("__metadata__", payload)], metadata: nil, to: out)
        }
        #expect(throws: SafetensorsError.duplicateMetadataKey(key: "k")) {
            try SafetensorsWriter.write(tensors: [("a", payload)], metadata: [("k", "1"), ("k", "2")], to: out)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }

    @Test func failingProducerLeavesNoFile() throws {
        struct Boom: Error {}
        let dir = try FixturePaths.scratchDirectory("st-write")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = TensorPayload(view: try TensorView.float32([1, 2], shape: [2]))
        let bad = try TensorPayload(dtype: .f32, shape: [4]) { _ in throw Boom() }
        #expect(throws: Boom.self) {
            try SafetensorsWriter.write(tensors: [("good", good), ("bad", bad)], metadata: nil, to: dir + "/x.safetensors")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }
}
