/// The settings of a GPTQ (or round-to-nearest) quantization in the GPTQ layout, named as
/// GPTQModel's `QuantizeConfig` and the checkpoint's `quantization_config` name them.
public struct GPTQConfiguration: Sendable, Equatable {
    /// 2, 3, 4 or 8.
    public var bits: Int
    /// Input columns per (scale, zero) group; -1 = one group per output row.
    public var groupSize: Int
    /// Symmetric grid: zero fixed at 2^(bits−1) (GPTQ's `sym`).
    public var sym: Bool
    /// Quantize columns in order of decreasing Hessian diagonal (`desc_act`, "act-order").
    public var actOrder: Bool
    /// With act-order: fix every group's grid on the unmodified weights before the sweep, so
    /// groups stay contiguous in the original column order (`static_groups`).
    public var staticGroups: Bool
    /// Dampening added to the Hessian's diagonal, as a fraction of its mean (`damp_percent`).
    public var dampPercent: Double
    /// Without act-order: sweep whole groups in order of their largest Hessian diagonal, and the
    /// columns inside each group by decreasing diagonal (GPTQModel's `act_group_aware`, "GAR").
    /// Groups stay contiguous in the original order, so the checkpoint is an ordinary
    /// `desc_act: false` one with a natural g_idx.
    public var groupAwareOrder: Bool
    /// Grid search for each group's range (the reference `Quantizer`'s `mse` option): shrink the
    /// range by p = 1, 0.99, … (80 steps, down to 0.2) and keep the grid with the least
    /// Σ|w − q|^mseNorm. 0 = off (plain min/max).
    public var mseNorm: Double
    /// After the sweep, re-solve each row's group scales for the least calibration output error
    /// with the codes fixed (`GPTQScaleRefit`). Not part of the checkpoint's config: the layout
    /// is unchanged.
    public var refitScales: Bool
    /// With `mseNorm`: weigh each weight's error in the range search by its input's Hessian diagonal
    /// (mean square activation), as llama.cpp's importance matrix weighs its scale search.
    public var mseImportance: Bool

    public init(bits: Int = 4, groupSize: Int = 128, sym: Bool = true, actOrder: Bool = false,
                staticGroups: Bool = false, dampPercent: Double = 0.01, groupAwareOrder: Bool = false, mseNorm: Double = 0,
                refitScales: Bool = false, mseImportance: Bool = false) {
        self.bits = bits
        self.groupSize = groupSize
        self.sym = sym
        self.actOrder = actOrder
        self.staticGroups = staticGroups
        self.dampPercent = dampPercent
        self.groupAwareOrder = groupAwareOrder
        self.mseNorm = mseNorm
        self.refitScales = refitScales
        self.mseImportance = mseImportance
    }

    /// The sweep order this configuration asks for.
    public var ordering: GPTQColumnOrder {
        if actOrder { return .decreasingDiagonal }
        if groupAwareOrder && groupSize > 0 { return .groupAware(groupSize: groupSize) }
        return .natural
    }

    /// The largest code, 2^bits − 1.
    public var maxq: Int { (1 << bits) - 1 }

    public func validate() throws {
        guard [2, 3, 4, 8].contains(bits) else { throw GPTQError.unsupportedBits(bits) }
        guard groupSize == -1 || groupSize > 0 else { throw GPTQError.invalidGroupSize(groupSize) }
        guard dampPercent > 0, dampPercent < 1 else { throw GPTQError.invalidDamp(dampPercent) }
        guard mseNorm == 0 || (mseNorm >= 1 && mseNorm <= 8) else {
            throw GPTQError.invalidOption("--mse must be 0 (off) or a norm between 1 and 8 (the reference uses 2.4; 2 is fastest)")
        }
        if mseImportance && mseNorm == 0 {
            throw GPTQError.invalidOption("--mse-importance weighs the range search: it needs --mse N")
        }
        if groupAwareOrder && actOrder {
            throw GPTQError.invalidOption("--act-group-aware orders columns inside fixed groups; it does not combine with --act-order")
        }
        if groupAwareOrder && groupSize <= 0 {
            throw GPTQError.invalidOption("--act-group-aware needs groups (a --group-size other than -1)")
        }
    }

    /// Groups of a row of `columns` inputs; the last one is shorter when the width is not a multiple.
    public func groupCount(columns: Int) -> Int {
        groupSize == -1 ? 1 : (columns + groupSize - 1) / groupSize
    }

    /// Columns of one lazy-batch block. The reference uses 128; here a block is always a whole
    /// number of groups, so a group's grid is fixed on weights that have received every update
    /// from the columns before it (the reference fixes it on the block's stale copy, which
    /// differs when a group starts inside a block).
    public var blockSize: Int {
        guard groupSize > 0 else { return 128 }
        return groupSize >= 128 ? groupSize : (128 / groupSize) * groupSize
    }
}

/// The order in which the GPTQ sweep visits a linear's input columns.
public enum GPTQColumnOrder: Sendable, Equatable {
    case natural
    /// Decreasing Hessian diagonal (act-order, `desc_act`).
    case decreasingDiagonal
    /// Whole groups by decreasing largest diagonal, columns inside a group by decreasing diagonal;
    /// a shorter last group stays last.
    case groupAware(groupSize: Int)

    /// Sweep position → original column for a Hessian diagonal.
    public func permutation(diagonal: [Double]) -> [Int] {
        let n = diagonal.count
        // Decreasing diagonal, ties in original order (stable).
        func byDiagonal(_ a: Int, _ b: Int) -> Bool { diagonal[a] != diagonal[b] ? diagonal[a] > diagonal[b] : a < b }
        switch self {
        case .natural:
            return Array(0 ..< n)
        case .decreasingDiagonal:
            return (0 ..< n).sorted(by: byDiagonal)
        case let .groupAware(g):
            let full = n / g
            let groups = (0 ..< full).map { k in (k * g ..< (k + 1) * g).sorted(by: byDiagonal) }
            let order = (0 ..< full).sorted { a, b in
                let x = diagonal[groups[a][0]], y = diagonal[groups[b][0]]
                return x != y ? x > y : a < b
            }
            return order.flatMap { groups[$0] } + (full * g ..< n).sorted(by: byDiagonal)
        }
    }
}
