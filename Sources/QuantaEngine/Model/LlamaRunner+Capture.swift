/// The forward pass as an observer sees it: every decoder layer's linear-group inputs in order,
/// then (optionally) the lm_head's input, without computing the logits. This is what llama-imatrix
/// collects (the src1 of each weight's MUL_MAT); nothing of the window is kept afterwards.
extension LlamaRunner {
    /// Runs `tokens` through every decoder layer, calling `layerInput(layer, input)` with each linear
    /// group's input as it is computed; with `headInput`, then applies the final RMSNorm and hands
    /// its rows (the lm_head's input: `rows` × `columns`, contiguous) to it. The lm_head itself is not run.
    public func observeInputs(tokens: [Int32], layerInput: (Int, LinearInput) -> Void,
                              headInput: ((_ values: UnsafePointer<Float>, _ rows: Int, _ columns: Int) -> Void)? = nil) throws {
        let h = weights.hyperparameters
        let t = tokens.count
        guard t > 0, t <= maxTokens else { throw EngineError.invalidInput("a window of \(t) tokens does not fit the runner (max \(maxTokens))") }
        try embed(tokens)
        withoutActuallyEscaping(layerInput) { layerInput in
            for layer in 0 ..< h.layerCount {
                runLayer(layer, tokens: t, capture: { layerInput(layer, $0) }, stopAfter: nil)
            }
        }
        guard let headInput else { return }
        let d = h.hiddenSize
        normalizeRows(hidden.pointer, weight: weights.finalNorm, tokens: t)
        headInput(UnsafePointer(normed.pointer), t, d)
    }

    /// Whether the model has an lm_head of its own (not the tied embedding).
    public var hasSeparateHead: Bool { weights.lmHead !== weights.embedding }
}
