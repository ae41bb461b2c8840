import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

@Suite("Safetensors sharding")
struct SafetensorsShardTests {
    struct PlanCase: Sendable, CustomStringConvertible {
        let sizes: [Int]
        let maxShardSize: Int
        let files: [String]
        let shards: [[Int]]
        var description: String { "\(sizes) max \(maxShardSize)" }
    }

    static func planCases() throws -> [PlanCase] {
        let root = try SafetensorsFixtures.json("shard_plans.json")
        return try #require(root["plans"]?.arrayValue).map { plan in
            PlanCase(sizes: try #require(plan["sizes"]?.arrayValue).map { try #require($0.intValue) },
                     maxShardSize: try #require(plan["max_shard_size"]?.intValue),
                     files: try #require(plan["files"]?.arrayValue).map { try #require($0.stringValue) },
                     shards: try #require(plan["shards"]?.arrayValue).map { shard in
                         try #require(shard.arrayValue).map { try #require($0.intValue) }
                     })
        }
    }

    @Test func planMatchesHuggingfaceHub() throws {
        let cases = try Self.planCases()
        #expect(cases.count >= 8)
        for plan in cases {
            let ours = SafetensorsShards.plan(sizes: plan.sizes, maxShardSize: plan.maxShardSize)
            #expect(ours == plan.shards, "\(plan)")
            let names = SafetensorsShards.fileNames(count: ours.count)
            let expectedNames = plan.files.count == 1 ? ["model.safetensors"] : plan.files
            #expect(names == expectedNames, "\(plan)")
        }
    }

    @Test func fileNamesPadToFiveDigits() {
        #expect(SafetensorsShards.fileNames(count: 1) == ["model.safetensors"])
        #expect(SafetensorsShards.fileNames(count: 3)
            == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        #expect(SafetensorsShards.fileNames(count: 123_456).last == "model-123456-of-123456.safetensors")
    }

    @Test func byteSizesMatchTransformers() throws {
        let root = try SafetensorsFixtures.json("shard_plans.json")
        let pairs = try #require(root["byte_sizes"]?.arrayValue)
        #expect(pairs.count >= 10)
        for pair in pairs {
            let text = try #require(pair.arrayValue?.first?.stringValue)
            let bytes = try #require(pair.arrayValue?.last?.intValue)
            #expect(try SafetensorsShards.parseByteSize(text) == bytes, "\(text)")
        }
        #expect(try SafetensorsShards.parseByteSize("1000") == 1000)
        #expect(try SafetensorsShards.parseByteSize(" 2GiB ") == 2 << 30)
    }

    @Test(arguments: ["", "GB", "-5GB", "5TB", "1.5GB", "abc", "5 G B", "0x10", "99999999999999999999GB", "12XB"])
    func badByteSizesThrow(_ text: String) {
        #expect(throws: SafetensorsError.invalidByteSize(text: text)) { _ = try SafetensorsShards.parseByteSize(text) }
    }

    /// Rewrites transformers' tiny Llama checkpoint from our reader's views, in its state-dict
    /// order, and compares every shard and the index byte for byte.
    @Test func directoryMatchesSavePretrained() throws {
        let plan = try SafetensorsFixtures.json("sharded_plan.json")
        let reference = SafetensorsFixtures.path("sharded")
        let checkpoint = try SafetensorsCheckpoint(path: reference)
        let order = try #require(plan["state_dict_order"]?.arrayValue).map { try #require($0.arrayValue?.first?.stringValue) }
        let tensors = try order.map { name in (name, TensorPayload(view: try #require(checkpoint.tensor(named: name)).view)) }
        let maxShard = try #require(plan["max_shard_bytes"]?.intValue)
        #expect(try SafetensorsShards.parseByteSize(try #require(plan["max_shard_size"]?.stringValue)) == maxShard)
        let totalParameters = try #require(plan["total_parameters"]?.intValue)

        let dir = try FixturePaths.scratchDirectory("st-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let written = try SafetensorsShards.writeDirectory(tensors: tensors, metadata: [("format", "pt")], into: dir,
                                                           maxShardSize: maxShard)
        let expectedFiles = (1 ... 7).map { "model-0000\($0)-of-00007.safetensors" } + ["model.safetensors.index.json"]
        #expect(written == expectedFiles)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == expectedFiles.sorted())
        for name in expectedFiles {
            let ours = try SafetensorsFixtures.bytes(atPath: dir + "/" + name)
            let theirs = try SafetensorsFixtures.bytes(atPath: reference + "/" + name)
            #expect(ours == theirs, "\(name): first difference at \(String(describing: SafetensorsFixtures.firstDifference(ours, theirs)))")
        }
        // The default total_parameters (sum of element counts) is num_parameters() for this model.
        let index = try SafetensorsFixtures.json("sharded/model.safetensors.index.json")
        #expect(index["metadata"]?["total_parameters"]?.intValue == totalParameters)
        // And the result opens as a checkpoint.
        #expect(try SafetensorsCheckpoint(path: dir).tensors.count == order.count)
    }

    @Test func singleShardHasNoIndex() throws {
        let dir = try FixturePaths.scratchDirectory("st-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try SafetensorsFile(path: SafetensorsFixtures.path("dtypes.safetensors"))
        let tensors = source.tensors.map { ($0.name, TensorPayload(view: $0.view)) }
        let written = try SafetensorsShards.writeDirectory(tensors: tensors, metadata: nil, into: dir, maxShardSize: 1 << 30)
        #expect(written == ["model.safetensors"])
        #expect(try SafetensorsFixtures.bytes(atPath: dir + "/model.safetensors") == (try SafetensorsFixtures.bytes(atPath: source.path)))
    }

    @Test func indexEscapesLikePythonJSON() {
        let text = SafetensorsShards.indexJSON(
            weightMap: [("b", "model-00002-of-00002.safetensors"), ("é\u{1}", "model-00001-of-00002.safetensors"),
                        ("a", "model-00001-of-00002.safetensors")],
            totalSize: 10, totalParameters: 5)
        // json.dumps(index, indent=2, sort_keys=True) + "\n"
        let python = """
        {
          "metadata": {
            "total_parameters": 5,
            "total_size": 10
          },
          "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
            "\\u00e9\\u0001": "model-00001-of-00002.safetensors"
          }
        }

        """
        #expect(text == python)
    }

    @Test func duplicateNamesAcrossShardsFailBeforeWriting() throws {
        let dir = try FixturePaths.scratchDirectory("st-shards")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let payload = TensorPayload(view: try TensorView.float32([1, 2, 3, 4], shape: [4]))
        #expect(throws: SafetensorsError.duplicateTensorName(name: "a")) {
            try SafetensorsShards.writeDirectory(tensors: [("a", payload), ("b", payload), ("a", payload)],
                                                 metadata: nil, into: dir, maxShardSize: 16)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == [])
    }
}
