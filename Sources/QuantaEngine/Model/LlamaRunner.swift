import CQuantaKernels
import Dispatch
import QuantaCore
import QuantaGraph

/// The Llama-family forward pass over one context window, batched over its tokens:
/// embedding → [RMSNorm → fused QKV → RoPE → causal GQA attention → O → residual →
/// RMSNorm → fused gate/up → SwiGLU → down → residual] × layers → RMSNorm → lm_head.
/// Activations in f32; every linear through `MatrixProduct` against the weight as stored (with
/// `numerics` deciding how activations meet it), attention heads and row loops split across cores.
/// Memory: the weights' storage plus the scratch below — O(maxTokens · (D + F + V)) and attention
/// scores of cores × 64 × maxTokens floats (independent of the head count).
public final class LlamaRunner: @unchecked Sendable {
    public let weights: LlamaWeights
    public let maxTokens: Int
    public let numerics: Numerics
    let rope: RotaryTable
    // Scratch, sized once for maxTokens.
    let hidden: FloatBuffer, normed: FloatBuffer, qkv: FloatBuffer, attention: FloatBuffer
    let gateUp: FloatBuffer, scores: FloatBuffer
    let products = ProductScratch()
    /// Query rows per attention task; each worker owns attentionBlockRows × maxTokens scores.
    static let attentionBlockRows = 64
    /// Logits of the last forward pass, reused so each window costs no 50 MB allocation.
    let logitsBuffer: FloatBuffer

    public init(weights: LlamaWeights, maxTokens: Int, numerics: Numerics? = nil) {
        Gemm.configure()
        let h = weights.hyperparameters
        self.weights = weights
        self.maxTokens = maxTokens
        self.numerics = numerics ?? weights.defaultNumerics
        rope = RotaryTable(hyperparameters: h, positions: maxTokens, frequencyFactors: weights.ropeFrequencyFactors)
        let qkvWidth = (h.headCount + 2 * h.kvHeadCount) * h.headDimension
        hidden = FloatBuffer(count: maxTokens * h.hiddenSize)
        normed = FloatBuffer(count: maxTokens * max(h.hiddenSize, h.headCount * h.headDimension))
        qkv = FloatBuffer(count: maxTokens * qkvWidth)
        attention = FloatBuffer(count: maxTokens * h.headCount * h.headDimension)
        gateUp = FloatBuffer(count: maxTokens * 2 * h.intermediateSize)
        scores = FloatBuffer(count: Parallel.cores * Self.attentionBlockRows * maxTokens)
        logitsBuffer = FloatBuffer(count: maxTokens * h.vocabSize)
    }

    /// Logits for positions `outputFrom ..< tokens.count`, row-major [(T − outputFrom) × V] (a copy).
    public func logits(tokens: [Int32], outputFrom: Int = 0) throws -> [Float] {
        Array(try forward(tokens: tokens, outputFrom: outputFrom))
    }

    /// Runs the window and returns its logits rows in the runner's own buffer, valid until the
    /// next call (no allocation per window).
    public func forward(tokens: [Int32], outputFrom: Int = 0) throws -> UnsafeBufferPointer<Float> {
        let h = weights.hyperparameters
        let t = tokens.count
        guard t > 0, t <= maxTokens else { throw EngineError.invalidInput("a window of \(t) tokens does not fit the runner (max \(maxTokens))") }
        guard outputFrom >= 0, outputFrom < t else { throw EngineError.invalidInput("outputFrom \(outputFrom) is outside the window") }
        try embed(tokens)
        for layer in 0 ..< h.layerCount { runLayer(layer, tokens: t) }
        let rows = t - outputFrom
        let d = h.hiddenSize
        normalizeRows(hidden.pointer + outputFrom * d, weight: weights.finalNorm, tokens: rows)
        multiply(weights.lmHead, normed.pointer, rows: rows, inputStride: d, into: logitsBuffer.pointer, outputStride: h.vocabSize)
        return UnsafeBufferPointer(start: logitsBuffer.pointer, count: rows * h.vocabSize)
    }

    func embed(_ tokens: [Int32]) throws {
        let h = weights.hyperparameters
        let d = h.hiddenSize
        for (i, token) in tokens.enumerated() {
            guard token >= 0, Int(token) < h.vocabSize else {
                throw EngineError.invalidInput("token id \(token) at position \(i) is outside the vocabulary (\(h.vocabSize))")
            }
            weights.embedding.decodeRows(Int(token), 1, into: hidden.pointer + i * d)
        }
    }

    /// One decoder layer over the first `t` rows of the residual stream.
    public func runLayer(_ index: Int, tokens t: Int) {
        runLayer(index, tokens: t, capture: nil, stopAfter: nil)
    }

