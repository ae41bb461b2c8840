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

    public init(bits: Int = 4, groupSize: Int = 128, sym: Bool = true, actOrder: Bool = false,
                staticGroups: Bool = false, dampPercent: Double = 0.01) {
        self.bits = bits
        self.groupSize = groupSize
        self.sym = sym
        self.actOrder = actOrder
        self.staticGroups = staticGroups
        self.dampPercent = dampPercent
    }

    /// The largest code, 2^bits − 1.
    public var maxq: Int { (1 << bits) - 1 }

    public func validate() throws {
        guard [2, 3, 4, 8].contains(bits) else { throw GPTQError.unsupportedBits(bits) }
        guard groupSize == -1 || groupSize > 0 else { throw GPTQError.invalidGroupSize(groupSize) }
        guard dampPercent > 0, dampPercent < 1 else { throw GPTQError.invalidDamp(dampPercent) }
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
