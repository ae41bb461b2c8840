import Foundation
import Testing

/// `quanta inspect` end to end: text and `--json` against values known from the fixtures.
@Suite struct InspectCommandTests {
    /// fixtures/engine/tiny-llama (make_engine.py: vocab 320, hidden 64, ffn 160, 3 layers,
    /// 8 heads / 2 kv heads of dim 8, tied embeddings, float32):
    /// embed 320·64 + 3·(q 64·64 + k 16·64 + v 16·64 + o 64·64 + 3·160·64 + 2·64) + norm 64.
    static let tinyLlamaTensors = 29
    static let tinyLlamaParameters = 143_808

    @Test func textReportOfAHuggingFaceDirectory() throws {
        let result = try QuantaCLI.run(["inspect", FixturePaths.fixture("engine/tiny-llama")])
        #expect(result.exitCode == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("format:        safetensors"), "\(result)")
        #expect(lines.contains("architecture:  llama"), "\(result)")
        #expect(lines.contains("tensors:       \(Self.tinyLlamaTensors)"), "\(result)")
        #expect(lines.contains { $0.hasPrefix("parameters:    \(Self.tinyLlamaParameters) ") }, "\(result)")
        #expect(lines.contains { $0.hasPrefix("bytes:         \(Self.tinyLlamaParameters * 4) ") }, "\(result)")
        #expect(lines.contains { $0.contains("layers 3, hidden 64, ffn 160, heads 8/2 kv, head dim 8, vocab 320") }, "\(result)")
        // Without --tensors no tensor is listed.
        #expect(!result.stdout.contains("model.layers.0.self_attn.q_proj.weight"), "\(result)")
    }

    @Test func textReportListsEveryTensorWithTheFlag() throws {
        let path = FixturePaths.fixture("engine/tiny-llama")
        let layout = try SafetensorsLayout(path: path + "/model.safetensors")
        let result = try QuantaCLI.run(["inspect", "--tensors", path])
        #expect(result.exitCode == 0, "\(result)")
        for (name, entry) in layout.tensors {
            let line = "  \(name)  \(entry.dtype)  \(entry.shape)  \(entry.end - entry.begin) B"
            #expect(result.stdout.split(separator: "\n").contains(Substring(line)), "missing line '\(line)'\n\(result)")
        }
    }

    @Test func jsonReportOfAHuggingFaceDirectory() throws {
        let path = FixturePaths.fixture("engine/tiny-llama")
        let result = try QuantaCLI.run(["inspect", "--json", path])
        #expect(result.exitCode == 0, "\(result)")
        let json = try result.jsonObject()
        #expect(json["format"] as? String == "safetensors")
        #expect(json["architecture"] as? String == "llama")
        #expect(json["tensor_count"] as? Int == Self.tinyLlamaTensors)
        #expect(json["parameter_count"] as? Int == Self.tinyLlamaParameters)
        #expect(json["bytes"] as? Int == Self.tinyLlamaParameters * 4)
        let types = try #require(json["types"] as? [[String: Any]])
        #expect(types.count == 1)
        #expect(types.first?["type"] as? String == "F32")
        #expect(types.first?["tensors"] as? Int == Self.tinyLlamaTensors)
        // Every tensor of the file, with the header's dtype, shape and byte length.
        let layout = try SafetensorsLayout(path: path + "/model.safetensors")
        let rows = try #require(json["tensors"] as? [[String: Any]])
        #expect(rows.count == layout.tensors.count)
        for row in rows {
            let name = try #require(row["name"] as? String)
            let entry = try #require(layout.tensors[name], "unexpected tensor \(name)")
            #expect(row["type"] as? String == entry.dtype, "\(name)")
            #expect(row["shape"] as? [Int] == entry.shape, "\(name)")
            #expect(row["bytes"] as? Int == entry.end - entry.begin, "\(name)")
        }
    }

