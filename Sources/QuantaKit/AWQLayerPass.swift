import Dispatch
import QuantaCore
import QuantaEngine
import QuantaGraph
import QuantaQuant

/// AWQ over one decoder layer at a time, in AutoAWQ's order (awq/quantize/quantizer.py `quantize`):
///  1. one forward pass of every calibration window through the float layer captures each linear
///     group's input (per-channel Σ|x|, a strided token sample for clipping, and the full inputs of the
///     search windows) — and, in the reference's mode, its output becomes the next layer's input;
///  2. for every group, a grid search over α picks the scales whose quantized block output is closest
///     to the float one (q/k/v: the attention block; gate/up: the MLP; down, o: the linear alone);
///  3. the scales are folded into the preceding RMSNorm or linear (exact in real arithmetic);
///  4. the clipping search shrinks each group's range for every linear but q/k;
///  5. asymmetric round-to-nearest with zero points; the dequantized weights replace the float ones
///     in the engine (so with `.quantized` propagation later layers see them).
/// Memory: the residual stream of every window, plus the search windows' group inputs for one layer.
final class AWQLayerPass {
    let runner: LlamaRunner
    let options: AWQOptions
    let groupSize: Int
    let windows: [[Int32]]
    let searchCount: Int
    /// Tokens (strided over every window) that score the per-token groups: gate/up, down, o.
    let tokenSampleCount: Int
    let tokenSampleStep: Int
    let tokensPerWindow: Int
    let d: Int, f: Int, attentionWidth: Int, qRows: Int, kvRows: Int
    /// AutoAWQ scales v → o only when v_proj and o_proj have the same shape (no GQA).
    let scalesOutput: Bool
    var states: [FloatBuffer]
    var timings = AWQTimings()

    // Per-layer scratch, allocated once.
    let searchInputs: [FloatBuffer]      // layer-input residual of each search window [T × d]
    let attentionReference: [FloatBuffer] // residual after the float attention block [T × d]
    let gateUpInputs: FloatBuffer        // [N × d], N = tokenSampleCount
    let downInputs: FloatBuffer          // [N × f]
    let outputInputs: FloatBuffer?       // [N × H·hd] when v → o is scaled
    let scratchHidden: FloatBuffer

    init(runner: LlamaRunner, windows: [[Int32]], options: AWQOptions, groupSize: Int) throws {
        self.runner = runner
        self.options = options
        self.groupSize = groupSize
        self.windows = windows
        let h = runner.weights.hyperparameters
        d = h.hiddenSize
        f = h.intermediateSize
        attentionWidth = h.headCount * h.headDimension
        qRows = attentionWidth
        kvRows = h.kvHeadCount * h.headDimension
        scalesOutput = kvRows == d && attentionWidth == d
        let t = windows.first?.count ?? 0
        tokensPerWindow = t
        guard t > 0, windows.allSatisfy({ $0.count == t }) else {
            throw KitError.invalidOption("AWQ needs calibration windows of one length")
        }
        let search = max(1, min(options.searchWindows, windows.count))
        searchCount = search
        let total = windows.count * t
        let step = Self.stride(total / max(1, options.searchTokens), windowLength: t)
        tokenSampleStep = step
        let rows = (total + step - 1) / step
        tokenSampleCount = rows
        let width = h.hiddenSize
        searchInputs = (0 ..< search).map { _ in FloatBuffer(count: t * width) }
        attentionReference = (0 ..< search).map { _ in FloatBuffer(count: t * width) }
        gateUpInputs = FloatBuffer(count: rows * width)
        downInputs = FloatBuffer(count: rows * h.intermediateSize)
        outputInputs = scalesOutput ? FloatBuffer(count: rows * attentionWidth) : nil
        scratchHidden = FloatBuffer(count: t * width)
        states = []
        for window in windows {
            try runner.embedTokens(window)
            let state = FloatBuffer(count: window.count * d)
            runner.storeHidden(state.pointer, rows: window.count)
            states.append(state)
        }
    }

