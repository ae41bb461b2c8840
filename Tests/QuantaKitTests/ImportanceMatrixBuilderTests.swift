import Foundation
import QuantaCore
import QuantaFormats
import QuantaKit
import Testing

/// Computing importance matrices with the engine against llama-imatrix's files for the same tiny
/// model, text and settings (fixtures/make_imatrix.sh: -c 64 --chunks 8).
@Suite("Importance matrix: computing")
struct ImportanceMatrixBuilderTests {
    static func options(processOutput: Bool = false) -> ImatrixOptions {
        var options = ImatrixOptions(calibrationPath: ImatrixFixtures.text, contextLength: ImatrixFixtures.contextLength,
                                     chunks: ImatrixFixtures.chunks, processOutput: processOutput)
        options.datasetName = "calibration.txt"
        return options
    }

    /// Same entries, counts and metadata as llama-imatrix's file; mean x² within tolerance.
    static func expectAgreement(_ ours: ImportanceMatrix, _ reference: ImportanceMatrix) throws {
        #expect(ours.tensorNames == reference.tensorNames)
        #expect(ours.chunkCount == reference.chunkCount && ours.chunkSize == reference.chunkSize)
        #expect(ours.datasets == reference.datasets)
        var all: [Double] = []
        for name in reference.tensorNames {
            #expect(ours.entry(for: name)?.counts == reference.entry(for: name)?.counts, "\(name)")
            let a = try #require(ours.importance(for: name)), b = try #require(reference.importance(for: name))
            try #require(a.count == b.count, "\(name)")
            let relative = ImatrixFixtures.relativeDifferences(a, b)
            #expect(relative.allSatisfy { $0 <= 2e-3 }, "\(name): worst \(relative.max() ?? 0)")
            all += relative
        }
        all.sort()
        let median = all[all.count / 2], p99 = all[Int(Double(all.count - 1) * 0.99)]
        #expect(median <= 1e-4 && p99 <= 1e-3, "median \(median), p99 \(p99)")
    }

    @Test("computed on llama-imatrix's model and text: the same entries and counts, mean x² within 1e-4 (median)")
    func agreesWithLlamaImatrix() throws {
        let ours = try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: Self.options())
        let reference = try ImportanceMatrix.load(path: ImatrixFixtures.gguf)
        try Self.expectAgreement(ours, reference)
        // The first layer's q/k/v input is the embedding through one RMSNorm: summed in f32 token by
        // token as llama-imatrix sums it, it comes out bit for bit.
        #expect(ours.entry(for: "blk.0.attn_q.weight")?.sums.map(\.bitPattern) == reference.entry(for: "blk.0.attn_q.weight")?.sums.map(\.bitPattern))
        // q, k and v share one input; gate and up too.
        #expect(ours.entry(for: "blk.1.attn_k.weight") == ours.entry(for: "blk.1.attn_v.weight"))
        #expect(ours.entry(for: "blk.1.ffn_gate.weight") == ours.entry(for: "blk.1.ffn_up.weight"))
    }

    @Test("processOutput collects output.weight as llama-imatrix --process-output does")
    func processOutputAgrees() throws {
        let ours = try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: Self.options(processOutput: true))
        try Self.expectAgreement(ours, try ImportanceMatrix.load(path: ImatrixFixtures.withOutput))
    }

    @Test("a computed matrix writes and reads back unchanged")
    func computedRoundTrip() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let ours = try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: Self.options())
        try ours.write(to: scratch + "/ours.gguf")
        #expect(try ImportanceMatrix.load(path: scratch + "/ours.gguf") == ours)
        // Same layout as llama-imatrix's file: only the data section's values differ.
        let a = try ImatrixFixtures.bytes(scratch + "/ours.gguf"), b = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        let dataOffset = try GGUFFile(path: ImatrixFixtures.gguf).dataOffset
        #expect(a.count == b.count && a.prefix(dataOffset) == b.prefix(dataOffset))
    }

    @Test("a Hugging Face directory with a tied head: GGUF names, no output.weight even with processOutput")
    func huggingFaceTiedModel() throws {
        var options = ImatrixOptions(calibrationPath: ImatrixFixtures.text, contextLength: 32, chunks: 3, processOutput: true)
        options.tokenizerPath = ImatrixFixtures.model  // its 265 ids fit tiny-llama's vocabulary of 320
        let matrix = try ImportanceMatrixBuilder.compute(model: FixturePaths.fixture("engine/tiny-llama"), options: options)
        #expect(matrix.tensorNames.count == 3 * 7)
        #expect(matrix.tensorNames.first == "blk.0.attn_k.weight" && !matrix.tensorNames.contains("output.weight"))
        #expect(matrix.entry(for: "blk.2.ffn_down.weight")?.columns == 160)
        #expect(matrix.entry(for: "blk.2.ffn_down.weight")?.counts == [96])
        #expect(matrix.datasets == [ImatrixFixtures.text] && matrix.chunkCount == 3 && matrix.chunkSize == 32)
    }

    @Test("text too short, a missing file and a tiny context are errors that say what and where")
    func inputErrors() throws {
        var options = Self.options()
        options.contextLength = 4096
        #expect { try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: options) } throws: {
            "\($0)".contains(ImatrixFixtures.text) && "\($0)".contains("8192")
        }
        options = Self.options()
        options.calibrationPath = "/nonexistent/calib.txt"
        #expect { try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: options) } throws: {
            "\($0)".contains("/nonexistent/calib.txt")
        }
        options = Self.options()
        options.contextLength = 8
        #expect { try ImportanceMatrixBuilder.compute(model: ImatrixFixtures.model, options: options) } throws: {
            "\($0)".contains("16")
        }
    }
}