    /// A sharded checkpoint through its directory: transformers wrote the totals into the index.
    @Test func jsonReportOfAShardedCheckpointMatchesItsIndex() throws {
        let folder = FixturePaths.fixture("safetensors/sharded")
        let index = try TestFiles.jsonObject(folder + "/model.safetensors.index.json")
        let totals = try #require(index["metadata"] as? [String: Any])
        let weightMap = try #require(index["weight_map"] as? [String: String])
        for path in [folder, folder + "/model.safetensors.index.json"] {
            let result = try QuantaCLI.run(["inspect", "--json", path])
            #expect(result.exitCode == 0, "\(result)")
            let json = try result.jsonObject()
            #expect(json["format"] as? String == "safetensors")
            #expect(json["architecture"] as? String == "llama")
            #expect(json["tensor_count"] as? Int == weightMap.count)
            #expect(json["parameter_count"] as? Int == totals["total_parameters"] as? Int)
            #expect(json["bytes"] as? Int == totals["total_size"] as? Int)
            let names = Set(try #require(json["tensors"] as? [[String: Any]]).compactMap { $0["name"] as? String })
            #expect(names == Set(weightMap.keys))
        }
    }

    /// A raw tensor map of every dtype (no config: architecture unknown), against the JSON that
    /// the reference library wrote next to it.
    @Test func jsonReportOfEveryDType() throws {
        let expected = try TestFiles.jsonObject(FixturePaths.fixture("safetensors/dtypes.json"))
        let tensors = try #require(expected["tensors"] as? [[String: Any]])
        let result = try QuantaCLI.run(["inspect", "--json", "--tensors", FixturePaths.fixture("safetensors/dtypes.safetensors")])
        #expect(result.exitCode == 0, "\(result)")
        let json = try result.jsonObject()
        #expect(json["format"] as? String == "safetensors")
        #expect(json["architecture"] as? String == "unknown")
        #expect(json["tensor_count"] as? Int == tensors.count)
        var parameters = 0
        var byType: [String: Int] = [:]
        for tensor in tensors {
            parameters += (tensor["shape"] as? [Int] ?? []).reduce(1, *)
            byType[tensor["dtype"] as? String ?? "?", default: 0] += 1
        }
        #expect(json["parameter_count"] as? Int == parameters)
        let types = try #require(json["types"] as? [[String: Any]])
        var reported: [String: Int] = [:]
        for t in types { reported[t["type"] as? String ?? "?"] = t["tensors"] as? Int }
        #expect(reported == byType)
        let rows = try #require(json["tensors"] as? [[String: Any]])
        let rowsByName = Dictionary(rows.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for tensor in tensors {
            let name = try #require(tensor["name"] as? String)
            let row = try #require(rowsByName[name], "\(name) missing")
            #expect(row["type"] as? String == tensor["dtype"] as? String, "\(name)")
            #expect(row["shape"] as? [Int] == tensor["shape"] as? [Int], "\(name)")
        }
    }

    /// The real model, against the summary gguf-py wrote (fixtures/gguf/smollm2_summary.json).
    @Test func jsonReportOfTheRealGGUFModel() throws {
        let summary = try TestFiles.jsonObject(FixturePaths.fixture("gguf/smollm2_summary.json"))
        let tensors = try #require(summary["tensors"] as? [[String: Any]])
        let result = try QuantaCLI.run(["inspect", "--json", RealModel.path])
        #expect(result.exitCode == 0, "\(result)")
        let json = try result.jsonObject()
        #expect(json["format"] as? String == "gguf")
        #expect(json["architecture"] as? String == "llama")
        #expect(json["tensor_count"] as? Int == summary["tensor_count"] as? Int)
        let parameters = tensors.reduce(0) { $0 + ($1["dims"] as? [Int] ?? []).reduce(1, *) }
        #expect(parameters == RealModel.parameterCount)
        #expect(json["parameter_count"] as? Int == parameters)
        #expect(json["bytes"] as? Int == tensors.reduce(0) { $0 + ($1["byte_count"] as? Int ?? 0) })
        var byType: [String: Int] = [:]
        for t in tensors { byType[t["type"] as? String ?? "?", default: 0] += 1 }
        let types = try #require(json["types"] as? [[String: Any]])
        var reported: [String: Int] = [:]
        for t in types { reported[t["type"] as? String ?? "?"] = t["tensors"] as? Int }
        #expect(reported == byType)
        // Metadata: every key of the file, as typed JSON values; long arrays summarized.
        let metadata = try #require(json["metadata"] as? [String: Any])
        let keys = try #require(summary["keys"] as? [String])
        #expect(Set(metadata.keys) == Set(keys))
        #expect(metadata["general.architecture"] as? String == "llama")
        #expect(metadata["llama.block_count"] as? Int == 30)
        let tokens = try #require(metadata["tokenizer.ggml.tokens"] as? [String: Any])
        #expect(tokens["count"] as? Int == 49152 && tokens["array_of"] as? String == "STRING")
    }

    @Test func textReportOfTheRealGGUFModel() throws {
        let result = try QuantaCLI.run(["inspect", RealModel.path])
        #expect(result.exitCode == 0, "\(result)")
        #expect(result.stdout.contains("format:        gguf"), "\(result)")
        #expect(result.stdout.contains("architecture:  llama"), "\(result)")
        #expect(result.stdout.contains("parameters:    \(RealModel.parameterCount) "), "\(result)")
        #expect(result.stdout.contains("layers 30, hidden 576, ffn 1536, heads 9/3 kv, head dim 64, vocab 49152"), "\(result)")
    }
}

/// The tests must run the `quanta` built with them, not a stale one from another build folder.
@Suite struct ExecutableLocationTests {
    @Test func theBinaryNextToTheTestsIsPreferred() throws {
        let found = try QuantaCLI.executable()
        if ProcessInfo.processInfo.environment["QUANTA_BIN"]?.isEmpty == false { return }
        let testBinary = try #require(Bundle.main.executableURL).resolvingSymlinksInPath()
        let neighbour = testBinary.deletingLastPathComponent().appendingPathComponent("quanta").path
        if FileManager.default.isExecutableFile(atPath: neighbour) {
            #expect(found == neighbour)
        }
        let version = try QuantaCLI.run(["--version"])
        #expect(version.exitCode == 0, "\(version)")
        #expect(!version.stdout.isEmpty, "\(version)")
    }
}
