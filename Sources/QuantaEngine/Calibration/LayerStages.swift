import QuantaCore

/// A decoder layer cut at its four linear groups, so a calibrated pass can compute each group's
/// input once, change the group's weights, and carry on from there — each GEMM of the layer runs
/// exactly once per window (`LayerwiseCalibrator.observe` re-runs the layer from its start for
/// every group). Every stage uses the same kernels in the same order as `runLayer`, so a layer run
/// through the stages with unchanged weights yields bit-identical residual streams (tested).
///
/// Per window the caller keeps the residual stream `state` (t × D) and a `carry` buffer
/// (t × max(H·hd, F)) that holds the attention output between stages 2 and 3 and the SwiGLU
/// output between stages 4 and 5.
extension LlamaRunner {
    /// Widest activation a window must carry between stages (per token).
    public var stageCarryWidth: Int {
        let h = weights.hyperparameters
        return max(h.headCount * h.headDimension, h.intermediateSize)
    }

    /// Stage 1: the attention RMSNorm of `state` — the input of q/k/v, in the `normed` scratch
    /// buffer (t × D) until the next call.
    public func stageAttentionInput(layer index: Int, state: UnsafePointer<Float>, tokens t: Int) -> LinearInput {
        let d = weights.hyperparameters.hiddenSize
        normalizeRows(state, weight: weights.layers[index].attentionNorm, tokens: t)
        return LinearInput(group: .qkv, values: UnsafePointer(normed.pointer), rows: t, columns: d, rowStride: d)
    }

    /// Stage 2: q/k/v (current weights), RoPE and attention; the attention output — the input of
    /// o_proj — is copied into `carry` (t × H·hd) and returned.
    public func stageOutputInput(layer index: Int, state: UnsafePointer<Float>, carry: UnsafeMutablePointer<Float>, tokens t: Int) -> LinearInput {
        let h = weights.hyperparameters, heads = h.headCount, hd = h.headDimension
        _ = stageAttentionInput(layer: index, state: state, tokens: t)
        projectQKV(weights.layers[index], tokens: t)
        attend(tokens: t)
        carry.update(from: attention.pointer, count: t * heads * hd)
        return LinearInput(group: .output, values: UnsafePointer(carry), rows: t, columns: heads * hd, rowStride: heads * hd)
    }

    /// Stage 3: o_proj (current weights) on the carried attention output, added into the residual
    /// stream; `state` becomes the stream after the attention block. Returns the MLP RMSNorm of it
    /// — the input of gate/up — in the `normed` scratch buffer.
    public func stageGateUpInput(layer index: Int, state: UnsafeMutablePointer<Float>, carry: UnsafePointer<Float>, tokens t: Int) -> LinearInput {
        let h = weights.hyperparameters, w = weights.layers[index]
        let d = h.hiddenSize, q = h.headCount * h.headDimension
        let hiddenP = hidden.pointer
        loadHidden(state, rows: t)
        multiply(w.matrix(.o), carry, rows: t, inputStride: q, into: hiddenP, outputStride: d, accumulate: true)
        storeHidden(state, rows: t)
        normalizeRows(hiddenP, weight: w.mlpNorm, tokens: t)
        return LinearInput(group: .gateUp, values: UnsafePointer(normed.pointer), rows: t, columns: d, rowStride: d)
    }

    /// Stage 4: gate/up (current weights) and SwiGLU on the MLP norm of `state`; the SwiGLU output
    /// — the input of down_proj — is copied into `carry` (t × F) and returned.
    public func stageDownInput(layer index: Int, state: UnsafePointer<Float>, carry: UnsafeMutablePointer<Float>, tokens t: Int) -> LinearInput {
        let h = weights.hyperparameters, w = weights.layers[index]
        let d = h.hiddenSize, f = h.intermediateSize
        let normedP = normed.pointer, gateUpP = gateUp.pointer
        normalizeRows(state, weight: w.mlpNorm, tokens: t)
        multiply(w.matrix(.gate), normedP, rows: t, inputStride: d, into: gateUpP, outputStride: 2 * f)
        multiply(w.matrix(.up), normedP, rows: t, inputStride: d, into: gateUpP + f, outputStride: 2 * f)
        parallelRows(t) { r in
            Elementwise.swiglu(gateUpP + r * 2 * f, gateUpP + r * 2 * f + f, count: f)
            (carry + r * f).update(from: gateUpP + r * 2 * f, count: f)
        }
        return LinearInput(group: .down, values: UnsafePointer(carry), rows: t, columns: f, rowStride: f)
    }

    /// Stage 5: down_proj (current weights) on the carried SwiGLU output, added into `state`: the
    /// layer's output, the next layer's input.
    public func stageFinish(layer index: Int, state: UnsafeMutablePointer<Float>, carry: UnsafePointer<Float>, tokens t: Int) {
        let f = weights.hyperparameters.intermediateSize, gateUpP = gateUp.pointer
        loadHidden(state, rows: t)
        // down_proj reads its input with the 2F row stride runLayer uses, from the same buffer.
        parallelRows(t) { r in (gateUpP + r * 2 * f).update(from: carry + r * f, count: f) }
        downProjection(weights.layers[index], tokens: t)
        storeHidden(state, rows: t)
    }
}
