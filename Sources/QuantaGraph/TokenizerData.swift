/// A tokenizer's vocabulary as carried between formats (GGUF `tokenizer.ggml.*` ↔ HF tokenizer files).
/// Plain values only; the engine builds its tokenizer from these.
public struct TokenizerData: Sendable, Equatable {
    /// GGUF `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece).
    public var model: String
    /// GGUF `tokenizer.ggml.pre`: llama.cpp's pre-tokenizer name ("smollm", "llama-bpe", …).
    public var pre: String?
    public var tokens: [String]
    public var tokenTypes: [Int32]
    public var merges: [String]
    public var scores: [Float]?
    public var bosTokenID: Int?
    public var eosTokenID: Int?
    public var unknownTokenID: Int?
    public var paddingTokenID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var chatTemplate: String?

    public init(model: String, pre: String?, tokens: [String], tokenTypes: [Int32], merges: [String],
                scores: [Float]? = nil, bosTokenID: Int? = nil, eosTokenID: Int? = nil,
                unknownTokenID: Int? = nil, paddingTokenID: Int? = nil, addBOS: Bool? = nil,
                addEOS: Bool? = nil, chatTemplate: String? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.scores = scores
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.unknownTokenID = unknownTokenID
        self.paddingTokenID = paddingTokenID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.chatTemplate = chatTemplate
    }
}
