extension BPETokenizer {
    /// The text of `ids`. Normal tokens are mapped back from the byte alphabet to their bytes; special
    /// tokens are written verbatim (control ones left out when `skipSpecialTokens`). A character outside
    /// the alphabet contributes its own UTF-8 bytes (HF `ByteLevel` decoder). Bytes that do not form
    /// valid UTF-8 on their own (a multi-byte character split across the ids) become U+FFFD.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) throws -> String {
        String(decoding: try decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The raw bytes of `ids` (see `decode`).
    public func decodeBytes(_ ids: [Int32], skipSpecialTokens: Bool = false) throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0 && Int(id) < vocabulary.count else {
                throw TokenizerError.decodeIDOutOfRange(id: id, vocabularySize: vocabulary.count)
            }
            let text = vocabulary[Int(id)]
            switch tokenTypes[Int(id)] {
            case Self.tokenTypeControl, Self.tokenTypeUnknown:
                if !skipSpecialTokens { bytes.append(contentsOf: text.utf8) }
            case Self.tokenTypeUserDefined:
                bytes.append(contentsOf: text.utf8)
            default:
                for scalar in text.unicodeScalars {
                    let value = Int(scalar.value)
                    if value < Self.alphabetBytes.count, let byte = Self.alphabetBytes[value] {
                        bytes.append(byte)
                    } else {
                        bytes.append(contentsOf: String(scalar).utf8)
                    }
                }
            }
        }
        return bytes
    }

    /// Byte for each alphabet scalar value (the alphabet lies below U+0144).
    private static let alphabetBytes: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 0x144)
        for (scalar, byte) in ByteLevelAlphabet.byteForScalar { table[Int(scalar)] = byte }
        return table
    }()
}
