import QuantaCore

/// AutoAWQ's GEMM layout (awq/modules/linear/gemm.py, `WQLinear_GEMM.from_linear`):
///   qweight int32 [in, out/8]: nibble i (bits 4i…4i+3) of word [r, k] holds the code of output
///            column 8k + order[i], order = 0,2,4,6,1,3,5,7 (the interleave its CUDA kernel reads);
///   qzeros  int32 [in/g, out/8]: the zero points, packed the same way;
///   scales  f16   [in/g, out].
/// Note the orientation: rows are inputs, unlike HF's [out, in] weights.
public enum AWQPacking {
    public static let order = [0, 2, 4, 6, 1, 3, 5, 7]
    /// Nibble that holds column j of a pack (the inverse of `order`; AutoAWQ's AWQ_REVERSE_ORDER).
    public static let reverseOrder = [0, 4, 1, 5, 2, 6, 3, 7]

    /// Packs [rows × columns] 4-bit values (row-major) into [rows × columns/8] words; columns % 8 == 0.
    public static func pack(_ values: UnsafeBufferPointer<UInt8>, rows: Int, columns: Int) -> [Int32] {
        let words = columns / 8
        var packed = [Int32](repeating: 0, count: rows * words)
        for r in 0 ..< rows {
            for k in 0 ..< words {
                var word: UInt32 = 0
                for i in 0 ..< 8 { word |= UInt32(values[r * columns + 8 * k + order[i]] & 0xF) << (4 * UInt32(i)) }
                packed[r * words + k] = Int32(bitPattern: word)
            }
        }
        return packed
    }

    /// The 4-bit value of column `column` in a packed row starting at `row`.
    @inline(__always)
    public static func value(_ row: UnsafeRawPointer, column: Int) -> Int {
        let word = row.loadUnaligned(fromByteOffset: 4 * (column / 8), as: UInt32.self).littleEndian
        return Int((word >> (4 * UInt32(reverseOrder[column % 8]))) & 0xF)
    }

    /// The three component arrays of a quantized weight in the GEMM layout.
    public static func layout(_ q: AWQQuantizedWeight) -> (qweight: [Int32], qzeros: [Int32], scales: [UInt16]) {
        let out = q.rows, inputs = q.columns, groups = q.groups
        // Transpose codes [out, in] → [in, out], zeros [out, groups] → [groups, out].
        var codesT = [UInt8](repeating: 0, count: inputs * out)
        var zerosT = [UInt8](repeating: 0, count: groups * out)
        var scalesT = [UInt16](repeating: 0, count: groups * out)
        for o in 0 ..< out {
            for i in 0 ..< inputs { codesT[i * out + o] = q.codes[o * inputs + i] }
            for g in 0 ..< groups {
                zerosT[g * out + o] = q.zeros[o * groups + g]
                scalesT[g * out + o] = q.scales[o * groups + g]
            }
        }
        let qweight = codesT.withUnsafeBufferPointer { pack($0, rows: inputs, columns: out) }
        let qzeros = zerosT.withUnsafeBufferPointer { pack($0, rows: groups, columns: out) }
        return (qweight, qzeros, scalesT)
    }

    /// The layout's components as tensor views, named as AutoAWQ names them.
    public static func components(_ q: AWQQuantizedWeight) throws -> [(name: String, view: TensorView)] {
        let (qweight, qzeros, scales) = layout(q)
        let words = q.rows / 8
        return [
            ("qweight", try qweight.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [q.columns, words]) }),
            ("qzeros", try qzeros.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [q.groups, words]) }),
            ("scales", try scales.withUnsafeBytes { try TensorView.copying($0, dtype: .f16, shape: [q.groups, q.rows]) }),
        ]
    }
}
