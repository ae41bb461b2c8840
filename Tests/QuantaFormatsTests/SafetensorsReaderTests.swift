import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

@Suite("Safetensors reader")
struct SafetensorsReaderTests {
    @Test("reads every reference file exactly", arguments: SafetensorsFixtures.stems)
    func readsFixture(_ stem: String) throws {
        let sidecar = try SafetensorsFixtures.sidecar(stem)
        let file = try SafetensorsFile(path: SafetensorsFixtures.path("\(stem).safetensors"))
        #expect(file.names == sidecar.fileOrder)
        #expect(file.tensors.count == sidecar.tensors.count)
        for expected in sidecar.tensors {
            let tensor = try #require(file.tensor(named: expected.name), "missing \(expected.name)")
            #expect(tensor.dtype == expected.dtype)
            #expect(tensor.shape == expected.shape)
            #expect(tensor.view.dtype == expected.dtype)
            #expect(tensor.view.shape == expected.shape)
            #expect(tensor.view.byteCount == expected.bytes.count)
            #expect(SafetensorsFixtures.viewBytes(tensor.view) == expected.bytes, "bytes of \(expected.name)")
        }
        #expect(file.hasMetadata == (sidecar.metadata != nil))
        let metadata = file.metadata.map { [$0.key, $0.value] }
        #expect(metadata == (sidecar.metadata ?? []).map { [$0.0, $0.1] })
        #expect(file.tensor(named: "no such tensor") == nil)
    }

    @Test func viewsPointIntoTheMapInOffsetOrder() throws {
        let file = try SafetensorsFile(path: SafetensorsFixtures.path("dtypes.safetensors"))
        var expectedOffset = file.dataStart
        for tensor in file.tensors {
            let location = try #require(tensor.view.mappedLocation)
            #expect(location.file === file.file)
            #expect(location.offset == expectedOffset)
            #expect(tensor.dataOffsets.lowerBound == expectedOffset - file.dataStart)
            expectedOffset += tensor.view.byteCount
        }
        #expect(expectedOffset == file.file.size)
    }

    @Test func decodedValuesMatchTorch() throws {
        let file = try SafetensorsFile(path: SafetensorsFixtures.path("special_shapes.safetensors"))
        #expect(try #require(file.tensor(named: "scalar.f32")).view.floats() == [3.25])
        #expect(try #require(file.tensor(named: "scalar.i64")).view.floats() == [-42])
        #expect(try #require(file.tensor(named: "scalar.bf16")).view.floats() == [FloatBits.bf16ToFloat(0x3DCD)])
        #expect(try #require(file.tensor(named: "empty.rows")).view.elementCount == 0)
        #expect(try #require(file.tensor(named: "empty.cols")).shape == [2, 0])
        #expect(try #require(file.tensor(named: "one")).view.floats() == [1])
    }

    @Test func readsTheShardedCheckpoint() throws {
        let directory = SafetensorsFixtures.path("sharded")
        let plan = try SafetensorsFixtures.json("sharded_plan.json")
        let stateDict = try #require(plan["state_dict_order"]?.arrayValue)
        let index = try SafetensorsFixtures.json("sharded/model.safetensors.index.json")
        let weightMap = try #require(index["weight_map"]?.objectValue)

        for path in [directory, directory + "/", directory + "/model.safetensors.index.json"] {
            let checkpoint = try SafetensorsCheckpoint(path: path)
            #expect(checkpoint.indexPath?.hasSuffix("model.safetensors.index.json") == true)
            #expect(checkpoint.shardPaths.map { ($0 as NSString).lastPathComponent }
                == (1 ... 7).map { "model-0000\($0)-of-00007.safetensors" })
            #expect(checkpoint.tensors.count == stateDict.count)
            #expect(checkpoint.metadata.map(\.key) == ["format"])
            #expect(checkpoint.indexMetadata?["total_size"] == .int(139904))
            for entry in stateDict {
                let name = try #require(entry.arrayValue?.first?.stringValue)
                let size = try #require(entry.arrayValue?.last?.intValue)
                let tensor = try #require(checkpoint.tensor(named: name))
                #expect(tensor.view.byteCount == size)
                let shard = try #require(weightMap[name]?.stringValue)
                #expect(tensor.view.mappedLocation?.file.path.hasSuffix("/" + shard) == true)
            }
            // Shards in order, each in offset order.
            let expectedOrder = checkpoint.shards.flatMap(\.names)
            #expect(checkpoint.tensors.map(\.name) == expectedOrder)
        }
    }

    @Test func opensSingleFilesAndFolders() throws {
        let dir = try FixturePaths.scratchDirectory("st-open")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = SafetensorsFixtures.path("dtypes.safetensors")
        try FileManager.default.copyItem(atPath: source, toPath: dir + "/weights.safetensors")
        let byFolder = try SafetensorsCheckpoint(path: dir)
        #expect(byFolder.indexPath == nil)
        #expect(byFolder.tensors.map(\.name) == (try SafetensorsFile(path: source)).names)
        let byFile = try SafetensorsCheckpoint(path: dir + "/weights.safetensors")
        #expect(byFile.shards.count == 1)

        // Two files and no index: ambiguous unless one is model.safetensors.
        try FileManager.default.copyItem(atPath: SafetensorsFixtures.path("names.safetensors"), toPath: dir + "/other.safetensors")
        #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint(path: dir) }
        try FileManager.default.copyItem(atPath: SafetensorsFixtures.path("special_shapes.safetensors"), toPath: dir + "/model.safetensors")
        #expect(try SafetensorsCheckpoint(path: dir).shardPaths == [dir + "/model.safetensors"])
    }

    @Test func missingPathsAndEmptyFoldersAreClearErrors() throws {
        let dir = try FixturePaths.scratchDirectory("st-open")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: SafetensorsError.noCheckpoint(path: dir, reason: "holds no .safetensors file and no model.safetensors.index.json")) {
            _ = try SafetensorsCheckpoint(path: dir)
        }
        #expect(throws: SafetensorsError.self) { _ = try SafetensorsCheckpoint(path: dir + "/nope.safetensors") }
        #expect(throws: CoreError.self) { _ = try SafetensorsFile(path: dir + "/nope.safetensors") }
    }
}
