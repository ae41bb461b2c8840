import Foundation

/// Byte-level BPE tokenizer (GPT-2 family) whose ids equal llama.cpp's `llama_tokenize` when built from
/// GGUF metadata and HF `tokenizers` when built from tokenizer.json.
///
/// Encoding: special tokens are matched first (`SpecialTokenMatcher`), each remaining text fragment is
/// split into words (`PreTokenizerSplit`), each word's bytes are merged (`BPEWordEncoder`).
public struct BPETokenizer: Sendable {
    /// Token texts by id, spelled in the GPT-2 byte alphabet (special tokens verbatim).
    public let vocabulary: [String]
    /// GGUF token types by id: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public let tokenTypes: [Int32]
    public let specialTokens: [SpecialToken]
    public let bosTokenID: Int32?
    public let eosTokenID: Int32?
    public let paddingTokenID: Int32?
    public let unknownTokenID: Int32?
    public let addBOS: Bool
    public let addEOS: Bool
    public let preTokenizer: PreTokenizerKind
    /// Whole words already in the vocabulary skip the merges (llama3 in llama.cpp, `ignore_merges` in HF).
    public let ignoreMerges: Bool
    /// HF ByteLevel `add_prefix_space`: a space is put before every text fragment not starting with one.
    public let addPrefixSpace: Bool
    /// HF `normalizer: NFC`, applied to each text fragment before splitting.
    public let normalizesToNFC: Bool

    let mergeTable: BPEMergeTable
    let specialMatcher: SpecialTokenMatcher

    /// Whose rules apply where the vocabulary lacks a piece: llama.cpp (merges may name texts that are not
    /// tokens; such pieces fall back to their one-byte tokens) or HF tokenizers (merges must name tokens;
    /// an unknown character becomes the unknown token or is dropped).
    public enum Convention: Sendable {
        case llamaCpp
        case huggingFace
    }

    public static let tokenTypeNormal: Int32 = 1
    public static let tokenTypeUnknown: Int32 = 2
    public static let tokenTypeControl: Int32 = 3
    public static let tokenTypeUserDefined: Int32 = 4

    /// - Parameters:
    ///   - vocabulary: id → token text in the byte-level alphabet.
    ///   - merges: merge pairs, highest priority first.
    ///   - tokenTypes: GGUF token types; types 2 and 3 become control specials, 4 user-defined specials.
    ///   - specialTokens: extra (or overriding, by id) special tokens.
    public init(vocabulary: [String], merges: [(String, String)], tokenTypes: [Int32]? = nil,
                specialTokens: [SpecialToken] = [], bosTokenID: Int32? = nil, eosTokenID: Int32? = nil,
                paddingTokenID: Int32? = nil, unknownTokenID: Int32? = nil, addBOS: Bool = false,
                addEOS: Bool = false, preTokenizer: PreTokenizerKind, ignoreMerges: Bool = false,
                addPrefixSpace: Bool = false, normalizesToNFC: Bool = false,
                convention: Convention = .llamaCpp, source: String = "tokenizer") throws {
        guard !vocabulary.isEmpty else {
            throw TokenizerError.invalidValue(source: source, key: "vocabulary", reason: "the vocabulary is empty")
        }
        guard vocabulary.count < Int(Int32.max) else {
            throw TokenizerError.invalidValue(source: source, key: "vocabulary",
                                              reason: "\(vocabulary.count) tokens do not fit 32-bit ids")
        }
        if let tokenTypes, tokenTypes.count != vocabulary.count {
            throw TokenizerError.invalidValue(
                source: source, key: "token_type",
                reason: "\(tokenTypes.count) token types for \(vocabulary.count) tokens")
        }
        for (key, id) in [("bos_token_id", bosTokenID), ("eos_token_id", eosTokenID),
                          ("padding_token_id", paddingTokenID), ("unknown_token_id", unknownTokenID)] {
            if let id, id < 0 || Int(id) >= vocabulary.count {
                throw TokenizerError.tokenIDOutOfRange(source: source, key: key, id: Int(id),
                                                       vocabularySize: vocabulary.count)
            }
        }
        if addBOS && bosTokenID == nil {
            throw TokenizerError.missingKey(source: source, key: "bos_token_id (add_bos_token is true)")
        }
        if addEOS && eosTokenID == nil {
            throw TokenizerError.missingKey(source: source, key: "eos_token_id (add_eos_token is true)")
        }

        var types = tokenTypes ?? [Int32](repeating: Self.tokenTypeNormal, count: vocabulary.count)
        var specialsByID: [Int32: SpecialToken] = [:]
        for (index, type) in types.enumerated() {
            switch type {
            case Self.tokenTypeControl, Self.tokenTypeUnknown:
                specialsByID[Int32(index)] = SpecialToken(id: Int32(index), text: vocabulary[index], kind: .control)
            case Self.tokenTypeUserDefined:
                specialsByID[Int32(index)] = SpecialToken(id: Int32(index), text: vocabulary[index],
                                                          kind: .userDefined)
            default:
                break
            }
        }
        for token in specialTokens {
            guard token.id >= 0 && Int(token.id) < vocabulary.count else {
                throw TokenizerError.tokenIDOutOfRange(source: source, key: "special token '\(token.text)'",
                                                       id: Int(token.id), vocabularySize: vocabulary.count)
            }
            specialsByID[token.id] = token
            types[Int(token.id)] = token.kind == .control ? Self.tokenTypeControl : Self.tokenTypeUserDefined
        }
        let specials = specialsByID.keys.sorted().compactMap { specialsByID[$0] }

        let policy: BPEMergeTableBuilder.MissingPiecePolicy
        switch convention {
        case .llamaCpp: policy = .llamaCppByteFallback
        case .huggingFace: policy = .huggingFace(unknownID: unknownTokenID)
        }
        mergeTable = try BPEMergeTableBuilder(source: source, vocabulary: vocabulary, policy: policy)
            .build(merges: merges, ignoreMerges: ignoreMerges)
        specialMatcher = SpecialTokenMatcher(specials)

        self.vocabulary = vocabulary
        self.tokenTypes = types
        self.specialTokens = specials
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.paddingTokenID = paddingTokenID
        self.unknownTokenID = unknownTokenID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.preTokenizer = preTokenizer
        self.ignoreMerges = ignoreMerges
        self.addPrefixSpace = addPrefixSpace
        self.normalizesToNFC = normalizesToNFC
    }

