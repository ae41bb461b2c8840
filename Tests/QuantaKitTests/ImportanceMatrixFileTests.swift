import Foundation
import QuantaCore
import QuantaFormats
import QuantaKit
import Testing

/// Reading and writing llama.cpp's importance-matrix files, against files llama-imatrix wrote
/// (fixtures/make_imatrix.sh) and what gguf-py reads from them.
@Suite("Importance matrix files")
struct ImportanceMatrixFileTests {
    @Test("the GGUF imatrix reads as gguf-py reads it: names, values, counts, metadata")
    func ggufMatchesGGUFPy() throws {
        let dump = try ImatrixFixtures.dump()
        let matrix = try ImportanceMatrix.load(path: ImatrixFixtures.gguf)
        #expect(matrix.format == .gguf)
        #expect(dump.keys == ["general.type", "imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"])
        #expect(matrix.datasets == dump.datasets && matrix.datasets == ["calibration.txt"])
        #expect(matrix.chunkCount == dump.chunkCount && matrix.chunkCount == ImatrixFixtures.chunks)
        #expect(matrix.chunkSize == dump.chunkSize && matrix.chunkSize == ImatrixFixtures.contextLength)
        // File order: per entry in name order, in_sum2 then counts.
        let names = dump.tensors.map(\.name)
        #expect(names == matrix.tensorNames.flatMap { [$0 + ".in_sum2", $0 + ".counts"] })
        #expect(matrix.tensorNames.count == 14, "2 layers × attn_q/k/v/output + ffn_gate/up/down")
        for tensor in dump.tensors {
            #expect(tensor.type == "F32")
            if tensor.name.hasSuffix(".in_sum2") {
                let entry = try #require(matrix.entry(for: String(tensor.name.dropLast(8))))
                #expect(entry.sums.map(\.bitPattern) == tensor.values.map(\.bitPattern), "\(tensor.name)")
                #expect(tensor.ne == [entry.columns], "a dense weight's in_sum2 is 1-D: \(tensor.ne)")
            } else {
                let entry = try #require(matrix.entry(for: String(tensor.name.dropLast(7))))
                #expect(entry.counts == tensor.values.map { Double($0) } && tensor.ne == [1])
                #expect(entry.counts == [Double(ImatrixFixtures.chunks * ImatrixFixtures.contextLength)])
            }
        }
    }

    @Test("importance(for:) is in_sum2 / counts in f32, as llama-quantize's load_imatrix divides")
    func importanceIsMeanSquare() throws {
        let dump = try ImatrixFixtures.dump()
        let matrix = try ImportanceMatrix.load(path: ImatrixFixtures.gguf)
        let byName = Dictionary(uniqueKeysWithValues: dump.tensors.map { ($0.name, $0.values) })
        for name in matrix.tensorNames {
            let sums = try #require(byName[name + ".in_sum2"]), count = try #require(byName[name + ".counts"]?.first)
            let importance = try #require(matrix.importance(for: name))
            #expect(importance.map(\.bitPattern) == sums.map { ($0 / count).bitPattern }, "\(name)")
        }
        #expect(matrix.importance(for: "token_embd.weight") == nil)
    }

    @Test("write(to:) of a read file gives llama-imatrix's bytes back", arguments: [ImatrixFixtures.gguf, ImatrixFixtures.withOutput])
    func ggufRoundTripIsByteExact(_ path: String) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let matrix = try ImportanceMatrix.load(path: path)
        try matrix.write(to: scratch + "/copy.gguf")
        #expect(try ImatrixFixtures.bytes(scratch + "/copy.gguf") == ImatrixFixtures.bytes(path))
        #expect(try ImportanceMatrix.load(path: scratch + "/copy.gguf") == matrix)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == ["copy.gguf"], "no temporary left")
    }

    @Test("--process-output adds output.weight (a separate head) and nothing else")
    func processOutputEntry() throws {
        let plain = try ImportanceMatrix.load(path: ImatrixFixtures.gguf)
        let withOutput = try ImportanceMatrix.load(path: ImatrixFixtures.withOutput)
        #expect(Set(withOutput.tensorNames).subtracting(plain.tensorNames) == ["output.weight"])
        #expect(withOutput.entry(for: "output.weight")?.columns == 64)
    }

    @Test("the legacy .dat reads as llama.cpp stores it: (Σx²/count)·ncall per value, ncall, chunk count, dataset")
    func legacyRead() throws {
        let legacy = try ImportanceMatrix.load(path: ImatrixFixtures.legacy)
        let gguf = try ImportanceMatrix.load(path: ImatrixFixtures.gguf)
        #expect(legacy.format == .legacy)
        #expect(legacy.tensorNames == gguf.tensorNames)
        #expect(legacy.datasets == ["calibration.txt"] && legacy.chunkCount == 8 && legacy.chunkSize == 0)
        // save_imatrix_legacy: ncall = ⌈512 / 64⌉, values (value / count) · (float) ncall, in f32.
        let calls = Float((ImatrixFixtures.chunks * ImatrixFixtures.contextLength + ImatrixFixtures.contextLength - 1) / ImatrixFixtures.contextLength)
        for name in gguf.tensorNames {
            let g = try #require(gguf.entry(for: name)), l = try #require(legacy.entry(for: name))
            #expect(l.counts == [Double(calls)])
            let count = Float(g.counts[0])
            #expect(l.sums.map(\.bitPattern) == g.sums.map { (($0 / count) * calls).bitPattern }, "\(name)")
            // quantize.cpp divides legacy values by ncall: the same importance up to f32 rounding.
            let a = try #require(legacy.importance(for: name)), b = try #require(gguf.importance(for: name))
            #expect(ImatrixFixtures.relativeDifferences(a, b).allSatisfy { $0 <= 2.5e-7 }, "\(name)")
        }
    }

    @Test("a legacy matrix writes the GGUF llama-imatrix --in-file writes for it, byte for byte")
    func legacyToGGUFMatchesLlamaImatrix() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let legacy = try ImportanceMatrix.load(path: ImatrixFixtures.legacy)
        try legacy.write(to: scratch + "/converted.gguf")
        #expect(try ImatrixFixtures.bytes(scratch + "/converted.gguf") == ImatrixFixtures.bytes(ImatrixFixtures.legacyConverted))
        let converted = try ImportanceMatrix.load(path: scratch + "/converted.gguf")
        for name in legacy.tensorNames {
            #expect(converted.importance(for: name) == legacy.importance(for: name), "\(name): the conversion keeps the importances")
        }
    }

    @Test("an expert no token reached (count 0) has importance 1, as llama-quantize fills it")
    func zeroCountExpertIsOne() throws {
        let entry = ImportanceMatrix.Entry(sums: [4, 8, 0, 0, 3, 6], counts: [2, 0, 3])
        let matrix = try ImportanceMatrix(entries: ["blk.0.ffn_up_exps.weight": entry], datasets: ["d"], chunkCount: 1, chunkSize: 3)
        #expect(matrix.importance(for: "blk.0.ffn_up_exps.weight") == [2, 4, 1, 1, 1, 2])
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try matrix.write(to: scratch + "/moe.gguf")
        let file = try GGUFFile(path: scratch + "/moe.gguf")
        // ggml ne [columns, experts] and [1, experts] (gguf-py's shape is the reverse).
        #expect(file.tensor(named: "blk.0.ffn_up_exps.weight.in_sum2")?.dimensions == [2, 3])
        #expect(file.tensor(named: "blk.0.ffn_up_exps.weight.counts")?.dimensions == [1, 3])
        #expect(try ImportanceMatrix.load(path: scratch + "/moe.gguf") == matrix)
    }
}
