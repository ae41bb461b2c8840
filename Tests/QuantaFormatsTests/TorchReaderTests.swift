import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// torch.save goldens read exactly: names in pickle order, dtypes, shapes, strides, storage
/// offsets and every byte of every tensor.
@Suite("Torch reader")
struct TorchReaderTests {
    static let singleFiles = ["golden", "nested_state_dict", "nested_model", "llama_tiny", "writer_reference",
                              "writer_many", "big_endian"]

    @Test("every golden tensor reads exactly", arguments: singleFiles)
    func goldenTensors(stem: String) throws {
        let expected = try TorchFixtures.expected(stem)
        let file = try TorchFile(path: TorchFixtures.path(stem + ".pt"))
        #expect(file.tensors.map(\.name) == expected.map(\.name))
        for (tensor, want) in zip(file.tensors, expected) {
            #expect(tensor.dtype == want.dtype, "\(want.name)")
            #expect(tensor.shape == want.shape, "\(want.name)")
            #expect(tensor.strides == want.stride, "\(want.name)")
            #expect(tensor.storageOffset == want.storageOffset, "\(want.name)")
            #expect(tensor.isContiguous == want.contiguous, "\(want.name)")
            let view = try file.view(of: tensor)
            #expect(view.dtype == want.dtype && view.shape == want.shape, "\(want.name)")
            #expect(TorchFixtures.bytes(of: view) == want.bytes, "\(want.name)")
        }
    }

    @Test("contiguous tensors are zero-copy views into the map; others are gathered copies")
    func zeroCopy() throws {
        let file = try TorchFile(path: TorchFixtures.path("golden.pt"))
        for tensor in file.tensors {
            let view = try file.view(of: tensor)
            if tensor.isContiguous && tensor.elementCount > 0 {
                let location = try #require(view.mappedLocation, "\(tensor.name)")
                #expect(location.offset == tensor.storage.dataOffset + tensor.storageOffset * tensor.dtype.byteSize)
            } else {
                #expect(view.mappedLocation == nil, "\(tensor.name)")
            }
        }
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        let transposed = try #require(byName["transposed"])
        #expect(!transposed.isContiguous && transposed.strides == [1, 5])
        let expanded = try #require(byName["expanded"])
        #expect(expanded.strides == [0, 1] && expanded.storage.elementCount == 3)
    }

    @Test("shared storages: views of one storage, and one tensor under two names")
    func sharedStorages() throws {
        let file = try TorchFile(path: TorchFixtures.path("golden.pt"))
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        let first = try #require(byName["shared.first"]), second = try #require(byName["shared.second"])
        let window = try #require(byName["shared.window"])
        #expect(first.storage == second.storage && second.storage == window.storage)
        #expect(first.storage.elementCount == 24)
        #expect(second.storageOffset == 12 && window.storageOffset == 5)
        let tiedA = try #require(byName["tied.a"]), tiedB = try #require(byName["tied.b"])
        #expect(tiedA.storage == tiedB.storage && tiedA.shape == tiedB.shape)
        // Fewer storages than tensors: the pickle named each shared storage once.
        #expect(file.pickle.storages.count < file.tensors.count)
    }

    @Test("a state dict from nn.Module carries _metadata through BUILD")
    func metadataAttribute() throws {
        let file = try TorchFile(path: TorchFixtures.path("llama_tiny.pt"))
        guard case let .dict(root) = file.pickle.root else { Issue.record("root is not a dict"); return }
        let dict = file.pickle.dicts[root]
        #expect(dict.isOrdered)
        #expect(dict.attributes.map(\.name) == ["_metadata"])
        #expect(file.ignoredKeys.isEmpty)
        // Tied embeddings: lm_head.weight is the same tensor object as embed_tokens.weight.
        let byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        let head = try #require(byName["lm_head.weight"]), embed = try #require(byName["model.embed_tokens.weight"])
        #expect(head.storage == embed.storage)
    }

    @Test("state dicts nested under state_dict or model are found")
    func nested() throws {
        for stem in ["nested_state_dict", "nested_model"] {
            let file = try TorchFile(path: TorchFixtures.path(stem + ".pt"))
            #expect(file.tensors.map(\.name) == ["weight", "bias"], "\(stem)")
        }
    }

    @Test("the byteorder record: big-endian data is swapped on read")
    func bigEndian() throws {
        let file = try TorchFile(path: TorchFixtures.path("big_endian.pt"))
        #expect(file.isBigEndian)
        for tensor in file.tensors where tensor.dtype.byteSize > 1 {
            #expect(try file.view(of: tensor).mappedLocation == nil, "\(tensor.name) must be swapped into a copy")
        }
        let little = try TorchFile(path: TorchFixtures.path("golden.pt"))
        #expect(!little.isBigEndian)
        #expect(little.archiveName == "golden" && little.formatVersion == 3)
    }

