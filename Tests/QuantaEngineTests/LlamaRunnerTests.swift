import Foundation
import QuantaCore
import QuantaGraph
import Testing
@testable import QuantaEngine

/// The forward pass against logits computed by transformers on tiny random models
/// (fixtures/make_engine.py): tied embeddings, llama3 RoPE scaling, qwen2 q/k/v biases, GQA.
@Suite("Llama-family forward pass")
struct LlamaRunnerTests {
    static func readFile<T>(_ path: String, as: T.Type) throws -> [T] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { raw in
            (0 ..< raw.count / MemoryLayout<T>.size).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }

    @Test("logits equal transformers' within 1e-4", arguments: ["tiny-llama", "tiny-llama3-rope", "tiny-qwen2"])
    func logitsMatchTransformers(model: String) throws {
        let directory = FixturePaths.fixture("engine/\(model)")
        let graph = try ModelLoader.load(path: directory)
        let weights = try LlamaWeights(graph: graph)
        let runner = LlamaRunner(weights: weights, maxTokens: 64)
        let tokens = try Self.readFile(directory + "/tokens.bin", as: Int32.self)
        let expected = try Self.readFile(directory + "/logits.bin", as: Float.self)
        let logits = try runner.logits(tokens: tokens, outputFrom: 0)
        #expect(logits.count == expected.count)
        let maxError = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxError <= 1e-4, "max |Δ| \(maxError)")
        // Asking for a suffix gives the same rows (up to GEMM blocking order).
        let tail = try runner.logits(tokens: tokens, outputFrom: 40)
        let vocab = weights.hyperparameters.vocabSize
        let tailError = zip(logits[(40 * vocab)...], tail).map { abs($0 - $1) }.max() ?? .infinity
        #expect(tail.count == 8 * vocab && tailError <= 1e-5, "suffix max |Δ| \(tailError)")
    }

    @Test("a token outside the vocabulary is an error, not a crash")
    func rejectsBadToken() throws {
        let graph = try ModelLoader.load(path: FixturePaths.fixture("engine/tiny-llama"))
        let runner = LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 16)
        #expect(throws: EngineError.self) { try runner.logits(tokens: [1, 2, 100_000]) }
        #expect(throws: EngineError.self) { try runner.logits(tokens: Array(repeating: 1, count: 17)) }
    }
}
