import COpenBLAS
import QuantaCore
import QuantaFormats

/// GPTQ's error feedback (Frantar et al. 2022) inside ggml's block grids: the output is ordinary
/// ggml blocks of `type` (Q5_0, Q4_K, Q6_K, Q8_0 …) that llama.cpp reads as any other, but each
/// block is chosen knowing the calibration Hessian H of the linear's input.
///
/// The columns are swept in blocks of the type's block size B (ggml's blocks run along a row, i.e.
/// along the input columns). At a block's start the current — error-updated — weights of those
/// columns are encoded for every row by ggml's own quantizer (`GGMLRowQuantizer`, with importance
/// weights for the columns) and decoded: that is Q for the block, and those bytes are the output.
/// With Q fixed, the block's error is then pushed onto the columns not yet encoded exactly as
/// GPTQ does column by column (e = (w − q)/U_ii; W[:, j] −= e·U[i, j] for j > i, inside the block
/// at once and onto later blocks in one GEMM per block), U the upper Cholesky factor of H⁻¹ in
/// natural order. Act-order is not possible: a block's columns are fixed by the layout.
/// Rows are independent given U: tasks of `rowsPerTask` rows run the whole sweep on their own copy.
public enum GGUFBlockGPTQ {
    static let rowsPerTask = 32

    /// The per-column weights ggml's search minimizes its error with, inside each block.
    public enum Importance: Sendable {
        /// ggml's unweighted search (what llama-quantize does without an imatrix).
        case none
        /// Given weights, one per column (mean x², e.g. an imatrix entry or diag(H)/2).
        case weights([Float])
        /// 1 / U_ii²: the cost of column i's error once the columns after it compensate
        /// (GPTQ's loss weight of that column) — the Hessian's diagonal conditioned on the rest.
        case conditional
    }

    public struct Result: Sendable {
        /// `rows × type.byteCount(elements: columns)` bytes: row r's blocks at r × rowBytes.
        public var bytes: [UInt8]
        /// The blocks decoded (row-major rows × columns): what the model computes with from now on.
        public var dequantized: [Float]
        /// GPTQ's loss, Σ e² / 2 (the calibration output error the sweep could not compensate).
        public var loss: Double
    }

    /// True when `type` can be swept: a block type ggml can encode (with importance when asked).
    public static func canSolve(_ type: GGMLType, importance: Bool) -> Bool {
        type.blockSize > 1 && GGMLRowQuantizer.canQuantize(type, importance: importance) && GGMLCodec.canDequantize(type)
    }

