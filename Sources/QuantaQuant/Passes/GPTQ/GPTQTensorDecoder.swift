import QuantaCore
import QuantaGraph

/// Decodes a `.gptq` quantized tensor (components `qweight`, `qzeros`, `scales`, `g_idx`) to f32
/// [out, in]: w[o, i] = scales[g, o] · (q[i, o] − zero[g, o]) with g = g_idx[i] — "dequantize
/// through g_idx", which handles act-order checkpoints and ragged last groups alike.
public enum GPTQTensorDecoder {
    public static func decode(_ q: QuantizedTensor, name: String) throws -> [Float] {
        try unpack(q, name: name).dequantized()
    }

    /// The codes, scales, zeros and g_idx of a stored tensor, every shape and index checked.
    public static func unpack(_ q: QuantizedTensor, name: String) throws -> GPTQQuantizedLinear {
        guard case let .gptq(bits, groupSize, sym, descAct) = q.scheme else {
            throw GPTQError.badComponent(tensor: name, component: "scheme", reason: "is \(q.scheme), not GPTQ")
        }
        guard q.shape.count == 2 else {
            throw GPTQError.badComponent(tensor: name, component: "shape", reason: "must be [out, in], got \(q.shape)")
        }
        let rows = q.shape[0], columns = q.shape[1]
        try GPTQPacking.checkPackable(rows: rows, columns: columns, bits: bits, name: name)
        func component(_ key: String) throws -> TensorView {
            guard let view = q.component(key) else { throw GPTQError.badComponent(tensor: name, component: key, reason: "is missing") }
            return view
        }
        let qweight = try component("qweight"), qzeros = try component("qzeros"), scales = try component("scales")
        let gIdx = try component("g_idx")
        guard qweight.dtype == .i32, qweight.shape == [columns * bits / 32, rows] else {
            throw GPTQError.badComponent(tensor: name, component: "qweight", reason: "must be int32 \([columns * bits / 32, rows]), got \(qweight.dtype.rawValue) \(qweight.shape)")
        }
        guard scales.dtype.isFloatingPoint, scales.shape.count == 2, scales.shape[1] == rows, scales.shape[0] > 0 else {
            throw GPTQError.badComponent(tensor: name, component: "scales", reason: "must be a float [groups, \(rows)] tensor, got \(scales.dtype.rawValue) \(scales.shape)")
        }
        let groups = scales.shape[0]
        guard qzeros.dtype == .i32, qzeros.shape == [groups, rows * bits / 32] else {
            throw GPTQError.badComponent(tensor: name, component: "qzeros", reason: "must be int32 \([groups, rows * bits / 32]), got \(qzeros.dtype.rawValue) \(qzeros.shape)")
        }
        guard gIdx.dtype == .i32 || gIdx.dtype == .i64, gIdx.shape == [columns] else {
            throw GPTQError.badComponent(tensor: name, component: "g_idx", reason: "must be an int32 [\(columns)] tensor, got \(gIdx.dtype.rawValue) \(gIdx.shape)")
        }
        let groupIndex: [Int32] = try gIdx.withUnsafeBytes { raw in
            try (0 ..< columns).map { i in
                let g = gIdx.dtype == .i32 ? Int(raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self).littleEndian)
                                           : Int(raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self).littleEndian)
                guard g >= 0, g < groups else {
                    throw GPTQError.badComponent(tensor: name, component: "g_idx", reason: "names group \(g) at input \(i), but there are \(groups) groups")
                }
                return Int32(g)
            }
        }
        let words = ints(qweight), zeroWords = ints(qzeros)
        let codes = words.withUnsafeBufferPointer { GPTQPacking.unpackWeights($0, rows: rows, columns: columns, bits: bits) }
        let zeros = zeroWords.withUnsafeBufferPointer { GPTQPacking.unpackZeros($0, groups: groups, rows: rows, bits: bits) }
        let scaleValues = scales.floats()
        let configuration = GPTQConfiguration(bits: bits, groupSize: groupSize, sym: sym, actOrder: descAct)
        return GPTQQuantizedLinear(rows: rows, columns: columns, configuration: configuration, codes: codes,
                                   scales: scaleValues, zeros: zeros, groupIndex: groupIndex)
    }

    /// An int32 tensor's values (the data may sit at any byte offset in its file).
    static func ints(_ view: TensorView) -> [Int32] {
        view.withUnsafeBytes { raw in
            (0 ..< view.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self).littleEndian }
        }
    }
}