    /// What one group's capture gathered.
    /// A class so the capture callback appends in place (a struct in a dictionary would copy).
    final class GroupStatistics {
        var absoluteSums: [Double]
        var clipSamples: [Float] = []
        var clipSampleCount = 0
        init(columns: Int) { absoluteSums = [Double](repeating: 0, count: columns) }
    }

    /// Quantizes decoder layer `layer` in place in the runner's weights; returns its quantized linears
    /// keyed by module name and the chosen grid ratio per group.
    func run(layer: Int) throws -> (linears: [String: AWQQuantizedWeight], searches: [String: AWQGroupSearch]) {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap(_ keyPath: WritableKeyPath<AWQTimings, Double>) {
            let now = DispatchTime.now().uptimeNanoseconds
            timings[keyPath: keyPath] += Double(now - clock) / 1e9
            clock = now
        }
        let stats = capture(layer: layer)
        lap(\.capture)

        let weights = runner.weights
        let qkv = try weights.linear(layer: layer, module: "self_attn.q_proj")
        let gate = try weights.linear(layer: layer, module: "mlp.gate_proj")
        let up = try weights.linear(layer: layer, module: "mlp.up_proj")
        let down = try weights.linear(layer: layer, module: "mlp.down_proj")
        let output = try weights.linear(layer: layer, module: "self_attn.o_proj")
        let value = try weights.linear(layer: layer, module: "self_attn.v_proj")
        let qkvRows = qRows + 2 * kvRows
        let totalTokens = Double(windows.count * tokensPerWindow)
        func mean(_ group: LinearGroup) -> [Float] { stats[group]!.absoluteSums.map { Float($0 / totalTokens) } }

        // Scale searches, each against the float layer (AutoAWQ searches every group before applying any).
        var searches: [String: AWQGroupSearch] = [:]
        func part(_ keyPath: WritableKeyPath<AWQTimings, Double>, _ body: () -> Void) {
            let begin = DispatchTime.now().uptimeNanoseconds
            body()
            timings[keyPath: keyPath] += Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9
        }
        var qkvScales: [Float] = [], gateUpScales: [Float] = [], downScales: [Float] = []
        part(\.searchAttention) {
            let (s, r) = searchAttentionScales(layer: layer, weights: qkv.pointer, rows: qkvRows, activationMean: mean(.qkv))
            qkvScales = s
            searches["qkv"] = r
        }
        var outputScales: [Float]?
        if scalesOutput, let inputs = outputInputs {
            part(\.searchLinear) {
                let (s, r) = searchLinearScales(weights: output.pointer, rows: d, columns: attentionWidth, inputs: inputs.pointer,
                                                activationMean: mean(.output))
                outputScales = s
                searches["o"] = r
            }
        }
        part(\.searchMLP) {
            let (s, r) = searchMLPScales(gateUp: gate.pointer, down: down.pointer, activationMean: mean(.gateUp))
            gateUpScales = s
            searches["gate_up"] = r
        }
        part(\.searchLinear) {
            let (s, r) = searchLinearScales(weights: down.pointer, rows: d, columns: f, inputs: downInputs.pointer, activationMean: mean(.down))
            downScales = s
            searches["down"] = r
        }
        lap(\.scaleSearch)

        // Fold: previous op's output /= s, the group's input columns *= s (AutoAWQ apply_scale).
        if let norm = weights.normWeight(layer: layer, group: .qkv) {
            AWQScaleFolding.foldIntoNorm(norm, linears: [(qkv.pointer, qkvRows)], scales: qkvScales)
        }
        if let norm = weights.normWeight(layer: layer, group: .gateUp) {
            AWQScaleFolding.foldIntoNorm(norm, linears: [(gate.pointer, 2 * f)], scales: gateUpScales)
        }
        AWQScaleFolding.foldIntoLinear(previous: up.pointer, previousColumns: d, next: down.pointer, nextRows: d, scales: downScales)
        if let s = outputScales {
            AWQScaleFolding.foldIntoLinear(previous: value.pointer, previousColumns: d, previousBias: value.bias,
                                           next: output.pointer, nextRows: d, scales: s)
        }
        // The clip samples were taken before scaling: divide them as the reference divides input_feat.
        scaleSamples(stats[.qkv]!, by: qkvScales)
        scaleSamples(stats[.gateUp]!, by: gateUpScales)
        scaleSamples(stats[.down]!, by: downScales)
        if let s = outputScales { scaleSamples(stats[.output]!, by: s) }
        lap(\.fold)

        // Clipping (every linear but q and k: "due to qk bmm, it is hard to clip precisely").
        if options.clip {
            let plan: [(String, LinearGroup)] = [("self_attn.v_proj", .qkv), ("self_attn.o_proj", .output),
                                                  ("mlp.gate_proj", .gateUp), ("mlp.up_proj", .gateUp), ("mlp.down_proj", .down)]
            for (module, group) in plan {
                let slot = try weights.linear(layer: layer, module: module)
                let sample = stats[group]!
                let limits = sample.clipSamples.withUnsafeBufferPointer { samples in
                    AWQClipSearch.bestMaxValues(weights: slot.pointer, rows: slot.rows, columns: slot.columns, groupSize: groupSize,
                                                samples: samples.baseAddress!, sampleCount: sample.clipSampleCount)
                }
                AWQClipSearch.apply(limits, to: slot.pointer, rows: slot.rows, columns: slot.columns, groupSize: groupSize)
            }
        }
        lap(\.clipSearch)

        var linears: [String: AWQQuantizedWeight] = [:]
        for group in LinearGroup.allCases {
            for module in group.modules {
                let slot = try weights.linear(layer: layer, module: module)
                let q = try AWQGroupQuantizer.quantize(slot.pointer, rows: slot.rows, columns: slot.columns, groupSize: groupSize,
                                                       tensor: "model.layers.\(layer).\(module).weight")
                q.dequantize(into: slot.pointer)
                linears[module] = q
            }
        }
        lap(\.quantize)

        if options.propagation == .quantized {
            for (index, window) in windows.enumerated() {
                runner.loadHidden(states[index].pointer, rows: window.count)
                runner.runLayer(layer, tokens: window.count)
                runner.storeHidden(states[index].pointer, rows: window.count)
            }
            lap(\.capture)
        }
        return (linears, searches)
    }