    /// One decoder layer, handing each linear group's input to `capture` as it is computed
    /// (for calibration: GPTQ Hessians, AWQ activation statistics). With `stopAfter`, the layer
    /// stops once that group's input has been captured (the residual stream is then unchanged).
    public func runLayer(_ index: Int, tokens t: Int, capture: ((LinearInput) -> Void)?, stopAfter: LinearGroup?) {
        let h = weights.hyperparameters
        let w = weights.layers[index]
        let d = h.hiddenSize, hd = h.headDimension, f = h.intermediateSize, heads = h.headCount
        let hiddenP = hidden.pointer, normedP = normed.pointer

        // Attention block.
        normalizeRows(hiddenP, weight: w.attentionNorm, tokens: t)
        capture?(LinearInput(group: .qkv, values: UnsafePointer(normedP), rows: t, columns: d, rowStride: d))
        if stopAfter == .qkv { return }
        projectQKV(w, tokens: t)
        attend(tokens: t)
        capture?(LinearInput(group: .output, values: UnsafePointer(attention.pointer), rows: t, columns: heads * hd, rowStride: heads * hd))
        if stopAfter == .output { return }
        // o_proj, accumulated straight into the residual stream.
        if let int8 = w.int8?.output {
            int8.apply(attention.pointer, rows: t, inputStride: heads * hd, into: hiddenP, outputStride: d, accumulate: true)
        } else {
            multiply(w.matrix(.o), attention.pointer, rows: t, inputStride: heads * hd, into: hiddenP, outputStride: d, accumulate: true)
        }

        // MLP block.
        normalizeRows(hiddenP, weight: w.mlpNorm, tokens: t)
        capture?(LinearInput(group: .gateUp, values: UnsafePointer(normedP), rows: t, columns: d, rowStride: d))
        if stopAfter == .gateUp { return }
        let gateUpP = gateUp.pointer
        if let int8 = w.int8?.gateUp {
            int8.apply(normedP, rows: t, inputStride: d, into: gateUpP, outputStride: 2 * f, accumulate: false)
        } else {
            multiply(w.matrix(.gate), normedP, rows: t, inputStride: d, into: gateUpP, outputStride: 2 * f)
            multiply(w.matrix(.up), normedP, rows: t, inputStride: d, into: gateUpP + f, outputStride: 2 * f)
        }
        parallelRows(t) { r in Elementwise.swiglu(gateUpP + r * 2 * f, gateUpP + r * 2 * f + f, count: f) }
        capture?(LinearInput(group: .down, values: UnsafePointer(gateUpP), rows: t, columns: f, rowStride: 2 * f))
        if stopAfter == .down { return }
        // down_proj reads the SwiGLU output in place (row stride 2F), accumulating into the residual.
        if let int8 = w.int8?.down {
            int8.apply(gateUpP, rows: t, inputStride: 2 * f, into: hiddenP, outputStride: d, accumulate: true)
        } else {
            downProjection(w, tokens: t)
        }
    }

    /// RMSNorm of the first `t` rows of `source` (row stride D) with `weight`, into the `normed` scratch.
    /// output (+)= input · Wᵀ through the runner's numerics and scratch.
    func multiply(_ w: WeightMatrix, _ input: UnsafePointer<Float>, rows t: Int, inputStride: Int,
                  into output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool = false) {
        MatrixProduct.multiply(w, input, rows: t, inputStride: inputStride, into: output, outputStride: outputStride,
                               accumulate: accumulate, numerics: numerics, scratch: products)
    }

    func normalizeRows(_ source: UnsafePointer<Float>, weight: FloatBuffer, tokens t: Int) {
        let h = weights.hyperparameters, d = h.hiddenSize
        let epsilon = Float(h.rmsNormEpsilon), normedP = normed.pointer, weightP = weight.pointer
        let doubleSum = numerics == .ggml
        parallelRows(t) { r in Elementwise.rmsNorm(source + r * d, weightP, normedP + r * d, count: d, epsilon: epsilon, doubleSum: doubleSum) }
    }

