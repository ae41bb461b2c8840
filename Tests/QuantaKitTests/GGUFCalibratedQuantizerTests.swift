import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
import QuantaKit
import Testing

/// Calibrated K-quants end to end on the tiny Llama GGUF: the output has the mix's types, reads
/// back, and its logits on the calibration windows are closer to the source's than the plain
/// (llama-quantize) quantization's.
@Suite("GGUF calibrated K-quants (tiny-llama)")
struct GGUFCalibratedQuantizerTests {
    static let source = FixturePaths.fixture("gguf-mixes/tiny-llama-q8_0.gguf")

    static func logitError(_ path: String, reference: [[Float]], windows: CalibrationSet) throws -> Double {
        let runner = LlamaRunner(weights: try LlamaWeights(graph: try ModelLoader.load(path: path)), maxTokens: 32, numerics: .exact)
        var total = 0.0
        for (window, expected) in zip(windows.windows, reference) {
            let logits = try runner.logits(tokens: window)
            for (a, b) in zip(logits, expected) { total += Double(a - b) * Double(a - b) }
        }
        return total
    }

    @Test("q4_k_m: the mix's types, readable, lower calibration output error than plain")
    func calibratedBeatsPlain() throws {
        let scratch = try FixturePaths.scratchDirectory("calq")
        var generator = SplitMix64(seed: 5)
        let tokens = (0 ..< 3000).map { _ in Int32(generator.next() % 256) }
        let windows = try CalibrationSet(tokens: tokens, count: 8, length: 32, seed: 1)
        let mix = MixOptions(fileType: try #require(LlamaFileType(name: "q4_k_m")))

        let plainPath = scratch + "/plain.gguf", calibratedPath = scratch + "/calibrated.gguf"
        var plainOptions = GGUFQuantizeOptions(mix: mix)
        plainOptions.force = true
        let plain = try GGUFQuantizer.quantize(input: Self.source, output: plainPath, options: plainOptions)
        var options = GGUFCalibratedOptions(quantize: plainOptions)
        options.spillDirectory = scratch
        let (calibrated, report) = try GGUFCalibratedQuantizer.quantize(input: Self.source, output: calibratedPath,
                                                                         options: options, windows: windows)
        #expect(report.solvedTensors > 0)
        #expect(calibrated.tensorTypes.map(\.name) == plain.tensorTypes.map(\.name))
        #expect(calibrated.tensorTypes.map(\.type) == plain.tensorTypes.map(\.type))
        #expect(calibrated.bytesWritten == plain.bytesWritten)

        let file = try GGUFFile(path: calibratedPath)
        for entry in plain.tensorTypes { #expect(file.tensor(named: entry.name)?.type == entry.type) }
        // No scratch file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).filter { $0.hasSuffix(".tmp") }.isEmpty)

        let sourceRunner = LlamaRunner(weights: try LlamaWeights(graph: try ModelLoader.load(path: Self.source)), maxTokens: 32, numerics: .exact)
        let reference = try windows.windows.map { try sourceRunner.logits(tokens: $0) }
        let calibratedError = try Self.logitError(calibratedPath, reference: reference, windows: windows)
        let plainError = try Self.logitError(plainPath, reference: reference, windows: windows)
        #expect(calibratedError < plainError, "calibrated \(calibratedError) vs plain \(plainError)")
    }
}
