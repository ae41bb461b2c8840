/// Per-codepoint category flags as llama.cpp's `unicode_cpt_flags` (src/unicode.h) defines them:
/// one general-category bit (\p{N}, \p{L}, \p{Z}, \p{M}, \p{P}, \p{S}, \p{C}, or "undefined" for Cn)
/// plus a White_Space bit. llama.cpp generates its table from UnicodeData.txt
/// (scripts/gen-unicode-data.py); we ask Swift's Unicode properties, which follow the same data, and treat
/// characters assigned after llama.cpp's table (Unicode 15.1 in llama.cpp of llama-cpp-python 0.3.36) as
/// unassigned so that new characters split exactly as llama.cpp splits them. The test
/// TokenizerUnicodeTests compares every codepoint with llama.cpp's table.
/// A value of 0 means "outside the current fragment", exactly like llama.cpp's `_get_flags` out of range.
enum CodepointFlags {
    static let undefined: UInt16 = 0x0001
    static let number: UInt16 = 0x0002
    static let letter: UInt16 = 0x0004
    static let separator: UInt16 = 0x0008
    static let mark: UInt16 = 0x0010
    static let punctuation: UInt16 = 0x0020
    static let symbol: UInt16 = 0x0040
    static let control: UInt16 = 0x0080
    static let categoryMask: UInt16 = 0x00FF
    static let whitespace: UInt16 = 0x0100

    /// Flags of one scalar value (ASCII through a table, the rest through the stdlib's Unicode data).
    static func of(_ value: UInt32) -> UInt16 {
        if value < 128 { return asciiTable[Int(value)] }
        guard let scalar = Unicode.Scalar(value) else { return undefined }
        return computed(scalar)
    }

    /// The Unicode version of llama.cpp's src/unicode-data.cpp (newest `age` among the codepoints it assigns).
    static let llamaCppUnicodeVersion = (major: 15, minor: 1)

    static func computed(_ scalar: Unicode.Scalar) -> UInt16 {
        let properties = scalar.properties
        guard let age = properties.age,
              (age.major, age.minor) <= (llamaCppUnicodeVersion.major, llamaCppUnicodeVersion.minor) else {
            return undefined
        }
        var flags = category(properties.generalCategory)
        if properties.isWhitespace { flags |= whitespace }
        return flags
    }

    /// The mapping of gen-unicode-data.py's UNICODE_CATEGORY_TO_FLAG.
    static func category(_ category: Unicode.GeneralCategory) -> UInt16 {
        switch category {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return mark
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return separator
        case .control, .format, .surrogate, .privateUse:
            return control
        case .unassigned:
            return undefined
        @unknown default:
            return undefined
        }
    }

    private static let asciiTable: [UInt16] = (0 ..< 128).map { value in
        // Every ASCII value is a valid scalar.
        computed(Unicode.Scalar(UInt8(value)))
    }
}