    @Test("a sharded checkpoint: index validated, shards in sorted order")
    func sharded() throws {
        let expected = try TorchFixtures.expected("sharded")
        for path in [TorchFixtures.path("sharded"), TorchFixtures.path("sharded/pytorch_model.bin.index.json")] {
            let checkpoint = try TorchCheckpoint(path: path)
            #expect(checkpoint.shardPaths.map { ($0 as NSString).lastPathComponent } == [
                "pytorch_model-00001-of-00003.bin", "pytorch_model-00002-of-00003.bin", "pytorch_model-00003-of-00003.bin",
            ])
            #expect(checkpoint.indexPath != nil)
            #expect(checkpoint.indexMetadata?["total_size"]?.intValue == 1584)
            #expect(checkpoint.tensors.map(\.name) == expected.map(\.name))
            for ((name, view), want) in zip(checkpoint.tensors, expected) {
                #expect(view.dtype == want.dtype && view.shape == want.shape, "\(name)")
                #expect(TorchFixtures.bytes(of: view) == want.bytes, "\(name)")
            }
        }
    }

    @Test("a single file opens as a checkpoint, by path or by folder")
    func singleFileCheckpoint() throws {
        let checkpoint = try TorchCheckpoint(path: TorchFixtures.path("golden.pt"))
        let expected = try TorchFixtures.expected("golden")
        #expect(checkpoint.indexPath == nil && checkpoint.files.count == 1)
        #expect(checkpoint.tensors.map(\.name) == expected.map(\.name))
        let view = try #require(checkpoint.tensor(named: "transposed"))
        #expect(TorchFixtures.bytes(of: view) == expected.first { $0.name == "transposed" }?.bytes)

        let folder = try FixturePaths.scratchDirectory("quanta-torch-folder")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: TorchFixtures.path("nested_model.pt"), toPath: folder + "/model.pth")
        #expect(try TorchCheckpoint(path: folder).tensors.map(\.name) == ["weight", "bias"])
    }

    @Test("the legacy pre-1.6 format is refused by name")
    func legacy() throws {
        let path = TorchFixtures.path("legacy.pt")
        let error = #expect(throws: TorchError.self) { _ = try TorchFile(path: path) }
        guard let error, case let .legacyFormat(file, kind) = error else { Issue.record("wrong error \(String(describing: error))"); return }
        #expect(file == path && kind.contains("raw pickle"))
        #expect("\(error)".contains("legacy torch.save format"))
    }

    @Test("sharded checkpoints whose index disagrees with the shards are refused")
    func badIndexes() throws {
        let source = TorchFixtures.path("sharded")
        let cases: [(String, (String) -> String, (TorchError) -> Bool)] = [
            ("missing tensor", { $0.replacingOccurrences(of: "\"lm_head.weight\"", with: "\"lm_head.weight.missing\"") }, {
                if case .tensorNotInIndex = $0 { return true }; return false
            }),
            ("wrong shard", { $0.replacingOccurrences(of: "\"lm_head.weight\": \"pytorch_model-00003-of-00003.bin\"",
                                                         with: "\"lm_head.weight\": \"pytorch_model-00002-of-00003.bin\"") }, {
                if case .tensorInTwoShards = $0 { return true }; if case .tensorMissingFromShard = $0 { return true }; return false
            }),
            ("escaping path", { $0.replacingOccurrences(of: "\"pytorch_model-00003-of-00003.bin\"", with: "\"../x.bin\"") }, {
                if case .unsafeShardPath = $0 { return true }; return false
            }),
            ("absent shard", { $0.replacingOccurrences(of: "\"pytorch_model-00003-of-00003.bin\"", with: "\"pytorch_model-00009-of-00009.bin\"") }, {
                if case .missingShard = $0 { return true }; return false
            }),
        ]
        for (label, edit, check) in cases {
            let folder = try FixturePaths.scratchDirectory("quanta-torch-index")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for name in try FileManager.default.contentsOfDirectory(atPath: source) {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: folder + "/" + name)
            }
            let indexPath = folder + "/pytorch_model.bin.index.json"
            let text = try String(contentsOfFile: indexPath, encoding: .utf8)
            let edited = edit(text)
            #expect(edited != text, "\(label): edit did not apply")
            try edited.write(toFile: indexPath, atomically: true, encoding: .utf8)
            let error = #expect(throws: TorchError.self, "\(label)") { _ = try TorchCheckpoint(path: folder) }
            if let error { #expect(check(error), "\(label): \(error)") }
        }
    }
}