    /// Encodes `weights` ([rows × columns] row-major, [out, in]) as `type` blocks with error
    /// feedback through `inverse` (natural order; dead columns keep their weights: no update reaches
    /// or leaves them, their H row being the identity's).
    public static func solve(weights: UnsafePointer<Float>, rows: Int, columns: Int, type: GGMLType,
                             inverse: GPTQInverseHessian, importance: Importance, name: String = "linear") throws -> Result {
        let n = columns, b = type.blockSize
        guard inverse.columns == n, rows > 0, n > 0 else {
            throw GPTQError.shapeMismatch("block GPTQ: '\(name)' has \(n) inputs but its Hessian has \(inverse.columns)")
        }
        guard inverse.permutation == Array(0 ..< n) else {
            throw GPTQError.shapeMismatch("block GPTQ: '\(name)': the sweep must be in natural column order (ggml blocks are contiguous columns)")
        }
        guard b > 1, n % b == 0, let rowBytes = type.byteCount(elements: n), let blockBytes = type.byteCount(elements: b) else {
            throw GPTQError.shapeMismatch("block GPTQ: '\(name)': \(n) columns are not whole \(type.name) blocks of \(b)")
        }
        try GPTQSolver.checkFinite(weights, count: rows * n, name: name)
        let u0 = inverse.factor
        var columnWeights: [Float]?
        switch importance {
        case .none: columnWeights = nil
        case let .weights(given):
            guard given.count == n else {
                throw GPTQError.shapeMismatch("block GPTQ: '\(name)': \(given.count) importance weights for \(n) columns")
            }
            columnWeights = given
        case .conditional:
            columnWeights = (0 ..< n).map { i in
                let d = u0[i * n + i]
                return inverse.dead[i] ? 0 : 1 / (d * d)
            }
        }
        let weighted = columnWeights != nil
        guard canSolve(type, importance: weighted) else {
            throw GPTQError.invalidOption("block GPTQ: '\(name)': Quanta cannot encode \(type.name)\(weighted ? " with importance weights" : "")")
        }
        let imp = columnWeights ?? []

        var bytes = [UInt8](repeating: 0, count: rows * rowBytes)
        var dequantized = [Float](repeating: 0, count: rows * n)
        let tasks = (rows + rowsPerTask - 1) / rowsPerTask
        var losses = [Double](repeating: 0, count: tasks)
        var failures = [String?](repeating: nil, count: tasks)

        u0.withUnsafeBufferPointer { factorBuffer in
        imp.withUnsafeBufferPointer { impBuffer in
        bytes.withUnsafeMutableBytes { bytesOut in
        dequantized.withUnsafeMutableBufferPointer { valuesOut in
        losses.withUnsafeMutableBufferPointer { lossOut in
        failures.withUnsafeMutableBufferPointer { failOut in
            guard let u = factorBuffer.baseAddress, let outBase = bytesOut.baseAddress, let valuesBase = valuesOut.baseAddress else { return }
            Parallel.forEach(tasks) { task in
                let r0 = task * rowsPerTask, m = min(rowsPerTask, rows - r0)
                var w = [Float](repeating: 0, count: m * n)
                var e = [Float](repeating: 0, count: m * b)
                var segment = [Float](repeating: 0, count: m * b)
                var decoded = [Float](repeating: 0, count: m * b)
                var encoded = [UInt8](repeating: 0, count: m * blockBytes)
                var loss = 0.0
                do {
                    try w.withUnsafeMutableBufferPointer { wb in
                    try e.withUnsafeMutableBufferPointer { eb in
                    try segment.withUnsafeMutableBufferPointer { sb in
                    try decoded.withUnsafeMutableBufferPointer { db in
                    try encoded.withUnsafeMutableBytes { xb in
                        guard let w = wb.baseAddress, let e = eb.baseAddress, let s = sb.baseAddress,
                              let q = db.baseAddress, let x = xb.baseAddress else { return }
                        (w).update(from: weights + r0 * n, count: m * n)
                        var i1 = 0
                        while i1 < n {
                            let i2 = i1 + b
                            // The block as the sweep has updated it, every row, contiguous for ggml.
                            for r in 0 ..< m { (s + r * b).update(from: w + r * n + i1, count: b) }
                            let blockImportance = weighted ? UnsafeBufferPointer(rebasing: impBuffer[i1 ..< i2]) : nil
                            try GGMLRowQuantizer.quantize(type, rows: m, rowLength: b, from: UnsafeBufferPointer(sb),
                                                          importance: blockImportance, into: UnsafeMutableRawBufferPointer(xb))
                            try GGMLCodec.dequantize(type, from: UnsafeRawBufferPointer(xb), into: db, count: m * b)
                            let block = i1 / b
                            for r in 0 ..< m {
                                (outBase + (r0 + r) * rowBytes + block * blockBytes).copyMemory(from: x + r * blockBytes, byteCount: blockBytes)
                                (valuesBase + (r0 + r) * n + i1).update(from: q + r * b, count: b)
                            }
                            // Q is fixed: the block's errors, column by column with the in-block updates.
                            for p in i1 ..< i2 {
                                let urow = u + p * n, d = urow[p], tail = i2 - p - 1
                                for r in 0 ..< m {
                                    let row = w + r * n
                                    let err = (row[p] - q[r * b + p - i1]) / d
                                    loss += Double(err) * Double(err)
                                    e[r * b + p - i1] = err
                                    if tail > 0 {
                                        let target = row + p + 1, coefficients = urow + p + 1
                                        for j in 0 ..< tail { target[j] -= err * coefficients[j] }
                                    }
                                }
                            }
                            // Lazy batch: W[:, i2:] −= E · U[i1:i2, i2:].
                            if i2 < n {
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n - i2), Int32(b),
                                            -1, e, Int32(b), u + i1 * n + i2, Int32(n), 1, w + i2, Int32(n))
                            }
                            i1 = i2
                        }
                    }
                    }
                    }
                    }
                    }
                } catch {
                    failOut[task] = "\(error)"
                }
                lossOut[task] = loss / 2
            }
        }
        }
        }
        }
        }
        }
        if let failure = failures.compactMap({ $0 }).first {
            throw GPTQError.invalidOption("block GPTQ: '\(name)': \(failure)")
        }
        if let bad = dequantized.firstIndex(where: { !$0.isFinite }) {
            throw GPTQError.nonFinite(tensor: name, what: "a non-finite \(type.name) block value at element \(bad) (scales overflowed)")
        }
        return Result(bytes: bytes, dequantized: dequantized, loss: losses.reduce(0, +))
    }
}
