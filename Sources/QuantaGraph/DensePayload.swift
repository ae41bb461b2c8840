import QuantaCore

extension GraphTensor {
    /// The bytes a writer streams for a dense tensor in Hugging Face row order, with any pending
    /// cast applied. Fails for quantized tensors (their writers handle components).
    public func densePayload() throws -> TensorPayload {
        if case let .deferred(payload) = value { return payload }
        guard case let .dense(view) = value else {
            throw GraphError.unsupported("tensor '\(name)' is quantized (\(typeName)); dequantize it first")
        }
        let target = castTo ?? view.dtype
        guard case let .ggufInterleaved(heads) = rowOrder else {
            return try TensorPayload(converting: view, to: target)
        }
        // Reorder rows into HF order (and cast) into one buffer; only Q/K tensors take this path.
        let rows = view.shape.first ?? 0
        let rowElements = rows > 0 ? view.elementCount / rows : 0
        let name = self.name
        return try TensorPayload(dtype: target, shape: view.shape) { out in
            let reordered = try view.withUnsafeBytes { raw -> TensorView in
                let owned = OwnedBytes(count: view.byteCount)
                try RowPermutation.apply(rows: rows, rowBytes: rowElements * view.dtype.byteSize, heads: heads,
                                         toHuggingFace: true, source: raw, target: owned.buffer)
                return try TensorView(owned: owned, byteCount: view.byteCount, dtype: view.dtype, shape: view.shape, context: name)
            }
            try reordered.withUnsafeBytes { raw in
                try DTypeConversion.convert(raw, from: view.dtype, into: out, to: target, count: view.elementCount,
                                            refusingOverflowIn: name)
            }
        }
    }
}

extension GraphTensor {
    /// Drops this tensor's mapped source pages from the resident set once a writer is done
    /// with them, so streaming a model keeps RSS near one tensor.
    public func releaseSourcePages() {
        switch value {
        case let .dense(view): view.releasePages()
        case let .quantized(q): for component in q.components { component.view.releasePages() }
        case .deferred: break
        }
    }
}
