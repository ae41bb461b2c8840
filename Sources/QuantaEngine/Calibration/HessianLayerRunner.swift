import Dispatch
import QuantaCore
import QuantaQuant

/// GPTQ's layerwise calibration (`GPTQRunner`) with the per-group solve left to the caller: the
/// windows' residual streams enter layer 0 as embeddings; inside a layer the groups come in
/// true-sequential order (q/k/v, o, gate/up, down), each group's Hessian H = 2·XᵀX/n accumulated
/// from its input as the layer computes it with the earlier groups already replaced; `solve`
/// gets it and must write the group's new (dequantized) weights into the runner's slots
/// (`runner.weights.linear(layer:module:)`), so the windows leave the layer through them.
/// Memory as GPTQRunner: the windows' streams and carries, one layer in f32, one Hessian.
public final class HessianLayerRunner {
    public let runner: LlamaRunner
    public let windows: [[Int32]]
    public private(set) var timings = GPTQTimings()
    private var states: [FloatBuffer]
    private var carries: [FloatBuffer]

    public init(runner: LlamaRunner, windows: [[Int32]]) throws {
        guard !windows.isEmpty else { throw EngineError.invalidInput("calibration needs at least one window") }
        self.runner = runner
        self.windows = windows
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

    /// Every layer in order; `solve(layer, group, H, columns)` replaces the group's weights.
    /// The solve's own time is counted in `timings.solve`.
    public func run(progress: ProgressReporter? = nil,
                    solve: (Int, LinearGroup, consuming [Double], Int) throws -> Void) throws {
        let layers = runner.weights.hyperparameters.layerCount
        for layer in 0 ..< layers {
            for group in LinearGroup.allCases {
                let hessian = try accumulate(layer: layer, group: group)
                if let previous = LinearGroup(rawValue: group.rawValue - 1) { runner.weights.releaseWorkingCopies(layer: layer, group: previous) }
                let columns = hessian.columns
                let start = DispatchTime.now().uptimeNanoseconds
                try solve(layer, group, hessian.matrix(), columns)
                timings.solve += seconds(since: start)
            }
            if layer < layers - 1 {
                let start = DispatchTime.now().uptimeNanoseconds
                for (index, window) in windows.enumerated() {
                    runner.stageFinish(layer: layer, state: states[index].pointer, carry: carries[index].pointer, tokens: window.count)
                }
                timings.forward += seconds(since: start)
            }
            runner.weights.releaseWorkingCopies(layer: layer)
            progress?.advance(by: 1)
        }
        progress?.finish()
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
            guard h.columns == input.columns else { throw GPTQError.shapeMismatch("layer \(layer) \(group) input width changed") }
            h.add(input.values, rows: input.rows, rowStride: input.rowStride)
            hessian = h
            forward += middle - start
            accumulate += DispatchTime.now().uptimeNanoseconds - middle
        }
        timings.forward += Double(forward) / 1e9
        timings.hessian += Double(accumulate) / 1e9
        guard let hessian else { throw EngineError.invalidInput("calibration needs at least one window") }
        return hessian
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
