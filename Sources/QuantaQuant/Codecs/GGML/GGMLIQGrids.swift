/// The IQ code books as f32, parsed once (on first use, thread-safely, as every Swift static) from
/// the generated `GGMLIQGridData` text, in the form gguf-py's decoders multiply with: grid entry `i`,
/// element `j` at `[width · i + j]`, and signs as ±1 (gguf-py `np.where(bit == 0, 1, -1)`).
///
/// Each table has exactly its ggml size whatever the text holds (missing entries would read as 0),
/// so a decoder's masked index is always in bounds; a test pins that the text parses to exactly
/// that many entries.
enum GGMLIQGrids {
    /// iq2xxs_grid: 256 × 8 magnitudes (8, 25, 43).
    static let iq2xxs = floats(GGMLIQGridData.iq2xxs, entries: 256, width: 8)
    /// iq2xs_grid: 512 × 8.
    static let iq2xs = floats(GGMLIQGridData.iq2xs, entries: 512, width: 8)
    /// iq2s_grid: 1024 × 8.
    static let iq2s = floats(GGMLIQGridData.iq2s, entries: 1024, width: 8)
    /// iq3xxs_grid: 256 × 4 magnitudes (4 … 62).
    static let iq3xxs = floats(GGMLIQGridData.iq3xxs, entries: 256, width: 4)
    /// iq3s_grid: 512 × 4 magnitudes (1 … 15).
    static let iq3s = floats(GGMLIQGridData.iq3s, entries: 512, width: 4)
    /// iq1s_grid (IQ1_S and IQ1_M): 2048 × 8 values in −1 … 1, stored as int8.
    static let iq1s = floats(GGMLIQGridData.iq1s, entries: 2048, width: 8, signed: true)

    /// Signs of one sign byte: `[8 · byte + j]` is −1 where bit j is set (IQ2_S and IQ3_S store
    /// eight sign bits per byte).
    static let byteSigns: [Float] = (0 ..< 256 * 8).map { i in (i >> 3) >> (i & 7) & 1 == 0 ? 1 : -1 }

    /// The same through ksigns_iq2xs (IQ2_XXS, IQ2_XS, IQ3_XXS store seven sign bits; the table
    /// adds the eighth, their parity): `[8 · index + j]` for a 7-bit index.
    static let ksignSigns: [Float] = {
        let ksigns = fitted(hexValues(GGMLIQGridData.ksigns), count: 128)
        return (0 ..< 128 * 8).map { i in (ksigns[i >> 3] >> UInt64(i & 7)) & 1 == 0 ? 1 : -1 }
    }()

    /// Grid entries `entries × width` bytes (byte j of each little-endian integer is element j) as f32.
    static func floats(_ text: String, entries: Int, width: Int, signed: Bool = false) -> [Float] {
        let values = fitted(hexValues(text), count: entries)
        return (0 ..< entries * width).map { i in
            let byte = UInt8(truncatingIfNeeded: values[i / width] >> UInt64(8 * (i % width)))
            return signed ? Float(Int8(bitPattern: byte)) : Float(byte)
        }
    }

    /// `values` cut or zero-padded to `count`.
    static func fitted(_ values: [UInt64], count: Int) -> [UInt64] {
        Array(values.prefix(count)) + [UInt64](repeating: 0, count: max(0, count - values.count))
    }

    /// Every `0x…` hexadecimal literal in `text` with at least one digit, in order (anything else
    /// separates them).
    static func hexValues(_ text: String) -> [UInt64] {
        var values: [UInt64] = []
        var current: UInt64 = 0
        var digits = 0
        var inNumber = false
        var previous: UInt8 = 0
        for c in text.utf8 {
            if inNumber, let digit = hexDigit(c) {
                current = current << 4 | UInt64(digit)
                digits += 1
            } else {
                if inNumber && digits > 0 { values.append(current) }
                inNumber = previous == UInt8(ascii: "0") && c == UInt8(ascii: "x")
                current = 0
                digits = 0
            }
            previous = c
        }
        if inNumber && digits > 0 { values.append(current) }
        return values
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
