import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// The writer against torch.save: the same state dict gives the same bytes, and everything it
/// writes reads back equal.
@Suite("Torch writer")
struct TorchWriterTests {
    @Test("bytes equal torch.save for the same OrderedDict", arguments: ["writer_reference", "writer_many"])
    func byteIdentical(stem: String) throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-writer")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // The archive folder comes from the file name, as in torch: write under the same name.
        let path = folder + "/" + stem + ".pt"
        try TorchWriter.write(tensors: try TorchFixtures.payloads(stem), to: path)
        let ours = try TorchFixtures.bytes(atPath: path)
        let torch = try TorchFixtures.bytes(atPath: TorchFixtures.path(stem + ".pt"))
        #expect(ours.count == torch.count)
        if let first = zip(ours, torch).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("first difference at byte \(first) of \(torch.count)")
        }
    }

    @Test("a checkpoint read by our reader and written again is byte-identical (mapped views, in-kernel copies)")
    func rewriteFromMappedViews() throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-rewrite")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try TorchFile(path: TorchFixtures.path("writer_reference.pt"))
        let payloads = try source.tensors.map { ($0.name, TensorPayload(view: try source.view(of: $0))) }
        for (name, payload) in payloads {
            guard case let .view(view) = payload.source else { Issue.record("\(name) is not a view"); continue }
            #expect(view.mappedLocation != nil || view.byteCount == 0, "\(name) should be a zero-copy view")
        }
        let path = folder + "/writer_reference.pt"
        try TorchWriter.write(tensors: payloads, to: path)
        #expect(try TorchFixtures.bytes(atPath: path) == TorchFixtures.bytes(atPath: TorchFixtures.path("writer_reference.pt")))
    }

    @Test("sharded output equals huggingface_hub's split + torch.save, index included")
    func shardedByteIdentical() throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-shards")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let written = try TorchWriter.writeDirectory(tensors: try TorchFixtures.payloads("sharded"), into: folder, maxShardSize: 600)
        let reference = TorchFixtures.path("sharded")
        let expectedNames = try FileManager.default.contentsOfDirectory(atPath: reference).sorted()
        #expect(written.sorted() == expectedNames)
        #expect(written.last == TorchWriter.indexFileName)
        for name in expectedNames {
            #expect(try TorchFixtures.bytes(atPath: folder + "/" + name) == TorchFixtures.bytes(atPath: reference + "/" + name), "\(name)")
        }
    }

    @Test("a single shard is pytorch_model.bin with no index")
    func singleShard() throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-single")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let written = try TorchWriter.writeDirectory(tensors: try TorchFixtures.payloads("sharded"), into: folder, maxShardSize: 1 << 30)
        #expect(written == ["pytorch_model.bin"])
        let checkpoint = try TorchCheckpoint(path: folder)
        #expect(checkpoint.files.first?.archiveName == "pytorch_model")
        #expect(checkpoint.tensors.map(\.name) == (try TorchFixtures.expected("sharded")).map(\.name))
    }

    @Test("round trip: every golden (views, transposes, shared storages, big-endian) reads back equal",
          arguments: ["golden", "llama_tiny", "big_endian", "nested_model"])
    func roundTrip(stem: String) throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-roundtrip")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let source = try TorchFile(path: TorchFixtures.path(stem + ".pt"))
        let views = try source.tensors.map { ($0.name, try source.view(of: $0)) }
        let path = folder + "/out.bin"
        try TorchWriter.write(tensors: views.map { ($0.0, TensorPayload(view: $0.1)) }, to: path)
        let back = try TorchFile(path: path)
        #expect(back.archiveName == "out")
        #expect(back.tensors.map(\.name) == views.map(\.0))
        for (tensor, (name, view)) in zip(back.tensors, views) {
            #expect(tensor.isContiguous && tensor.dtype == view.dtype && tensor.shape == view.shape, "\(name)")
            #expect(TorchFixtures.bytes(of: try back.view(of: tensor)) == TorchFixtures.bytes(of: view), "\(name)")
        }
    }

    @Test("converted and produced payloads stream with the right bytes and CRCs")
    func convertedPayloads() throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-convert")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let values: [Float] = (0 ..< 1000).map { Float($0) * 0.25 - 100 }
        let source = try TensorView.float32(values, shape: [10, 100])
        let produced = try TensorPayload(dtype: .i32, shape: [3]) { buffer in
            for i in 0 ..< 3 { buffer.storeBytes(of: Int32(i - 1).littleEndian, toByteOffset: i * 4, as: Int32.self) }
        }
        let path = folder + "/c.pt"
        try TorchWriter.write(tensors: [("half", try TensorPayload(converting: source, to: .f16)),
                                        ("bf", try TensorPayload(converting: source, to: .bf16)),
                                        ("ints", produced)], to: path)
        let file = try TorchFile(path: path)
        #expect(file.tensors.map(\.dtype) == [.f16, .bf16, .i32])
        #expect(try file.view(of: file.tensors[0]).floats() == values)  // exact in f16
        #expect(try file.view(of: file.tensors[1]).floats() == source.converted(to: .bf16).floats())
        #expect(try file.view(of: file.tensors[2]).floats() == [-1, 0, 1])
        // Every stored CRC matches its data.
        for entry in file.zip.entries {
            let data = try file.file.bytes(offset: entry.dataOffset, count: entry.size, context: entry.name)
            #expect(ZipCRC32.checksum(data) == entry.crc32, "\(entry.name)")
            #expect(entry.dataOffset % 64 == 0, "\(entry.name) data is 64-byte aligned")
        }
    }

    @Test("ZIP64 fields (forced by a low threshold) are written as miniz writes them and read back", arguments: [0, 300, 5000])
    func zip64Fields(threshold: Int) throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-zip64")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let payloads = try TorchFixtures.payloads("writer_reference")
        let path = folder + "/z.pt"
        try TorchWriter.write(tensors: payloads, to: path, archiveName: "z", progress: nil, zip64Threshold: threshold)
        let file = try TorchFile(path: path)
        let expected = try TorchFixtures.expected("writer_reference")
        #expect(file.tensors.map(\.name) == expected.map(\.name))
        for (tensor, want) in zip(file.tensors, expected) {
            #expect(TorchFixtures.bytes(of: try file.view(of: tensor)) == want.bytes, "\(want.name)")
        }
        for entry in file.zip.entries {
            #expect(entry.dataOffset % 64 == 0, "\(entry.name)")
        }
        // With threshold 0 every header carries a ZIP64 block: 0xFFFFFFFF in the central fields.
        if threshold == 0 {
            let bytes = try TorchFixtures.bytes(atPath: path)
            let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
            let central = try #require(bytes.indices.first { bytes[$0...].starts(with: signature) })
            #expect(Array(bytes[central + 20 ..< central + 28]) == [UInt8](repeating: 0xFF, count: 8))  // sizes
            #expect(Array(bytes[central + 42 ..< central + 46]) == [UInt8](repeating: 0xFF, count: 4))  // offset
        }
    }

    @Test("archive names follow torch's basename rule")
    func archiveNames() {
        #expect(TorchWriter.archiveName(forPath: "/a/b/pytorch_model.bin") == "pytorch_model")
        #expect(TorchWriter.archiveName(forPath: "model.tar.pt") == "model.tar")
        #expect(TorchWriter.archiveName(forPath: "noext") == "noext")
        #expect(TorchWriter.archiveName(forPath: "dir/.pt") == "archive")
        #expect(TorchWriter.archiveName(forPath: "dir/") == "archive")
        #expect(TorchWriter.archiveName(forPath: "/tmp/modèle.pt") == "archive")
    }

    @Test("bad inputs are refused before the file is created")
    func refusals() throws {
        let folder = try FixturePaths.scratchDirectory("quanta-torch-refuse")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/x.pt"
        let one = TensorPayload(view: try TensorView.float32([1], shape: [1]))
        #expect(throws: TorchError.duplicateTensorName(name: "a")) {
            try TorchWriter.write(tensors: [("a", one), ("a", one)], to: path)
        }
        #expect(throws: TorchError.emptyTensorName(position: 1)) {
            try TorchWriter.write(tensors: [("a", one), ("", one)], to: path)
        }
        let lying = try TensorPayload(dtype: .f32, shape: [2]) { buffer in
            _ = buffer  // writes nothing, which is fine: the buffer is zeroed
        }
        try TorchWriter.write(tensors: [("zeros", lying)], to: path)
        #expect(try TorchFile(path: path).tensors.first?.shape == [2])
        try FileManager.default.removeItem(atPath: path)
        #expect(throws: TorchError.self) {
            try TorchWriter.write(tensors: [("a", one), ("a", one)], to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
