import QuantaCore

/// GGUF tokenizer metadata ↔ Hugging Face tokenizer files (byte-level BPE).
/// The pre-tokenizer is written in the shape HF `tokenizers` needs to split words exactly as
/// llama.cpp's `pre` type does (llama-vocab.cpp regex sets), so ids agree with llama-tokenize.
public enum TokenizerFiles {
    /// llama.cpp token types (llama-vocab.h `llama_token_type`).
    public static let normalType: Int32 = 1, unknownType: Int32 = 2, controlType: Int32 = 3, userDefinedType: Int32 = 4

    /// HF spellings of the split regexes llama.cpp uses for its `pre` types.
    static let llama3Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// llama.cpp `pre` names grouped by the regex set they share (llama-vocab.cpp).
    static let smollmFamily: Set<String> = ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"]
    static let llama3Family: Set<String> = ["llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"]
    static let qwen2Family: Set<String> = ["qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"]

    // MARK: GGUF → HF

    /// tokenizer.json, tokenizer_config.json and special_tokens_map.json for `data`.
    public static func huggingFaceFiles(_ data: TokenizerData, contextLength: Int?) throws -> [SideFile] {
        guard data.model == "gpt2" else {
            throw GraphError.unsupported("tokenizer model '\(data.model)': only byte-level BPE ('gpt2') converts to tokenizer.json for now; SentencePiece ('llama') vocabularies are not supported yet")
        }
        guard data.tokenTypes.isEmpty || data.tokenTypes.count == data.tokens.count else {
            throw GraphError.invalidConfig(path: "GGUF", key: "tokenizer.ggml.token_type", reason: "\(data.tokenTypes.count) types for \(data.tokens.count) tokens")
        }
        let preTokenizer = try huggingFacePreTokenizer(pre: data.pre ?? "gpt2")
        var added: [JSONValue] = []
        var decoderEntries: [(String, JSONValue)] = []
        for (id, token) in data.tokens.enumerated() {
            let type = data.tokenTypes.isEmpty ? normalType : data.tokenTypes[id]
            guard type == controlType || type == userDefinedType else { continue }
            let entry = JSONObject([
                ("id", .int(Int64(id))), ("content", .string(token)), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(type != controlType)),
                ("special", .bool(type == controlType)),
            ])
            added.append(.object(entry))
            var decoderEntry = entry
            decoderEntry.remove("id")
            decoderEntries.append((String(id), .object(decoderEntry)))
        }
        var vocab = JSONObject()
        for (id, token) in data.tokens.enumerated() where vocab[token] == nil { vocab[token] = .int(Int64(id)) }
        let merges: [JSONValue] = try data.merges.map { merge in
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw GraphError.invalidConfig(path: "GGUF", key: "tokenizer.ggml.merges", reason: "merge '\(merge)' is not two tokens separated by a space")
            }
            return .array([.string(String(parts[0])), .string(String(parts[1]))])
        }
        let bos = data.bosTokenID.flatMap { data.tokens.indices.contains($0) ? data.tokens[$0] : nil }
        let eos = data.eosTokenID.flatMap { data.tokens.indices.contains($0) ? data.tokens[$0] : nil }
        let pad = data.paddingTokenID.flatMap { data.tokens.indices.contains($0) ? data.tokens[$0] : nil }
        let unk = data.unknownTokenID.flatMap { data.tokens.indices.contains($0) ? data.tokens[$0] : nil }
        let addBOS = data.addBOS ?? false, addEOS = data.addEOS ?? false
        let postProcessor: JSONValue
        if (addBOS && bos != nil) || (addEOS && eos != nil) {
            var single: [JSONValue] = []
            var special = JSONObject()
            if addBOS, let bos, let id = data.bosTokenID {
                single.append(.object(JSONObject([("SpecialToken", .object(JSONObject([("id", .string(bos)), ("type_id", .int(0))])))])))
                special[bos] = .object(JSONObject([("id", .string(bos)), ("ids", .array([.int(Int64(id))])), ("tokens", .array([.string(bos)]))]))
            }
            single.append(.object(JSONObject([("Sequence", .object(JSONObject([("id", .string("A")), ("type_id", .int(0))])))])))
            if addEOS, let eos, let id = data.eosTokenID {
                single.append(.object(JSONObject([("SpecialToken", .object(JSONObject([("id", .string(eos)), ("type_id", .int(0))])))])))
                special[eos] = .object(JSONObject([("id", .string(eos)), ("ids", .array([.int(Int64(id))])), ("tokens", .array([.string(eos)]))]))
            }
            let pair = single + [.object(JSONObject([("Sequence", .object(JSONObject([("id", .string("B")), ("type_id", .int(1))])))]))]
            postProcessor = .object(JSONObject([("type", .string("TemplateProcessing")), ("single", .array(single)),
                                                ("pair", .array(pair)), ("special_tokens", .object(special))]))
        } else {
            postProcessor = byteLevel(addPrefixSpace: true, trimOffsets: false, useRegex: true)
        }
        let tokenizer = JSONObject([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", .null), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessor),
            ("decoder", byteLevel(addPrefixSpace: true, trimOffsets: true, useRegex: true)),
            ("model", .object(JSONObject([
                ("type", .string("BPE")), ("dropout", .null), ("unk_token", unk.map { .string($0) } ?? .null),
                ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)),
                ("byte_fallback", .bool(false)), ("ignore_merges", .bool(false)), ("vocab", .object(vocab)),
                ("merges", .array(merges)),
            ]))),
        ])
        var config = JSONObject()
        config["add_bos_token"] = .bool(addBOS)
        config["add_eos_token"] = .bool(addEOS)
        config["added_tokens_decoder"] = .object(JSONObject(decoderEntries))
        if let bos { config["bos_token"] = .string(bos) }
        if let eos { config["eos_token"] = .string(eos) }
        if let pad { config["pad_token"] = .string(pad) }
        if let unk { config["unk_token"] = .string(unk) }
        if let template = data.chatTemplate { config["chat_template"] = .string(template) }
        config["clean_up_tokenization_spaces"] = .bool(false)
        if let contextLength { config["model_max_length"] = .int(Int64(contextLength)) }
        config["tokenizer_class"] = .string("PreTrainedTokenizerFast")
        var specialMap = JSONObject()
        if let bos { specialMap["bos_token"] = .string(bos) }
        if let eos { specialMap["eos_token"] = .string(eos) }
        if let pad { specialMap["pad_token"] = .string(pad) }
        if let unk { specialMap["unk_token"] = .string(unk) }
        return [
            SideFile(name: "tokenizer.json", contents: Array(JSONWriter.pretty(.object(tokenizer)).utf8)),
            SideFile(name: "tokenizer_config.json", contents: Array((JSONWriter.pretty(.object(config)) + "\n").utf8)),
            SideFile(name: "special_tokens_map.json", contents: Array((JSONWriter.pretty(.object(specialMap)) + "\n").utf8)),
        ]
    }

    static func byteLevel(addPrefixSpace: Bool, trimOffsets: Bool, useRegex: Bool) -> JSONValue {
        .object(JSONObject([("type", .string("ByteLevel")), ("add_prefix_space", .bool(addPrefixSpace)),
                            ("trim_offsets", .bool(trimOffsets)), ("use_regex", .bool(useRegex))]))
    }

    static func split(_ regex: String) -> JSONValue {
        .object(JSONObject([("type", .string("Split")), ("pattern", .object(JSONObject([("Regex", .string(regex))]))),
                            ("behavior", .string("Isolated")), ("invert", .bool(false))]))
    }

    /// The tokenizer.json pre-tokenizer that splits as llama.cpp's `pre` does.
    static func huggingFacePreTokenizer(pre: String) throws -> JSONValue {
        let sequence: ([JSONValue]) -> JSONValue = { .object(JSONObject([("type", .string("Sequence")), ("pretokenizers", .array($0))])) }
        if pre == "gpt2" || pre == "gpt-2" || pre == "default" {
            return byteLevel(addPrefixSpace: false, trimOffsets: true, useRegex: true)
        }
        if smollmFamily.contains(pre) {
            return sequence([.object(JSONObject([("type", .string("Digits")), ("individual_digits", .bool(true))])),
                             byteLevel(addPrefixSpace: false, trimOffsets: true, useRegex: true)])
        }
        if llama3Family.contains(pre) { return sequence([split(llama3Regex), byteLevel(addPrefixSpace: false, trimOffsets: true, useRegex: false)]) }
        if qwen2Family.contains(pre) { return sequence([split(qwen2Regex), byteLevel(addPrefixSpace: false, trimOffsets: false, useRegex: false)]) }
        throw GraphError.unsupported("tokenizer pre-tokenizer '\(pre)' has no tokenizer.json equivalent here yet (supported: gpt2, smollm family, llama3 family, qwen2 family)")
    }

    // MARK: HF → GGUF

    /// Reads tokenizer.json (+ tokenizer_config.json, chat_template.jinja) side files into GGUF tokenizer data.
    public static func tokenizerData(from sideFiles: [SideFile]) throws -> TokenizerData? {
        guard let file = sideFiles.first(where: { $0.name == "tokenizer.json" }) else { return nil }
        let root = try JSONParser.parse(file.contents, context: "tokenizer.json")
        let config = try sideFiles.first { $0.name == "tokenizer_config.json" }
            .map { try JSONParser.parse($0.contents, context: "tokenizer_config.json") }
        guard root["model"]?["type"]?.stringValue == "BPE", let vocab = root["model"]?["vocab"]?.objectValue else {
            throw GraphError.unsupported("tokenizer.json: only BPE models convert to GGUF for now")
        }
        var byID: [Int: String] = [:]
        for (token, value) in vocab.entries {
            guard let id = value.intValue, id >= 0, id < 1 << 24 else {
                throw GraphError.invalidConfig(path: "tokenizer.json", key: "model.vocab.\(token)", reason: "id must be an integer in 0..<2^24")
            }
            byID[id] = token
        }
        var types: [Int: Int32] = [:]
        for item in root["added_tokens"]?.arrayValue ?? [] {
            guard let id = item["id"]?.intValue, id >= 0, id < 1 << 24, let content = item["content"]?.stringValue else {
                throw GraphError.invalidConfig(path: "tokenizer.json", key: "added_tokens", reason: "each entry needs an id and content")
            }
            byID[id] = content
            types[id] = item["special"]?.boolValue == true ? controlType : userDefinedType
        }
        let count = (byID.keys.max() ?? -1) + 1
        var tokens: [String] = []
        var tokenTypes: [Int32] = []
        tokens.reserveCapacity(count)
        for id in 0 ..< count {
            // Holes in the id space become unused placeholders, as convert_hf_to_gguf.py writes them.
            tokens.append(byID[id] ?? "[PAD\(id)]")
            tokenTypes.append(byID[id] == nil ? userDefinedType : (types[id] ?? normalType))
        }
        let merges: [String] = try (root["model"]?["merges"]?.arrayValue ?? []).map { merge in
            if let text = merge.stringValue { return text }
            if let pair = merge.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue { return a + " " + b }
            throw GraphError.invalidConfig(path: "tokenizer.json", key: "model.merges", reason: "a merge must be \"a b\" or [a, b]")
        }
        let index = Dictionary(tokens.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        func tokenID(_ key: String) -> Int? {
            guard let value = config?[key] else { return nil }
            if let text = value.stringValue { return index[text] }
            if let text = value["content"]?.stringValue { return index[text] }
            return nil
        }
        var chatTemplate = config?["chat_template"]?.stringValue
        if chatTemplate == nil, let jinja = sideFiles.first(where: { $0.name == "chat_template.jinja" }) {
            chatTemplate = String(decoding: jinja.contents, as: UTF8.self)
        }
        return TokenizerData(
            model: "gpt2", pre: llamaCppPre(root["pre_tokenizer"]), tokens: tokens, tokenTypes: tokenTypes,
            merges: merges, bosTokenID: tokenID("bos_token"), eosTokenID: tokenID("eos_token"),
            unknownTokenID: tokenID("unk_token"), paddingTokenID: tokenID("pad_token"),
            addBOS: config?["add_bos_token"]?.boolValue, addEOS: config?["add_eos_token"]?.boolValue,
            chatTemplate: chatTemplate)
    }

    /// The llama.cpp `pre` name for a tokenizer.json pre-tokenizer, guessed from its structure, or nil
    /// when the structure is none of those known here. GPT-2's is "gpt-2" (llama-vocab.cpp refuses
    /// "gpt2" as an unknown pre-tokenizer and will not load the model). QuantaKit's
    /// `LlamaCppPreTokenizer` asks llama.cpp's own hash table first and falls back to this.
    static func llamaCppPre(_ value: JSONValue?) -> String? {
        guard let value else { return "gpt-2" }
        switch value["type"]?.stringValue {
        case "ByteLevel": return "gpt-2"
        case "Sequence":
            let steps = value["pretokenizers"]?.arrayValue ?? []
            if steps.first?["type"]?.stringValue == "Digits" { return "smollm" }
            if let regex = steps.first?["pattern"]?["Regex"]?.stringValue {
                if regex == llama3Regex { return "llama-bpe" }
                if regex == qwen2Regex { return "qwen2" }
            }
        default: break
        }
        return nil
    }
}
