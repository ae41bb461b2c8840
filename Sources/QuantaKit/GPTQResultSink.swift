import QuantaCore
import QuantaFormats
import QuantaQuant

/// Where GPTQ/RTN results go as each linear is solved. In memory (the solved linears are kept, for
/// tests and small models) or spilled: the linear is packed into its GPTQ components right away and
/// their bytes are appended to a `SpillFile`, mapped back for the writer at the end — so the pass's
/// memory stays at one layer, whatever the model's size.
final class GPTQResultSink {
    struct Packed {
        var shape: [Int]
        var actOrder: Bool
        var components: [(name: String, view: TensorView)]
    }

    private(set) var linears: [String: GPTQQuantizedLinear] = [:]
    private(set) var sizes: [String: (weights: Int, bitsPerWeight: Double)] = [:]
    private let spill: SpillFile?
    /// Spilled components: name → (shape, act order, [(component, offset, dtype, shape)]).
    private var spilled: [String: (shape: [Int], actOrder: Bool, parts: [(String, Int, DType, [Int])])] = [:]

    init(spillDirectory: String?) throws {
        spill = try spillDirectory.map { try SpillFile(directory: $0) }
    }

    func receive(_ name: String, _ linear: GPTQQuantizedLinear) throws {
        sizes[name] = (linear.rows * linear.columns, linear.bitsPerWeight)
        guard let spill else {
            linears[name] = linear
            return
        }
        var parts: [(String, Int, DType, [Int])] = []
        for (component, view) in try GPTQPacking.components(linear, name: name) {
            let offset = try view.withUnsafeBytes { try spill.append($0) }
            parts.append((component, offset, view.dtype, view.shape))
        }
        spilled[name] = ([linear.rows, linear.columns], linear.configuration.actOrder, parts)
    }

    /// Every result's components (views into the mapped spill file, or packed from memory).
    func components() throws -> [String: Packed] {
        var result: [String: Packed] = [:]
        if let spill {
            let file = try spill.map()
            for (name, entry) in spilled {
                let views = try entry.parts.map { part in
                    (name: part.0, view: try TensorView(file: file, offset: part.1, dtype: part.2, shape: part.3, context: name + "." + part.0))
                }
                result[name] = Packed(shape: entry.shape, actOrder: entry.actOrder, components: views)
            }
        }
        for (name, linear) in linears {
            result[name] = Packed(shape: [linear.rows, linear.columns], actOrder: linear.configuration.actOrder,
                                  components: try GPTQPacking.components(linear, name: name))
        }
        return result
    }
}
