import QuantaCore

/// The GPTQ checkpoint layout (AutoGPTQ `QuantLinear.pack`, GPTQModel 7.7 `pack_block` /
/// `pack_original`, `checkpoint_format: "gptq"`):
///   qweight int32 [in·bits/32, out]: codes packed along the input dimension; for 2/4/8 bits word
///           [k, o] holds inputs k·(32/bits) + j at bits j·bits; for 3 bits every 32 inputs fill
///           three words as 10 | 1 | 10 | 1 | 10 (value 10 straddles words 0/1, value 21 words 1/2);
///   qzeros  int32 [groups, out·bits/32]: zero points packed the same way along the output
///           dimension, stored as zero − 1 (the "v1" convention);
///   scales  float16 [groups, out];
///   g_idx   int32 [in].
/// "zero − 1" is applied per field here, which equals GPTQModel's whole-word subtraction of
/// 0x…1111 whenever no zero is 0 — always true for what Quanta writes (see `GPTQGrid`). Reading
/// follows GPTQModel 7.7 (`convert_gptq_v1_to_v2_format_module`): for 2/4/8 bits the whole word
/// gets the pattern added back (so a producer's borrow round-trips), for 3 bits each field.
public enum GPTQPacking {
    /// Values that one int32 holds, for 2/4/8 bits.
    @inline(__always)
    static func perWord(_ bits: Int) -> Int { 32 / bits }

    /// Checks that a [rows = out, columns = in] linear fits the layout.
    public static func checkPackable(rows: Int, columns: Int, bits: Int, name: String) throws {
        guard [2, 3, 4, 8].contains(bits) else { throw GPTQError.unsupportedBits(bits) }
        guard columns > 0, columns % 32 == 0 else {
            throw GPTQError.notPackable(tensor: name, reason: "its \(columns) inputs are not a positive multiple of 32 (qweight packs 32 inputs into \(bits) int32 words)")
        }
        let unit = bits == 3 ? 32 : perWord(bits)
        guard rows > 0, rows % unit == 0 else {
            throw GPTQError.notPackable(tensor: name, reason: "its \(rows) outputs are not a positive multiple of \(unit) (qzeros packs \(unit) zero points per \(bits == 3 ? "3 words" : "word"))")
        }
    }

    // MARK: - Packing a run of codes

    /// Packs `count` codes (`count` a multiple of 32 for 3 bits, of 32/bits otherwise) read at
    /// `value(i)` into `count·bits/32` words written at `store(k, word)`.
    @inline(__always)
    static func packRun(count: Int, bits: Int, value: (Int) -> UInt32, store: (Int, UInt32) -> Void) {
        if bits == 3 {
            for chunk in 0 ..< count / 32 {
                let base = chunk * 32
                var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0
                for j in 0 ..< 10 { a |= value(base + j) << (3 * UInt32(j)) }
                let v10 = value(base + 10)
                a |= v10 << 30
                b |= (v10 >> 2) & 1
                for j in 0 ..< 10 { b |= value(base + 11 + j) << (3 * UInt32(j) + 1) }
                let v21 = value(base + 21)
                b |= v21 << 31
                c |= (v21 >> 1) & 3
                for j in 0 ..< 10 { c |= value(base + 22 + j) << (3 * UInt32(j) + 2) }
                store(chunk * 3, a)
                store(chunk * 3 + 1, b)
                store(chunk * 3 + 2, c)
            }
            return
        }
        let per = perWord(bits)
        for k in 0 ..< count / per {
            var word: UInt32 = 0
            for j in 0 ..< per { word |= value(k * per + j) << (UInt32(bits) * UInt32(j)) }
            store(k, word)
        }
    }

    /// The code at position `i` of a packed run read through `word(k)`.
    @inline(__always)
    static func unpack(_ i: Int, bits: Int, word: (Int) -> UInt32) -> UInt32 {
        if bits == 3 {
            let chunk = i / 32, j = i % 32, base = chunk * 3
            switch j {
            case 0 ..< 10: return (word(base) >> (3 * UInt32(j))) & 7
            case 10: return ((word(base) >> 30) & 3) | ((word(base + 1) & 1) << 2)
            case 11 ..< 21: return (word(base + 1) >> (3 * UInt32(j - 11) + 1)) & 7
            case 21: return ((word(base + 1) >> 31) & 1) | ((word(base + 2) & 3) << 1)
            default: return (word(base + 2) >> (3 * UInt32(j - 22) + 2)) & 7
            }
        }
        let per = perWord(bits)
        return (word(i / per) >> (UInt32(bits) * UInt32(i % per))) & UInt32((1 << bits) - 1)
    }

    // MARK: - qweight