    // MARK: capture

    func capture(layer: Int) -> [LinearGroup: GroupStatistics] {
        let stats: [LinearGroup: GroupStatistics] = [
            .qkv: GroupStatistics(columns: d), .output: GroupStatistics(columns: attentionWidth),
            .gateUp: GroupStatistics(columns: d), .down: GroupStatistics(columns: f),
        ]
        let t = tokensPerWindow
        let totalTokens = windows.count * t
        // AutoAWQ: input_feat[:, ::max(1, n_tokens // 512)], made coprime to the window length.
        let step = Self.stride(totalTokens / AWQClipSearch.defaultSampleTokens, windowLength: t)
        for (index, window) in windows.enumerated() {
            let isSearch = index < searchCount
            if isSearch { searchInputs[index].pointer.update(from: states[index].pointer, count: t * d) }
            runner.loadHidden(states[index].pointer, rows: window.count)
            runner.runLayer(layer, tokens: t, capture: { input in
                guard let s = stats[input.group] else { return }
                AWQScaleSearch.accumulateAbsoluteSums(input.values, rows: input.rows, columns: input.columns, rowStride: input.rowStride,
                                                      into: &s.absoluteSums)
                let first = index * t
                var r = (step - first % step) % step
                while r < input.rows {
                    s.clipSamples.append(contentsOf: UnsafeBufferPointer(start: input.values + r * input.rowStride, count: input.columns))
                    s.clipSampleCount += 1
                    r += step
                }
                // The residual stream now holds the float attention block's output.
                if isSearch, input.group == .gateUp { self.runner.storeHidden(self.attentionReference[index].pointer, rows: t) }
                let target: (UnsafeMutablePointer<Float>, Int)?
                switch input.group {
                case .gateUp: target = (self.gateUpInputs.pointer, self.d)
                case .down: target = (self.downInputs.pointer, self.f)
                case .output: target = self.outputInputs.map { ($0.pointer, self.attentionWidth) }
                case .qkv: target = nil
                }
                guard let (base, width) = target else { return }
                let sampleStep = self.tokenSampleStep
                var row = (sampleStep - first % sampleStep) % sampleStep
                while row < input.rows {
                    let slot = (first + row) / sampleStep
                    (base + slot * width).update(from: input.values + row * input.rowStride, count: width)
                    row += sampleStep
                }
            }, stopAfter: nil)
            // AutoAWQ feeds the next layer the float layer's output (computed before scaling/quantizing).
            if options.propagation == .float { runner.storeHidden(states[index].pointer, rows: t) }
        }
        return stats
    }

