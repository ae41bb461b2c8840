/// Choosing and checking the AWQ group size. AutoAWQ's WQLinear_GEMM asserts
/// `in_features % group_size == 0` and `out_features % 8 == 0` (awq/modules/linear/gemm.py);
/// we check the same up front and name the first linear that fails.
public enum AWQGroupSize {
    /// Group sizes `auto` tries, largest first: 128 is AutoAWQ's default; smaller groups cost
    /// more scale/zero storage (4 + 20/g bits per weight) but always fit more widths.
    public static let candidates = [128, 64, 32, 16]

    /// One linear to be packed: its name, input width (columns) and output width (rows).
    public struct Linear: Sendable {
        public var name: String
        public var inputWidth: Int
        public var outputWidth: Int
        public init(name: String, inputWidth: Int, outputWidth: Int) {
            self.name = name
            self.inputWidth = inputWidth
            self.outputWidth = outputWidth
        }
    }

    /// The largest candidate that divides every input width (nil if none does).
    public static func largestFitting(_ linears: [Linear]) -> Int? {
        candidates.first { g in linears.allSatisfy { $0.inputWidth % g == 0 } }
    }

    /// `requested` nil means auto. Throws with the largest fitting size as a suggestion when the
    /// requested one does not divide some input width.
    public static func resolve(requested: Int?, linears: [Linear]) throws -> Int {
        for linear in linears where linear.outputWidth % 8 != 0 {
            throw AWQError.outputNotPackable(tensor: linear.name, outputWidth: linear.outputWidth)
        }
        guard let groupSize = requested else {
            guard let fitting = largestFitting(linears) else {
                let first = linears.first { $0.inputWidth % 16 != 0 }
                throw AWQError.groupSizeDoesNotDivide(groupSize: 16, tensor: first?.name ?? "?", inputWidth: first?.inputWidth ?? 0, suggestion: nil)
            }
            return fitting
        }
        guard groupSize > 0 else { throw AWQError.invalidGroupSize("--group-size must be a positive number or 'auto' (AWQ's GEMM layout has no per-channel mode)") }
        if let bad = linears.first(where: { $0.inputWidth % groupSize != 0 }) {
            throw AWQError.groupSizeDoesNotDivide(groupSize: groupSize, tensor: bad.name, inputWidth: bad.inputWidth,
                                                  suggestion: largestFitting(linears))
        }
        return groupSize
    }
}
