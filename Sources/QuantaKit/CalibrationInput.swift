import Foundation
import QuantaCore
import QuantaEngine
import QuantaGraph

/// Options every calibrated method (GPTQ, AWQ) shares: which text, how many windows, how long.
public struct CalibrationOptions: Sendable {
    /// Default: the project's copy of WikiText-2's text after " = Operation Eastern Exit = ", which lies
    /// entirely after the chunks the shared protocol scores. Never calibrate on evaluated text.
    public static let defaultTextPath = "data/wikitext-2-calibration.txt"

    public var textPath: String
    public var samples: Int
    public var sequenceLength: Int
    public var seed: UInt64
    /// `--tokenizer`: tokenize the text with this model directory's / tokenizer.json's / GGUF's tokenizer.
    public var tokenizerPath: String? = nil

    public init(textPath: String = CalibrationOptions.defaultTextPath, samples: Int = 128, sequenceLength: Int = 512, seed: UInt64 = 0) {
        self.textPath = textPath
        self.samples = samples
        self.sequenceLength = sequenceLength
        self.seed = seed
    }
}

public enum CalibrationInput {
    /// Tokenizes the calibration text with the model's tokenizer and draws the windows.
    public static func windows(for graph: ModelGraph, options: CalibrationOptions) throws -> CalibrationSet {
        guard options.samples > 0, options.sequenceLength >= 16 else {
            throw KitError.invalidOption("--calib-samples must be ≥ 1 and --calib-seqlen ≥ 16")
        }
        let path = try resolve(options.textPath)
        let text = try TextFile.read(path, what: "the calibration text")
        let tokenizer = try TokenizerSource.resolve(for: graph, override: options.tokenizerPath).tokenizer
        let tokens = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        return try CalibrationSet(tokens: tokens, count: options.samples, length: options.sequenceLength, seed: options.seed)
    }

    /// The default text is found relative to the working directory, then to the executable's repository.
    static func resolve(_ path: String) throws -> String {
        if FileManager.default.fileExists(atPath: path) { return path }
        if path == CalibrationOptions.defaultTextPath {
            var url = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0 ..< 6 {
                let candidate = url.appendingPathComponent(path).path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                url.deleteLastPathComponent()
            }
        }
        throw KitError.invalidOption("calibration text \(path) not found; pass --calib FILE")
    }
}