    /// A token stride of about `wanted` that is coprime to the window length. With windows of 512 and
    /// a power-of-two stride every sample would sit at the same few positions of each window — above all
    /// position 0, whose activations are the attention sink's outliers (a stride of 128 over 128 windows
    /// makes a quarter of the samples first tokens). A coprime stride walks every position evenly.
    /// (AutoAWQ's blocks come from a concatenated stream, so its stride rarely lines up with them.)
    static func stride(_ wanted: Int, windowLength: Int) -> Int {
        var step = max(1, wanted)
        while step > 1 && gcd(step, windowLength) != 1 { step += 1 }
        return step
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    // MARK: scale searches

    func candidateScales(_ activationMean: [Float], weights: [(UnsafePointer<Float>, Int)], columns: Int) -> (Int) -> [Float] {
        let weightMean = options.duoScaling
            ? AWQScaleSearch.relativeWeightMean(weights.map { (pointer: $0.0, rows: $0.1) }, columns: columns, groupSize: groupSize) : nil
        let grid = options.grid
        return { k in AWQScaleSearch.scales(activationMean: activationMean, weightMean: weightMean, ratio: Float(k) / Float(grid)) }
    }

    /// The grid loop (`AWQGridPlan`): exhaustive (AutoAWQ's) by default, coarse-to-fine with `--awq-grid-stride`.
    func gridSearch(_ scalesFor: (Int) -> [Float], loss: ([Float]) -> Double) -> ([Float], AWQGroupSearch) {
        let result = AWQGridPlan.search(grid: options.grid, stride: options.gridStride) { k in loss(scalesFor(k)) }
        return (scalesFor(result.best), AWQGroupSearch(ratio: Float(result.best) / Float(options.grid), loss: result.loss,
                                                       roundToNearestLoss: result.scored[0] ?? .nan, evaluations: result.scored.count))
    }

    /// q/k/v: loss over the attention block's output (residual after attention) on the search windows.
    func searchAttentionScales(layer: Int, weights: UnsafeMutablePointer<Float>, rows: Int, activationMean: [Float]) -> ([Float], AWQGroupSearch) {
        let original = FloatBuffer(count: rows * d)
        original.pointer.update(from: weights, count: rows * d)
        defer { weights.update(from: original.pointer, count: rows * d) }
        let t = tokensPerWindow
        return gridSearch(candidateScales(activationMean, weights: [(UnsafePointer(original.pointer), rows)], columns: d)) { s in
            AWQScaleSearch.scaledFakeQuantize(original.pointer, into: weights, rows: rows, columns: d, scales: s, groupSize: groupSize)
            var total = 0.0
            for w in 0 ..< searchCount {
                runner.loadHidden(searchInputs[w].pointer, rows: t)
                runner.runLayer(layer, tokens: t, capture: nil, stopAfter: .gateUp)
                runner.storeHidden(scratchHidden.pointer, rows: t)
                total += AWQScaleSearch.squaredError(scratchHidden.pointer, attentionReference[w].pointer, count: t * d)
            }
            return total
        }
    }

    /// gate/up: loss over the MLP's output (down(silu(x·Wgᵀ) ⊙ x·Wuᵀ)), with down in float.
    func searchMLPScales(gateUp: UnsafeMutablePointer<Float>, down: UnsafeMutablePointer<Float>, activationMean: [Float]) -> ([Float], AWQGroupSearch) {
        let rows = tokenSampleCount
        let candidate = FloatBuffer(count: 2 * f * d)
        let reference = FloatBuffer(count: rows * d)
        let result = FloatBuffer(count: rows * d)
        let probe = MLPProbe(d: d, f: f, chunk: min(rows, 512))
        probe.run(inputs: gateUpInputs.pointer, rows: rows, gateUp: gateUp, down: down, into: reference.pointer)
        return gridSearch(candidateScales(activationMean, weights: [(UnsafePointer(gateUp), 2 * f)], columns: d)) { s in
            AWQScaleSearch.scaledFakeQuantize(gateUp, into: candidate.pointer, rows: 2 * f, columns: d, scales: s, groupSize: groupSize)
            probe.run(inputs: gateUpInputs.pointer, rows: rows, gateUp: candidate.pointer, down: down, into: result.pointer)
            return AWQScaleSearch.squaredError(result.pointer, reference.pointer, count: rows * d)
        }
    }

    /// down (and o): loss over the linear's own output, Σ‖X·W'ᵀ − X·Wᵀ‖² on the token sample —
    /// computed as Σ_r Δ_r (XᵀX) Δ_rᵀ (AWQGramLoss): the same quantity, one Gram matrix per layer and
    /// a product of the weight's own size per candidate instead of one over every sampled token.
    func searchLinearScales(weights: UnsafeMutablePointer<Float>, rows outputs: Int, columns: Int, inputs: UnsafePointer<Float>,
                            activationMean: [Float]) -> ([Float], AWQGroupSearch) {
        let gram = FloatBuffer(count: columns * columns)
        AWQGramLoss.gram(inputs, rows: tokenSampleCount, columns: columns, into: gram.pointer)
        let delta = FloatBuffer(count: outputs * columns)
        let scratch = FloatBuffer(count: outputs * columns)
        let w = UnsafePointer(weights)
        return gridSearch(candidateScales(activationMean, weights: [(w, outputs)], columns: columns)) { s in
            AWQScaleSearch.scaledFakeQuantize(w, into: delta.pointer, rows: outputs, columns: columns, scales: s, groupSize: groupSize)
            AWQScaleSearch.subtract(w, from: delta.pointer, count: outputs * columns)
            return AWQGramLoss.quadraticLoss(delta.pointer, rows: outputs, columns: columns, gram: gram.pointer, scratch: scratch.pointer)
        }
    }

    func scaleSamples(_ stats: GroupStatistics, by s: [Float]) {
        let columns = s.count
        for t in 0 ..< stats.clipSampleCount { for c in 0 ..< columns { stats.clipSamples[t * columns + c] /= s[c] } }
    }
}

/// The MLP of a Llama block on captured inputs, chunk by chunk with reused buffers:
/// out = (silu(x·Wgᵀ) ⊙ x·Wuᵀ)·Wdᵀ, gate and up fused as the engine stores them ([2F × D]).
final class MLPProbe {
    let d: Int, f: Int, chunk: Int
    let gateUp: FloatBuffer, activation: FloatBuffer

    init(d: Int, f: Int, chunk: Int) {
        self.d = d
        self.f = f
        self.chunk = chunk
        gateUp = FloatBuffer(count: chunk * 2 * f)
        activation = FloatBuffer(count: chunk * f)
    }

    func run(inputs: UnsafePointer<Float>, rows: Int, gateUp weights: UnsafePointer<Float>, down: UnsafePointer<Float>,
             into output: UnsafeMutablePointer<Float>) {
        var start = 0
        let f = self.f
        while start < rows {
            let n = min(chunk, rows - start)
            Gemm.multiplyTransposed(inputs + start * d, rows: n, inner: d, weights, columns: 2 * f, into: gateUp.pointer)
            let g = gateUp.pointer, a = activation.pointer
            Parallel.forRanges(n, minimumPerTask: 32) { range in
                for r in range {
                    // The engine's SwiGLU kernel, so the search scores the MLP as evaluation computes it.
                    let row = g + r * 2 * f
                    Elementwise.swiglu(row, row + f, count: f)
                    (a + r * f).update(from: row, count: f)
                }
            }
            Gemm.multiplyTransposed(activation.pointer, rows: n, inner: f, down, columns: d, into: output + start * d)
            start += n
        }
    }
}