    /// codes [rows = out × columns = in] → qweight [columns·bits/32 × rows].
    public static func packWeights(_ codes: [UInt8], rows: Int, columns: Int, bits: Int) -> [Int32] {
        let words = columns * bits / 32
        var packed = [Int32](repeating: 0, count: words * rows)
        codes.withUnsafeBufferPointer { c in
            packed.withUnsafeMutableBufferPointer { out in
                let outBase = out.baseAddress!
                Parallel.forRanges(rows, minimumPerTask: 16) { range in
                    for o in range {
                        let row = c.baseAddress! + o * columns
                        packRun(count: columns, bits: bits, value: { UInt32(row[$0]) },
                                store: { k, word in outBase[k * rows + o] = Int32(bitPattern: word) })
                    }
                }
            }
        }
        return packed
    }

    /// qweight [columns·bits/32 × rows] → codes [rows × columns].
    public static func unpackWeights(_ packed: UnsafeBufferPointer<Int32>, rows: Int, columns: Int, bits: Int) -> [UInt8] {
        var codes = [UInt8](repeating: 0, count: rows * columns)
        codes.withUnsafeMutableBufferPointer { out in
            let outBase = out.baseAddress!
            Parallel.forRanges(rows, minimumPerTask: 16) { range in
                for o in range {
                    for i in 0 ..< columns {
                        outBase[o * columns + i] = UInt8(unpack(i, bits: bits) { UInt32(bitPattern: packed[$0 * rows + o]) })
                    }
                }
            }
        }
        return codes
    }

    // MARK: - qzeros

    /// The v1 offset pattern for 2/4/8 bits: 1 in every field (0x55555555, 0x11111111, 0x01010101).
    static func ones(_ bits: Int) -> UInt32 {
        var pattern: UInt32 = 0
        for j in 0 ..< perWord(bits) { pattern |= 1 << (UInt32(bits) * UInt32(j)) }
        return pattern
    }

    /// zeros [groups × rows] (true zero points) → qzeros [groups × rows·bits/32], stored as zero − 1.
    public static func packZeros(_ zeros: [UInt8], groups: Int, rows: Int, bits: Int) -> [Int32] {
        let words = rows * bits / 32
        let mask = UInt32((1 << bits) - 1)
        var packed = [Int32](repeating: 0, count: groups * words)
        for g in 0 ..< groups {
            packRun(count: rows, bits: bits, value: { (UInt32(zeros[g * rows + $0]) &- 1) & mask },
                    store: { k, word in packed[g * words + k] = Int32(bitPattern: word) })
        }
        return packed
    }

    /// qzeros [groups × rows·bits/32] (v1, zero − 1) → true zero points [groups × rows].
    public static func unpackZeros(_ packed: UnsafeBufferPointer<Int32>, groups: Int, rows: Int, bits: Int) -> [UInt8] {
        let words = rows * bits / 32
        let mask = UInt32((1 << bits) - 1)
        var zeros = [UInt8](repeating: 0, count: groups * rows)
        for g in 0 ..< groups {
            let base = g * words
            if bits == 3 {
                for o in 0 ..< rows {
                    let stored = unpack(o, bits: 3) { UInt32(bitPattern: packed[base + $0]) }
                    zeros[g * rows + o] = UInt8((stored + 1) & mask)
                }
            } else {
                let offset = ones(bits)
                for o in 0 ..< rows {
                    let value = unpack(o, bits: bits) { UInt32(bitPattern: packed[base + $0]) &+ offset }
                    zeros[g * rows + o] = UInt8(value)
                }
            }
        }
        return zeros
    }

    // MARK: - Components

    /// The layout's four components, named as GPTQ checkpoints name them (`<module>.qweight`, …).
    public static func components(_ q: GPTQQuantizedLinear, name: String = "linear") throws -> [(name: String, view: TensorView)] {
        let bits = q.configuration.bits
        try checkPackable(rows: q.rows, columns: q.columns, bits: bits, name: name)
        let qweight = packWeights(q.codes, rows: q.rows, columns: q.columns, bits: bits)
        let qzeros = packZeros(q.zeros, groups: q.groups, rows: q.rows, bits: bits)
        let scales = q.scales.map { Float16($0).bitPattern }
        // The solver keeps scales positive and finite; refuse to write one that is not all the same.
        if let bad = scales.firstIndex(where: { let s = Float(Float16(bitPattern: $0)); return !s.isFinite || s <= 0 }) {
            throw GPTQError.nonFinite(tensor: name, what: "a float16 scale of \(Float(Float16(bitPattern: scales[bad]))) (group \(bad / max(q.rows, 1)), output \(bad % max(q.rows, 1)))")
        }
        if let bad = q.zeros.firstIndex(where: { Int($0) > q.configuration.maxq }) {
            throw GPTQError.notPackable(tensor: name, reason: "zero point \(q.zeros[bad]) exceeds \(q.configuration.maxq)")
        }
        return [
            ("qweight", try qweight.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [q.columns * bits / 32, q.rows]) }),
            ("qzeros", try qzeros.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [q.groups, q.rows * bits / 32]) }),
            ("scales", try scales.withUnsafeBytes { try TensorView.copying($0, dtype: .f16, shape: [q.groups, q.rows]) }),
            ("g_idx", try q.groupIndex.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [q.columns]) }),
        ]
    }
}
