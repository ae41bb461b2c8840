import QuantaCore
import QuantaGraph

/// Decodes an AWQ GEMM tensor (ours or AutoAWQ's) to f32 [out, in]:
/// w[o, i] = f32(code[i, o] − zero[i / g, o]) · f32(scale[i / g, o]). Every component's dtype and
/// shape is checked against the logical shape before a byte is read.
public enum AWQTensorDecoder {
    public static func decode(_ q: QuantizedTensor, name: String) throws -> [Float] {
        let rows = try AWQRowDecoder(q, name: name)
        var result = [Float](repeating: 0, count: rows.rows * rows.columns)
        result.withUnsafeMutableBufferPointer { rows.decode(0, rows.rows, into: $0.baseAddress!) }
        return result
    }

    static func component(_ q: QuantizedTensor, _ component: String, name: String, dtype: DType, shape: [Int]) throws -> TensorView {
        guard let view = q.component(component) else {
            throw AWQError.badComponent(tensor: name, component: component, reason: "is missing")
        }
        guard view.dtype == dtype, view.shape == shape else {
            throw AWQError.badComponent(tensor: name, component: component,
                                        reason: "must be \(dtype.rawValue) \(shape), got \(view.dtype.rawValue) \(view.shape)")
        }
        return view
    }
}

/// Row-range decoding of an AWQ GEMM tensor straight from its (mapped) components, every dtype
/// and shape checked once: w[o, i] = f32(code[i, o] − zero[i / g, o]) · f32(scale[i / g, o]).
public struct AWQRowDecoder: Sendable {
    public let rows: Int
    public let columns: Int
    let groupSize: Int
    let qweight: TensorView
    let qzeros: TensorView
    let scales: [Float]

    public init(_ q: QuantizedTensor, name: String) throws {
        guard case let .awq(bits, groupSize) = q.scheme else {
            throw AWQError.badComponent(tensor: name, component: "(scheme)", reason: "is \(q.scheme), not AWQ")
        }
        guard bits == 4 else { throw AWQError.unsupportedBits(bits) }
        guard q.shape.count == 2, q.shape[0] > 0, q.shape[1] > 0 else {
            throw AWQError.badComponent(tensor: name, component: "(shape)", reason: "must be a 2-D [out, in] weight, got \(q.shape)")
        }
        let out = q.shape[0], inputs = q.shape[1]
        guard out % 8 == 0 else { throw AWQError.outputNotPackable(tensor: name, outputWidth: out) }
        guard groupSize > 0, inputs % groupSize == 0 else {
            throw AWQError.groupSizeDoesNotDivide(groupSize: groupSize, tensor: name, inputWidth: inputs, suggestion: nil)
        }
        let groups = inputs / groupSize, words = out / 8
        qweight = try AWQTensorDecoder.component(q, "qweight", name: name, dtype: .i32, shape: [inputs, words])
        qzeros = try AWQTensorDecoder.component(q, "qzeros", name: name, dtype: .i32, shape: [groups, words])
        guard let scales = q.component("scales") else {
            throw AWQError.badComponent(tensor: name, component: "scales", reason: "is missing")
        }
        guard scales.dtype.isFloatingPoint, scales.shape == [groups, out] else {
            throw AWQError.badComponent(tensor: name, component: "scales",
                                        reason: "must be float [\(groups), \(out)], got \(scales.dtype.rawValue) \(scales.shape)")
        }
        self.scales = scales.floats()
        self.rows = out
        self.columns = inputs
        self.groupSize = groupSize
    }

    /// Rows `start ..< start + count` into `output` [count × columns].
    public func decode(_ start: Int, _ count: Int, into output: UnsafeMutablePointer<Float>) {
        let out = rows, inputs = columns, rowBytes = out / 8 * 4
        qweight.withUnsafeBytes { codes in
            qzeros.withUnsafeBytes { zeros in
                guard let codeBase = codes.baseAddress, let zeroBase = zeros.baseAddress else { return }
                for i in 0 ..< inputs {
                    let g = i / groupSize
                    let codeRow = codeBase + i * rowBytes, zeroRow = zeroBase + g * rowBytes
                    for o in start ..< start + count {
                        let level = AWQPacking.value(codeRow, column: o) - AWQPacking.value(zeroRow, column: o)
                        output[(o - start) * inputs + i] = Float(level) * scales[g * out + o]
                    }
                }
            }
        }
    }
}
