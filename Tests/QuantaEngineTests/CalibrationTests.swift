import Foundation
import QuantaCore
import QuantaGraph
import Testing
@testable import QuantaEngine

/// The layer-by-layer calibration plumbing GPTQ and AWQ stand on.
@Suite("Layerwise calibration")
struct CalibrationTests {
    static func tinyRunner() throws -> LlamaRunner {
        let graph = try ModelLoader.load(path: FixturePaths.fixture("engine/tiny-llama"))
        return LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 32)
    }

    @Test("windows are reproducible for a seed and lie inside the text")
    func windows() throws {
        let tokens = (0 ..< 1000).map { Int32($0) }
        let a = try CalibrationSet(tokens: tokens, count: 8, length: 32, seed: 7)
        let b = try CalibrationSet(tokens: tokens, count: 8, length: 32, seed: 7)
        let c = try CalibrationSet(tokens: tokens, count: 8, length: 32, seed: 8)
        #expect(a.windows == b.windows && a.windows != c.windows)
        for w in a.windows { #expect(w.count == 32 && w == Array(w[0] ..< w[0] + 32)) }
        #expect(throws: EngineError.self) { _ = try CalibrationSet(tokens: Array(tokens[0 ..< 10]), count: 1, length: 32) }
    }

    @Test("advancing every layer reproduces the full forward pass; captured inputs have the layer's shapes")
    func advanceMatchesForward() throws {
        let runner = try Self.tinyRunner()
        let tokens = (0 ..< 400).map { Int32(($0 * 7 + 3) % 320) }
        let set = try CalibrationSet(tokens: tokens, count: 3, length: 24, seed: 1)
        let calibrator = try LayerwiseCalibrator(runner: runner, set: set)
        let h = runner.weights.hyperparameters
        var seen: [LinearGroup: (Int, Int)] = [:]
        for group in LinearGroup.allCases {
            try calibrator.observe(layer: 0, group: group) { input in seen[group] = (input.rows, input.columns) }
        }
        #expect(seen[.qkv]! == (24, h.hiddenSize) && seen[.output]! == (24, h.headCount * h.headDimension))
        #expect(seen[.gateUp]! == (24, h.hiddenSize) && seen[.down]! == (24, h.intermediateSize))
        for layer in 0 ..< calibrator.layerCount { calibrator.advance(layer: layer) }
        // Reference: the runner's own forward over window 1, residual stream after the last layer.
        try runner.embedTokens(set.windows[1])
        for layer in 0 ..< h.layerCount { runner.runLayer(layer, tokens: 24) }
        var expected = [Float](repeating: 0, count: 24 * h.hiddenSize)
        expected.withUnsafeMutableBufferPointer { runner.storeHidden($0.baseAddress!, rows: 24) }
        let state = calibrator.state(1)
        let worst = (0 ..< expected.count).map { abs(state[$0] - expected[$0]) }.max() ?? .infinity
        #expect(worst == 0)
    }

    @Test("linear slots address the right rows of the fused weights")
    func slots() throws {
        let runner = try Self.tinyRunner()
        let graph = try ModelLoader.load(path: FixturePaths.fixture("engine/tiny-llama"))
        for module in ["self_attn.k_proj", "self_attn.o_proj", "mlp.up_proj", "mlp.down_proj"] {
            let slot = try runner.weights.linear(layer: 2, module: module)
            let expected = try #require(graph.tensor(named: "model.layers.2.\(module).weight")).shape
            #expect([slot.rows, slot.columns] == expected)
            if case let .dense(view)? = graph.tensor(named: "model.layers.2.\(module).weight")?.value {
                let values = view.floats()
                #expect((0 ..< values.count).allSatisfy { slot.pointer[$0] == values[$0] })
            }
        }
        #expect(throws: EngineError.self) { _ = try runner.weights.linear(layer: 2, module: "mlp.nope") }
    }
}
