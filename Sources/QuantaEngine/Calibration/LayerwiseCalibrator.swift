import QuantaCore

/// Runs calibration windows through the model one decoder layer at a time, the way GPTQ and AWQ
/// process a model: the residual stream of every window is kept between layers; inside a layer,
/// each linear group's inputs are produced by the layer as it currently is (earlier groups already
/// quantized: GPTQ's true-sequential order), handed to the pass, and the pass rewrites the
/// group's weights in place; finally the windows are pushed through the finished layer.
/// Memory: windows × length × hidden floats for the residual streams (128 × 512 × 576 × 4 B = 151 MB
/// for SmolLM2), plus one layer's work.
public final class LayerwiseCalibrator {
    public let runner: LlamaRunner
    public let set: CalibrationSet
    /// Residual stream of every window at the current layer's input.
    private var states: [FloatBuffer]

    public init(runner: LlamaRunner, set: CalibrationSet) throws {
        self.runner = runner
        self.set = set
        let d = runner.weights.hyperparameters.hiddenSize
        states = []
        for window in set.windows {
            guard window.count <= runner.maxTokens else {
                throw EngineError.invalidInput("calibration windows of \(window.count) tokens exceed the runner's \(runner.maxTokens)")
            }
            try runner.embedTokens(window)
            let state = FloatBuffer(count: window.count * d)
            runner.storeHidden(state.pointer, rows: window.count)
            states.append(state)
        }
    }

    public var layerCount: Int { runner.weights.hyperparameters.layerCount }

    /// Feeds every window's input of `group` in `layer` to `observe` (one call per window).
    public func observe(layer: Int, group: LinearGroup, _ observe: (LinearInput) throws -> Void) throws {
        try withoutActuallyEscaping(observe) { observe in
            for (index, window) in set.windows.enumerated() {
                runner.loadHidden(states[index].pointer, rows: window.count)
                var failure: Error?
                runner.runLayer(layer, tokens: window.count, capture: { input in
                    guard input.group == group, failure == nil else { return }
                    do { try observe(input) } catch { failure = error }
                }, stopAfter: group)
                if let failure { throw failure }
            }
        }
    }

    /// Runs `layer` on every window with a capture of the residual stream after the attention
    /// block (`stopAfter: .gateUp`) or after the whole layer (`nil`), without advancing the states.
    /// AWQ's loss compares these outputs under different weights.
    public func blockOutputs(layer: Int, afterAttentionOnly: Bool, windows: Range<Int>? = nil,
                             _ receive: (Int, UnsafePointer<Float>, Int) throws -> Void) throws {
        let d = runner.weights.hyperparameters.hiddenSize
        let output = FloatBuffer(count: runner.maxTokens * d)
        for index in windows ?? set.windows.indices {
            let rows = set.windows[index].count
            runner.loadHidden(states[index].pointer, rows: rows)
            runner.runLayer(layer, tokens: rows, capture: nil, stopAfter: afterAttentionOnly ? .gateUp : nil)
            runner.storeHidden(output.pointer, rows: rows)
            try receive(index, UnsafePointer(output.pointer), rows)
        }
    }

    /// The residual stream of window `index` at the current layer's input.
    public func state(_ index: Int) -> UnsafePointer<Float> { UnsafePointer(states[index].pointer) }

    /// Pushes every window through `layer` with its (now final) weights: the next layer's inputs.
    public func advance(layer: Int) {
        for (index, window) in set.windows.enumerated() {
            runner.loadHidden(states[index].pointer, rows: window.count)
            runner.runLayer(layer, tokens: window.count)
            runner.storeHidden(states[index].pointer, rows: window.count)
        }
    }
}
