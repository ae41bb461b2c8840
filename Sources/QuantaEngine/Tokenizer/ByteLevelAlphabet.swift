/// GPT-2's reversible byte → printable character map (openai/gpt-2 `bytes_to_unicode`, llama.cpp
/// `unicode_byte_to_utf8_map`): bytes '!'…'~', '¡'…'¬', '®'…'ÿ' stand for themselves, the other 68 bytes
/// take U+0100, U+0101, … in increasing byte order. Byte-level vocabularies spell tokens in this alphabet.
enum ByteLevelAlphabet {
    /// Scalar value standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0 ..< 256 {
            if standsForItself(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet scalar stands for; scalars outside the alphabet are absent.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for byte in 0 ..< 256 { map[scalarForByte[byte]] = UInt8(byte) }
        return map
    }()

    static func standsForItself(_ byte: Int) -> Bool {
        (0x21 ... 0x7E).contains(byte) || (0xA1 ... 0xAC).contains(byte) || (0xAE ... 0xFF).contains(byte)
    }

    /// The alphabet spelling of raw bytes.
    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var result = String.UnicodeScalarView()
        for byte in bytes {
            // Every table entry is below U+0144, a valid scalar.
            if let scalar = Unicode.Scalar(scalarForByte[Int(byte)]) { result.append(scalar) }
        }
        return String(result)
    }

    /// Raw bytes of an alphabet spelling, or nil when the text uses a character outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            guard let byte = byteForScalar[scalar.value] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
