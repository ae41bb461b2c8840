/// One linear quantized in the GPTQ layout's terms, before packing: integer codes, per-group
/// float16-representable scales and integer zero points, and the group of every input column.
/// Orientation follows the IR: the weight is [rows = out, columns = in].
public struct GPTQQuantizedLinear: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    public let configuration: GPTQConfiguration
    /// [rows × columns], codes 0...maxq, natural column order.
    public var codes: [UInt8]
    /// [groups × rows] (the stored `scales` [groups, out]).
    public var scales: [Float]
    /// [groups × rows] true zero points 0...maxq (stored as zero − 1).
    public var zeros: [UInt8]
    /// [columns]: the group whose scale and zero decode each input column (`g_idx`).
    public var groupIndex: [Int32]

    public init(rows: Int, columns: Int, configuration: GPTQConfiguration, codes: [UInt8], scales: [Float],
                zeros: [UInt8], groupIndex: [Int32]) {
        self.rows = rows
        self.columns = columns
        self.configuration = configuration
        self.codes = codes
        self.scales = scales
        self.zeros = zeros
        self.groupIndex = groupIndex
    }

    public var groups: Int { scales.count / max(rows, 1) }

    /// w[r, c] = scale[g, r] · (code[r, c] − zero[g, r]) with g = g_idx[c], row-major [rows × columns].
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        let n = columns, m = rows
        out.withUnsafeMutableBufferPointer { o in
            for r in 0 ..< m {
                for c in 0 ..< n {
                    let g = Int(groupIndex[c])
                    let grid = GPTQGrid(scale: scales[g * m + r], zero: Int(zeros[g * m + r]))
                    o[r * n + c] = grid.value(Int(codes[r * n + c]))
                }
            }
        }
        return out
    }

    /// Storage per weight: codes, plus per group an f16 scale and a packed zero, plus g_idx.
    public var bitsPerWeight: Double {
        let weights = Double(rows * columns)
        let bits = Double(configuration.bits)
        return bits + Double(groups * rows) * (16 + bits) / weights + Double(columns * 32) / weights
    }
}

/// What the solve did for one linear.
public struct GPTQSolveReport: Sendable {
    /// The damp (fraction of the mean Hessian diagonal) actually used.
    public var dampPercent: Double
    public var dampRaised: Bool
    public var deadColumns: Int
    /// Σ (w − q)² / [H⁻¹]_jj² / 2 over the sweep (the reference's `Losses`), 0 for round-to-nearest.
    public var loss: Double
    /// What the scale refit did, when it ran.
    public var refit: GPTQScaleRefit.Report? = nil
}