    /// Merges as GGUF and merges.txt store them: "left right", split at the first space after the first
    /// character (llama-vocab.cpp: `word.find(' ', 1)`).
    public init(vocabulary: [String], merges: [String], tokenTypes: [Int32]? = nil,
                specialTokens: [SpecialToken] = [], bosTokenID: Int32? = nil, eosTokenID: Int32? = nil,
                paddingTokenID: Int32? = nil, unknownTokenID: Int32? = nil, addBOS: Bool = false,
                addEOS: Bool = false, preTokenizer: PreTokenizerKind, ignoreMerges: Bool = false,
                addPrefixSpace: Bool = false, normalizesToNFC: Bool = false,
                convention: Convention = .llamaCpp, source: String = "tokenizer") throws {
        let pairs = try Self.splitMerges(merges, source: source)
        try self.init(vocabulary: vocabulary, merges: pairs, tokenTypes: tokenTypes, specialTokens: specialTokens,
                      bosTokenID: bosTokenID, eosTokenID: eosTokenID, paddingTokenID: paddingTokenID,
                      unknownTokenID: unknownTokenID, addBOS: addBOS, addEOS: addEOS, preTokenizer: preTokenizer,
                      ignoreMerges: ignoreMerges, addPrefixSpace: addPrefixSpace, normalizesToNFC: normalizesToNFC,
                      convention: convention, source: source)
    }

    static func splitMerges(_ merges: [String], source: String) throws -> [(String, String)] {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let utf8 = merge.utf8
            guard let first = utf8.first, first != 0x20 || utf8.count > 1,
                  let space = utf8.dropFirst().firstIndex(of: 0x20) else {
                throw TokenizerError.invalidMerge(source: source, index: index, merge: merge,
                                                  reason: "expected two tokens separated by a space")
            }
            let left = String(merge[merge.startIndex ..< space])
            let right = String(merge[merge.index(after: space)...])
            guard !left.isEmpty, !right.isEmpty else {
                throw TokenizerError.invalidMerge(source: source, index: index, merge: merge,
                                                  reason: "expected two tokens separated by a space")
            }
            pairs.append((left, right))
        }
        return pairs
    }

    public var vocabularySize: Int { vocabulary.count }
}