    /// q/k/v of the `normed` rows (+ bias) into `qkv`, then RoPE on the q and k heads (the first
    /// heads + kvHeads heads of each row; the v heads follow them unrotated).
    func projectQKV(_ w: LlamaLayerWeights, tokens t: Int) {
        let h = weights.hyperparameters
        let d = h.hiddenSize, hd = h.headDimension, heads = h.headCount, kvHeads = h.kvHeadCount
        let qkvWidth = (heads + 2 * kvHeads) * hd
        let normedP = normed.pointer, qkvP = qkv.pointer
        if let int8 = w.int8?.qkv {
            int8.apply(normedP, rows: t, inputStride: d, into: qkvP, outputStride: qkvWidth, accumulate: false)
        } else {
            multiply(w.matrix(.q), normedP, rows: t, inputStride: d, into: qkvP, outputStride: qkvWidth)
            multiply(w.matrix(.k), normedP, rows: t, inputStride: d, into: qkvP + heads * hd, outputStride: qkvWidth)
            multiply(w.matrix(.v), normedP, rows: t, inputStride: d, into: qkvP + (heads + kvHeads) * hd, outputStride: qkvWidth)
        }
        let cosP = rope.cosines.withUnsafeBufferPointer { $0.baseAddress! }
        let sinP = rope.sines.withUnsafeBufferPointer { $0.baseAddress! }
        let bias = w.qkvBias
        // llama.cpp keeps K and V in an f16 cache and its flash attention reads Q as f16: under
        // ggml numerics q, k and v are rounded to f16 here (the products stay f32).
        let roundToHalf = numerics == .ggml
        parallelRows(t) { r in
            let row = qkvP + r * qkvWidth
            if let bias { for j in 0 ..< qkvWidth { row[j] += bias.pointer[j] } }
            for head in 0 ..< heads + kvHeads { self.rope.apply(row + head * hd, position: r, cos: cosP, sin: sinP) }
            if roundToHalf { quanta_round_f16(row, row, qkvWidth) }
        }
    }

    /// Embeds `tokens` into the residual stream (positions 0..<count).
    public func embedTokens(_ tokens: [Int32]) throws { try embed(tokens) }

    /// Replaces the first `rows` rows of the residual stream.
    public func loadHidden(_ source: UnsafePointer<Float>, rows: Int) {
        hidden.pointer.update(from: source, count: rows * weights.hyperparameters.hiddenSize)
    }

    /// Copies out the first `rows` rows of the residual stream.
    public func storeHidden(_ target: UnsafeMutablePointer<Float>, rows: Int) {
        target.update(from: hidden.pointer, count: rows * weights.hyperparameters.hiddenSize)
    }

    /// down_proj on the SwiGLU output in `gateUp` (row stride 2F), accumulated into the residual stream.
    func downProjection(_ w: LlamaLayerWeights, tokens t: Int) {
        let h = weights.hyperparameters
        multiply(w.matrix(.down), gateUp.pointer, rows: t, inputStride: 2 * h.intermediateSize, into: hidden.pointer,
                 outputStride: h.hiddenSize, accumulate: true)
    }

    /// Causal grouped-query attention. Tasks are (head, block of query rows); a block of rows
    /// [r0, r1) attends only to keys [0, r1), so the masked upper triangle is never computed.
    func attend(tokens t: Int) {
        let h = weights.hyperparameters
        let hd = h.headDimension, heads = h.headCount, kvHeads = h.kvHeadCount
        let qkvWidth = (heads + 2 * kvHeads) * hd
        let group = heads / kvHeads
        let scale = 1 / Float(hd).squareRoot()
        let qkvP = qkv.pointer, out = attention.pointer, scoresBase = scores.pointer
        let blockRows = Self.attentionBlockRows
        let blocks = (t + blockRows - 1) / blockRows
        let tasks = heads * blocks, workers = min(Parallel.cores, tasks)
        let workerStride = blockRows * maxTokens
        Parallel.forEach(workers) { worker in
          var task = worker
          // Each worker owns one score block; tasks are dealt round-robin, larger blocks first (they see more keys).
          while task < tasks {
            defer { task += workers }
            let head = task % heads
            let block = blocks - 1 - task / heads
            let r0 = block * blockRows, r1 = min(t, r0 + blockRows)
            let rows = r1 - r0
            let s = scoresBase + worker * workerStride
            let kvHead = head / group
            let q = qkvP + r0 * qkvWidth + head * hd
            let k = qkvP + (heads + kvHead) * hd
            let v = qkvP + (heads + kvHeads + kvHead) * hd
            // scores[rows × r1] = scale · Q_block · K[0..<r1]ᵀ
            Gemm.sgemm(transA: false, transB: true, m: rows, n: r1, k: hd, alpha: scale, a: q, lda: qkvWidth,
                       b: k, ldb: qkvWidth, beta: 0, c: s, ldc: r1)
            for row in 0 ..< rows {
                let r = s + row * r1
                let visible = r0 + row + 1
                Elementwise.softmax(r, count: visible)
                if visible < r1 { (r + visible).update(repeating: 0, count: r1 - visible) }
            }
            // out[rows × hd] = P[rows × r1] · V[0..<r1]
            Gemm.sgemm(transA: false, transB: false, m: rows, n: hd, k: r1, alpha: 1, a: s, lda: r1,
                       b: v, ldb: qkvWidth, beta: 0, c: out + r0 * heads * hd + head * hd, ldc: heads * hd)
          }
        }
    }

    /// Runs `body` over rows split into one contiguous range per core.
    @inline(__always)
    func parallelRows(_ rows: Int, _ body: (Int) -> Void) {
        Parallel.forRanges(rows, minimumPerTask: 32) { range in for r in range { body(r) } }
    }
}
