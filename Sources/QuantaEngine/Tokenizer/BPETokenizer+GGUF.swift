import QuantaGraph

extension BPETokenizer {
    static let ggufSource = "GGUF metadata"

    /// Builds the tokenizer llama.cpp builds from a GGUF's `tokenizer.ggml.*` values
    /// (llama-vocab.cpp `impl::load`): BPE for `model` "gpt2", the split rule, `ignore_merges` and the
    /// default `add_bos` from `pre`, explicit `add_bos_token` / `add_eos_token` winning over defaults.
    /// Special token ids outside the vocabulary are dropped, as llama.cpp does (with a warning there).
    public static func fromGGUFMetadata(model: String = "gpt2", pre: String?, tokens: [String],
                                        tokenTypes: [Int32]?, merges: [String], bosTokenID: Int? = nil,
                                        eosTokenID: Int? = nil, unknownTokenID: Int? = nil,
                                        paddingTokenID: Int? = nil, addBOS: Bool? = nil,
                                        addEOS: Bool? = nil) throws -> BPETokenizer {
        let source = ggufSource
        guard model == "gpt2" else {
            throw TokenizerError.unsupported(
                source: source, key: "tokenizer.ggml.model", value: "'\(model)'",
                hint: "only byte-level BPE vocabularies ('gpt2') are handled by BPETokenizer")
        }
        guard let pre else {
            // llama.cpp falls back to its "default" regex set here, which we do not implement.
            throw TokenizerError.missingKey(source: source, key: "tokenizer.ggml.pre")
        }
        guard let preset = PreTokenizerKind.llamaCppPreset(named: pre) else {
            throw TokenizerError.unknownPreTokenizer(source: source, key: "tokenizer.ggml.pre", name: pre)
        }
        // Empty texts are renamed as llama.cpp does so every id keeps a distinct, non-empty text.
        let vocabulary = tokens.enumerated().map { $0.element.isEmpty ? "[EMPTY_\($0.offset)]" : $0.element }
        func validID(_ id: Int?) -> Int32? {
            guard let id, id >= 0, id < vocabulary.count else { return nil }
            return Int32(id)
        }
        // llama.cpp's defaults for a gpt2 vocabulary: BOS = EOS = 11, kept when the file's id is missing
        // or out of range.
        let bos = validID(bosTokenID) ?? validID(11)
        let eos = validID(eosTokenID) ?? validID(11)
        // llama.cpp requires at least one type per token and ignores extra ones.
        var types = tokenTypes
        if let given = tokenTypes {
            guard given.count >= vocabulary.count else {
                throw TokenizerError.invalidValue(
                    source: source, key: "tokenizer.ggml.token_type",
                    reason: "\(given.count) types for \(vocabulary.count) tokens")
            }
            types = Array(given.prefix(vocabulary.count))
        }
        return try BPETokenizer(
            vocabulary: vocabulary, merges: merges, tokenTypes: types, bosTokenID: bos, eosTokenID: eos,
            paddingTokenID: validID(paddingTokenID), unknownTokenID: validID(unknownTokenID),
            addBOS: addBOS ?? preset.defaultAddBOS, addEOS: addEOS ?? false, preTokenizer: preset.kind,
            ignoreMerges: preset.ignoreMerges, convention: .llamaCpp, source: source)
    }

    /// The same, from the graph's tokenizer value.
    public static func fromGGUFMetadata(_ data: TokenizerData) throws -> BPETokenizer {
        try fromGGUFMetadata(model: data.model, pre: data.pre, tokens: data.tokens,
                             tokenTypes: data.tokenTypes.isEmpty ? nil : data.tokenTypes, merges: data.merges,
                             bosTokenID: data.bosTokenID, eosTokenID: data.eosTokenID,
                             unknownTokenID: data.unknownTokenID, paddingTokenID: data.paddingTokenID,
                             addBOS: data.addBOS, addEOS: data.addEOS)
    }
}
