extension GGUFImportance {
    /// An importance matrix file as `llama-quantize --imatrix PATH` takes it (`ImportanceMatrix.load`:
    /// llama-imatrix's GGUF or legacy .dat); `label` is recorded as `quantize.imatrix.file`.
    public init(loading path: String, label: String? = nil) throws {
        self.init(matrix: try ImportanceMatrix.load(path: path), label: label ?? path)
    }

    /// A matrix computed from calibration text the way llama-imatrix computes one (ctx 512).
    public init(computingFor model: String, calibration: String, chunks: Int, tokenizer: String? = nil) throws {
        var options = ImatrixOptions(calibrationPath: calibration, contextLength: 512, chunks: chunks)
        options.tokenizerPath = tokenizer
        let matrix = try ImportanceMatrixBuilder.compute(model: model, options: options)
        self.init(matrix: matrix, label: calibration)
    }

    public init(matrix: ImportanceMatrix, label: String) {
        var values: [String: [Float]] = [:]
        for name in matrix.tensorNames {
            if let weights = matrix.importance(for: name) { values[name] = weights }
        }
        self.init(label: label, datasets: matrix.datasets, chunkCount: matrix.chunkCount, values: values)
    }
}
