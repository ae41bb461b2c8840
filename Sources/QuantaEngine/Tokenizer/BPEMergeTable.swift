/// The merge rules of a byte-level BPE vocabulary, over token ids.
///
/// Symbols are token ids. A symbol whose text is not a vocabulary entry (a merge result or an alphabet
/// character the vocabulary lacks) gets a "virtual" id at or above `vocabularyCount`; at output each
/// virtual id expands to `virtualExpansion[id - vocabularyCount]` (llama.cpp: the token's single-byte
/// pieces that exist; HF: the unknown token or nothing).
struct BPEMergeTable: Sendable {
    /// (left << 32 | right) → (rank << 32 | merged symbol), both ids as UInt32 bit patterns.
    let merges: [UInt64: UInt64]
    /// Symbol of each raw byte (its GPT-2 alphabet character).
    let byteSymbols: [Int32]
    let vocabularyCount: Int
    let virtualExpansion: [[Int32]]
    /// Raw bytes of every vocabulary entry spelled in the alphabet → id, used when `ignore_merges` lets a
    /// whole word that is already a token skip the merges (llama.cpp `text_to_token`, last entry wins).
    let wholeWords: [[UInt8]: Int32]?

    @inline(__always) static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always) func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, result: Int32)? {
        guard let packed = merges[Self.pairKey(left, right)] else { return nil }
        return (UInt32(truncatingIfNeeded: packed >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: packed)))
    }
}

/// Builds a merge table from token texts and merge strings, with the lookups llama.cpp and HF use.
struct BPEMergeTableBuilder {
    enum MissingPiecePolicy {
        /// llama.cpp: unknown symbols fall back to their single-byte pieces found in the vocabulary.
        case llamaCppByteFallback
        /// HF tokenizers: merges must name vocabulary tokens; an unknown character becomes `unk` or nothing.
        case huggingFace(unknownID: Int32?)
    }

    let source: String
    let vocabulary: [String]
    let policy: MissingPiecePolicy

    func build(merges: [(String, String)], ignoreMerges: Bool) throws -> BPEMergeTable {
        // llama.cpp's token_to_id keeps the last id of a repeated text.
        var idForText: [String: Int32] = [:]
        idForText.reserveCapacity(vocabulary.count)
        for (id, text) in vocabulary.enumerated() { idForText[text] = Int32(id) }

        var virtualTexts: [String] = []
        var virtualIDForText: [String: Int32] = [:]
        func symbol(for text: String, allowVirtual: Bool, mergeIndex: Int, merge: String) throws -> Int32 {
            if let id = idForText[text] { return id }
            if let id = virtualIDForText[text] { return id }
            guard allowVirtual else {
                throw TokenizerError.invalidMerge(source: source, index: mergeIndex, merge: merge,
                                                  reason: "'\(text)' is not in the vocabulary")
            }
            let id = Int32(vocabulary.count + virtualTexts.count)
            virtualTexts.append(text)
            virtualIDForText[text] = id
            return id
        }

        let allowsVirtualMerges: Bool
        if case .llamaCppByteFallback = policy { allowsVirtualMerges = true } else { allowsVirtualMerges = false }

        var byteSymbols = [Int32](repeating: 0, count: 256)
        for byte in 0 ..< 256 {
            let text = ByteLevelAlphabet.encode([UInt8(byte)])
            byteSymbols[byte] = try symbol(for: text, allowVirtual: true, mergeIndex: -1, merge: "")
        }

        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, pair) in merges.enumerated() {
            let display = pair.0 + " " + pair.1
            let left = try symbol(for: pair.0, allowVirtual: allowsVirtualMerges, mergeIndex: rank, merge: display)
            let right = try symbol(for: pair.1, allowVirtual: allowsVirtualMerges, mergeIndex: rank, merge: display)
            let result = try symbol(for: pair.0 + pair.1, allowVirtual: allowsVirtualMerges, mergeIndex: rank,
                                    merge: display)
            let key = BPEMergeTable.pairKey(left, right)
            // llama.cpp's bpe_ranks.emplace keeps the first rank of a repeated pair.
            if table[key] == nil {
                table[key] = UInt64(UInt32(rank)) << 32 | UInt64(UInt32(bitPattern: result))
            }
        }

        let expansion: [[Int32]] = virtualTexts.map { text in
            switch policy {
            case .llamaCppByteFallback:
                // llama-vocab.cpp: each byte of the alphabet spelling looked up as a one-byte token.
                return text.utf8.compactMap { byte in
                    byte < 0x80 ? idForText[String(UnicodeScalar(byte))] : nil
                }
            case let .huggingFace(unknownID):
                return unknownID.map { [$0] } ?? []
            }
        }

        var wholeWords: [[UInt8]: Int32]?
        if ignoreMerges {
            var words: [[UInt8]: Int32] = [:]
            words.reserveCapacity(vocabulary.count)
            for (id, text) in vocabulary.enumerated() {
                if let bytes = ByteLevelAlphabet.decode(text) { words[bytes] = Int32(id) }
            }
            wholeWords = words
        }

        return BPEMergeTable(merges: table, byteSymbols: byteSymbols, vocabularyCount: vocabulary.count,
                             virtualExpansion: expansion, wholeWords: wholeWords)
    }
}
