import Dispatch
import QuantaCore
import QuantaQuant

/// Seconds spent in each phase of a GPTQ run, summed over layers.
public struct GPTQTimings: Sendable {
    public var forward = 0.0, hessian = 0.0, factor = 0.0, solve = 0.0
    public init() {}
}

/// GPTQ over a Llama-family model, layer by layer (Frantar et al. 2022, §4 and the reference's
/// `llama_sequential`): the calibration windows' residual streams enter layer 0 as embeddings;
/// inside a layer the groups are quantized in true-sequential order — q/k/v, then o, then
/// gate/up, then down — each group's Hessian accumulated from its input as the layer computes it
/// with the groups before it already quantized; the dequantized weights are written into the
/// runner's slots, so the windows leave the layer through its quantized weights.
/// Memory: the windows' residual streams (windows × t × D floats) and one carry buffer per window
/// (windows × t × max(H·hd, F)): one layer's activations; and one layer's linears in f32 while it is
/// quantized (decoded from the stored form, released after).
public final class GPTQRunner {
    public let runner: LlamaRunner
    public let windows: [[Int32]]
    public let configuration: GPTQConfiguration
    public private(set) var timings = GPTQTimings()
    private var states: [FloatBuffer]
    private var carries: [FloatBuffer]

    public init(runner: LlamaRunner, windows: [[Int32]], configuration: GPTQConfiguration) throws {
        try configuration.validate()
        guard !windows.isEmpty else { throw EngineError.invalidInput("GPTQ needs at least one calibration window") }
        self.runner = runner
        self.windows = windows
        self.configuration = configuration
        let d = runner.weights.hyperparameters.hiddenSize, carry = runner.stageCarryWidth
        states = []
        carries = []
        for window in windows {
            guard !window.isEmpty, window.count <= runner.maxTokens else {
                throw EngineError.invalidInput("a calibration window of \(window.count) tokens does not fit the runner (max \(runner.maxTokens))")
            }
            try runner.embedTokens(window)
            let state = FloatBuffer(count: window.count * d)
            runner.storeHidden(state.pointer, rows: window.count)
            states.append(state)
            carries.append(FloatBuffer(count: window.count * carry))
        }
    }

    /// Quantizes every linear of every decoder layer; `receive` gets each result
    /// (layer, module such as "self_attn.q_proj", the quantized linear, the solve report).
    public func run(progress: ProgressReporter? = nil,
                    receive: (Int, String, GPTQQuantizedLinear, GPTQSolveReport) throws -> Void) throws {
        let layers = runner.weights.hyperparameters.layerCount
        for layer in 0 ..< layers {
            try quantizeLayer(layer, isLast: layer == layers - 1, receive: receive)
            progress?.advance(by: 1)
        }
        progress?.finish()
    }

    /// One layer: four stages, each followed by its group's solve, then the layer's output.
    func quantizeLayer(_ layer: Int, isLast: Bool, receive: (Int, String, GPTQQuantizedLinear, GPTQSolveReport) throws -> Void) throws {
        for group in LinearGroup.allCases {
            // The f32 accumulator goes as soon as its double copy exists (24 B × columns² at the
            // largest otherwise: 2.9 GB for a 7B down_proj).
            let hessian = try accumulate(layer: layer, group: group)
            // Each stage read the group before it for the last time: its f32 copy can go (at most two
            // groups of the layer are in f32 at once).
            if let previous = LinearGroup(rawValue: group.rawValue - 1) { runner.weights.releaseWorkingCopies(layer: layer, group: previous) }
            let columns = hessian.columns
            try solve(layer: layer, group: group, matrix: hessian.matrix(), columns: columns, receive: receive)
        }
        if !isLast {
            let start = DispatchTime.now().uptimeNanoseconds
            for (index, window) in windows.enumerated() {
                runner.stageFinish(layer: layer, state: states[index].pointer, carry: carries[index].pointer, tokens: window.count)
            }
            timings.forward += seconds(since: start)
        }
        // The layer is done: its f32 working copies and its mapped pages go (one layer in f32 at a time).
        runner.weights.releaseWorkingCopies(layer: layer)
    }

    /// Runs `group`'s stage over every window, adding each input to the group's Hessian.
    func accumulate(layer: Int, group: LinearGroup) throws -> GPTQHessian {
        var hessian: GPTQHessian?
        var forward: UInt64 = 0, accumulate: UInt64 = 0
        for (index, window) in windows.enumerated() {
            let t = window.count, state = states[index].pointer, carry = carries[index].pointer
            let start = DispatchTime.now().uptimeNanoseconds
            let input: LinearInput
            switch group {
            case .qkv: input = runner.stageAttentionInput(layer: layer, state: state, tokens: t)
            case .output: input = runner.stageOutputInput(layer: layer, state: state, carry: carry, tokens: t)
            case .gateUp: input = runner.stageGateUpInput(layer: layer, state: state, carry: carry, tokens: t)
            case .down: input = runner.stageDownInput(layer: layer, state: state, carry: carry, tokens: t)
            }
            let middle = DispatchTime.now().uptimeNanoseconds
            let h = hessian ?? GPTQHessian(columns: input.columns)
            guard h.columns == input.columns else { throw GPTQError.shapeMismatch("GPTQ: layer \(layer) \(group) input width changed") }
            h.add(input.values, rows: input.rows, rowStride: input.rowStride)
            hessian = h
            forward += middle - start
            accumulate += DispatchTime.now().uptimeNanoseconds - middle
        }
        timings.forward += Double(forward) / 1e9
        timings.hessian += Double(accumulate) / 1e9
        guard let hessian else { throw EngineError.invalidInput("GPTQ needs at least one calibration window") }
        return hessian
    }

    /// Factors the group's Hessian once and solves each linear of the group with it, writing the
    /// dequantized weights back into the runner.
    func solve(layer: Int, group: LinearGroup, matrix: consuming [Double], columns: Int,
               receive: (Int, String, GPTQQuantizedLinear, GPTQSolveReport) throws -> Void) throws {
        var start = DispatchTime.now().uptimeNanoseconds
        let name = "model.layers.\(layer).\(group.modules[0]) (\(group.modules.count > 1 ? "group" : "linear"))"
        // Only the scale refit needs the Hessian after the factorization; otherwise the factorization
        // takes the matrix over (no second copy of columns² doubles).
        let refitHessian: [Double]? = configuration.refitScales ? copy matrix : nil
        let inverse = try GPTQInverseHessian(hessian: consume matrix, columns: columns, order: configuration.ordering,
                                             dampPercent: configuration.dampPercent, name: name)
        timings.factor += seconds(since: start)
        start = DispatchTime.now().uptimeNanoseconds
        for module in group.modules {
            let slot = try runner.weights.linear(layer: layer, module: module)
            var (linear, values, report) = try GPTQSolver.solve(weights: UnsafePointer(slot.pointer), rows: slot.rows, columns: slot.columns,
                                                                 inverse: inverse, configuration: configuration,
                                                                 name: "model.layers.\(layer).\(module).weight")
            if configuration.refitScales {
                // Against the original weights, still in the slot.
                let refit = GPTQScaleRefit.refit(&linear, weights: UnsafePointer(slot.pointer), hessian: refitHessian ?? [],
                                                 damping: inverse.damping)
                values = refit.dequantized
                report.refit = refit.report
            }
            values.withUnsafeBufferPointer { slot.pointer.update(from: $0.baseAddress!, count: slot.rows * slot.columns) }
            try receive(layer, module, linear, report)
        }
        timings.solve += seconds(since: start)
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
