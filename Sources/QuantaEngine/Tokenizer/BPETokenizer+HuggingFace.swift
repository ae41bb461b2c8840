import QuantaCore

extension BPETokenizer {
    /// Largest token id accepted from a tokenizer.json (real vocabularies stay below ~300k).
    static let maximumHuggingFaceTokenID = 1 << 24

    /// Builds the tokenizer HF `tokenizers` builds from a tokenizer.json (model type BPE over the GPT-2
    /// byte alphabet). `tokenizerConfig` (tokenizer_config.json), when given, may name the BOS/EOS/PAD/UNK
    /// tokens and switch `add_bos_token` / `add_eos_token` on or off; otherwise BOS/EOS come from a
    /// TemplateProcessing post-processor. HF always matches added tokens, so compare with
    /// `encode(text, parseSpecial: true)`.
    public static func fromHuggingFace(tokenizerJSON path: String, tokenizerConfig configPath: String? = nil)
        throws -> BPETokenizer {
        let root = try readJSON(path)
        let config = try configPath.map { try readJSON($0) }
        return try fromHuggingFace(tokenizerJSON: root, tokenizerConfig: config, source: path,
                                   configSource: configPath ?? "tokenizer_config.json")
    }

    /// The same from already parsed values; `source` names the file in errors.
    public static func fromHuggingFace(tokenizerJSON root: JSONValue, tokenizerConfig config: JSONValue? = nil,
                                       source: String = "tokenizer.json",
                                       configSource: String = "tokenizer_config.json") throws -> BPETokenizer {
        guard root.objectValue != nil else {
            throw TokenizerError.invalidValue(source: source, key: "(root)", reason: "expected a JSON object")
        }
        guard let model = root["model"], model.objectValue != nil else {
            throw TokenizerError.missingKey(source: source, key: "model")
        }
        guard let modelType = model["type"]?.stringValue else {
            throw TokenizerError.missingKey(source: source, key: "model.type")
        }
        guard modelType == "BPE" else {
            throw TokenizerError.unsupported(source: source, key: "model.type", value: "'\(modelType)'",
                                             hint: "BPETokenizer reads byte-level BPE tokenizers only")
        }
        try checkUnsupportedModelOptions(model, source: source)

        let normalizesToNFC = try normalizerIsNFC(root["normalizer"], source: source)
        let pre = try HuggingFacePreTokenizer.resolve(root["pre_tokenizer"], source: source)

        // Vocabulary: model.vocab plus added_tokens (which may extend it or rename an id).
        guard let vocabObject = model["vocab"]?.objectValue else {
            throw TokenizerError.missingKey(source: source, key: "model.vocab")
        }
        var textByID: [Int: String] = [:]
        textByID.reserveCapacity(vocabObject.count)
        for (text, idValue) in vocabObject.entries {
            let id = try tokenID(idValue, key: "model.vocab[\(JSONWriter.quoted(text))]", source: source)
            if let existing = textByID[id] {
                throw TokenizerError.invalidValue(source: source, key: "model.vocab",
                                                  reason: "id \(id) is given to both '\(existing)' and '\(text)'")
            }
            textByID[id] = text
        }
        let added = try addedTokens(root["added_tokens"], source: source)
        for token in added { textByID[Int(token.id)] = token.text }
        guard let maxID = textByID.keys.max() else {
            throw TokenizerError.invalidValue(source: source, key: "model.vocab", reason: "the vocabulary is empty")
        }
        var vocabulary = [String](repeating: "", count: maxID + 1)
        var types = [Int32](repeating: 5, count: maxID + 1) // ids nobody names: GGUF "unused"
        for (id, text) in textByID {
            vocabulary[id] = text
            types[id] = tokenTypeNormal
        }

        let merges = try mergePairs(model["merges"], source: source)
        let idForText = Dictionary(textByID.map { ($0.value, Int32($0.key)) }, uniquingKeysWith: { max($0, $1) })

        // BOS/EOS from the post-processor, then tokenizer_config.json.
        var template = try PostProcessorTemplate(root["post_processor"], source: source)
        var unknownID = try model["unk_token"].flatMap { value -> Int32? in
            guard let text = value.stringValue else { return nil }
            guard let id = idForText[text] else {
                throw TokenizerError.invalidValue(source: source, key: "model.unk_token",
                                                  reason: "'\(text)' is not in the vocabulary")
            }
            return id
        }
        var paddingID: Int32?
        if let config {
            let configTokens = ConfigTokens(config, idForText: idForText)
            if let id = try configTokens.id("bos_token", source: configSource) { template.bosID = template.bosID ?? id }
            if let id = try configTokens.id("eos_token", source: configSource) { template.eosID = template.eosID ?? id }
            if let id = try configTokens.id("unk_token", source: configSource) { unknownID = unknownID ?? id }
            paddingID = try configTokens.id("pad_token", source: configSource)
            if let addBOS = config["add_bos_token"]?.boolValue {
                template.addBOS = addBOS
                if addBOS, template.bosID == nil {
                    throw TokenizerError.missingKey(source: configSource, key: "bos_token (add_bos_token is true)")
                }
            }
            if let addEOS = config["add_eos_token"]?.boolValue {
                template.addEOS = addEOS
                if addEOS, template.eosID == nil {
                    throw TokenizerError.missingKey(source: configSource, key: "eos_token (add_eos_token is true)")
                }
            }
        }

        return try BPETokenizer(
            vocabulary: vocabulary, merges: merges, tokenTypes: types, specialTokens: added,
            bosTokenID: template.bosID, eosTokenID: template.eosID, paddingTokenID: paddingID,
            unknownTokenID: unknownID, addBOS: template.addBOS, addEOS: template.addEOS, preTokenizer: pre.kind,
            ignoreMerges: model["ignore_merges"]?.boolValue ?? false, addPrefixSpace: pre.addPrefixSpace,
            normalizesToNFC: normalizesToNFC, convention: .huggingFace, source: source)
    }

    private static func readJSON(_ path: String) throws -> JSONValue {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            throw TokenizerError.unreadableFile(path: path, reason: "\(error)")
        }
        return try JSONParser.parse(file.bytes, context: path)
    }

    private static func tokenID(_ value: JSONValue, key: String, source: String) throws -> Int {
        guard let id = value.intValue else {
            throw TokenizerError.invalidValue(source: source, key: key, reason: "expected an integer token id")
        }
        guard id >= 0 && id < maximumHuggingFaceTokenID else {
            throw TokenizerError.invalidValue(
                source: source, key: key, reason: "id \(id) is outside 0..<\(maximumHuggingFaceTokenID)")
        }
        return id
    }

    /// Options of `model` that change the algorithm and that we do not implement.
    private static func checkUnsupportedModelOptions(_ model: JSONValue, source: String) throws {
        if model["byte_fallback"]?.boolValue == true {
            throw TokenizerError.unsupported(source: source, key: "model.byte_fallback", value: "true",
                                             hint: "byte fallback belongs to SentencePiece-style BPE")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let text = model[key]?.stringValue, !text.isEmpty {
                throw TokenizerError.unsupported(source: source, key: "model." + key, value: "'\(text)'",
                                                 hint: "word-piece style affixes are not used by byte-level BPE")
            }
        }
        if let dropout = model["dropout"]?.doubleValue, dropout > 0 {
            throw TokenizerError.unsupported(source: source, key: "model.dropout", value: "\(dropout)",
                                             hint: "BPE dropout is random; inference tokenizers do not use it")
        }
    }

    private static func normalizerIsNFC(_ value: JSONValue?, source: String) throws -> Bool {
        guard let value, value != .null else { return false }
        let type = try HuggingFacePreTokenizer.typeName(value, key: "normalizer", source: source)
        guard type == "NFC" else {
            throw TokenizerError.unsupported(source: source, key: "normalizer.type", value: "'\(type)'",
                                             hint: "only no normalizer or NFC is supported for byte-level BPE")
        }
        return true
    }

    private static func mergePairs(_ value: JSONValue?, source: String) throws -> [(String, String)] {
        guard let list = value?.arrayValue else { throw TokenizerError.missingKey(source: source, key: "model.merges") }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(list.count)
        for (index, entry) in list.enumerated() {
            switch entry {
            case let .string(text):
                pairs.append(contentsOf: try splitMerges([text], source: source).map { $0 })
            case let .array(parts):
                guard parts.count == 2, let left = parts[0].stringValue, let right = parts[1].stringValue,
                      !left.isEmpty, !right.isEmpty else {
                    throw TokenizerError.invalidMerge(source: source, index: index, merge: JSONWriter.compact(entry),
                                                      reason: "expected a pair of two non-empty strings")
                }
                pairs.append((left, right))
            default:
                throw TokenizerError.invalidMerge(source: source, index: index, merge: JSONWriter.compact(entry),
                                                  reason: "expected \"left right\" or [left, right]")
            }
        }
        return pairs
    }

    private static func addedTokens(_ value: JSONValue?, source: String) throws -> [SpecialToken] {
        guard let value, value != .null else { return [] }
        guard let list = value.arrayValue else {
            throw TokenizerError.invalidValue(source: source, key: "added_tokens", reason: "expected an array")
        }
        return try list.enumerated().map { index, entry in
            let key = "added_tokens[\(index)]"
            guard let idValue = entry["id"] else { throw TokenizerError.missingKey(source: source, key: key + ".id") }
            let id = try tokenID(idValue, key: key + ".id", source: source)
            guard let content = entry["content"]?.stringValue, !content.isEmpty else {
                throw TokenizerError.missingKey(source: source, key: key + ".content")
            }
            if entry["single_word"]?.boolValue == true {
                throw TokenizerError.unsupported(source: source, key: key + ".single_word", value: "true",
                                                 hint: "single-word added tokens are not implemented")
            }
            let special = entry["special"]?.boolValue ?? false
            return SpecialToken(id: Int32(id), text: content, kind: special ? .control : .userDefined,
                                stripLeft: entry["lstrip"]?.boolValue ?? false,
                                stripRight: entry["rstrip"]?.boolValue ?? false)
        }
    }
}

/// BOS/EOS as a tokenizer.json post-processor adds them.
private struct PostProcessorTemplate {
    var bosID: Int32?
    var eosID: Int32?
    var addBOS = false
    var addEOS = false

    init(_ value: JSONValue?, source: String) throws {
        try read(value, key: "post_processor", source: source)
    }

    private mutating func read(_ value: JSONValue?, key: String, source: String) throws {
        guard let value, value != .null else { return }
        let type = try HuggingFacePreTokenizer.typeName(value, key: key, source: source)
        switch type {
        case "ByteLevel":
            return // offsets only
        case "Sequence":
            guard let steps = value["processors"]?.arrayValue else {
                throw TokenizerError.missingKey(source: source, key: key + ".processors")
            }
            for (index, step) in steps.enumerated() { try read(step, key: key + ".processors[\(index)]", source: source) }
        case "TemplateProcessing":
            try readTemplate(value, key: key, source: source)
        default:
            throw TokenizerError.unsupported(source: source, key: key + ".type", value: "'\(type)'",
                                             hint: "supported post-processors: ByteLevel, TemplateProcessing, Sequence")
        }
    }

    /// `single` is e.g. [SpecialToken "<s>", Sequence A, SpecialToken "</s>"]: a special before A is BOS,
    /// after A is EOS; ids come from `special_tokens[name].ids`.
    private mutating func readTemplate(_ value: JSONValue, key: String, source: String) throws {
        guard let single = value["single"]?.arrayValue else {
            throw TokenizerError.missingKey(source: source, key: key + ".single")
        }
        var seenSequence = false
        for (index, item) in single.enumerated() {
            let itemKey = key + ".single[\(index)]"
            if item["Sequence"] != nil {
                seenSequence = true
                continue
            }
            guard let name = item["SpecialToken"]?["id"]?.stringValue else {
                throw TokenizerError.invalidValue(source: source, key: itemKey,
                                                  reason: "expected a Sequence or a SpecialToken item")
            }
            guard let ids = value["special_tokens"]?[name]?["ids"]?.arrayValue, ids.count == 1,
                  let id = ids[0].intValue, id >= 0, id < BPETokenizer.maximumHuggingFaceTokenID else {
                throw TokenizerError.invalidValue(source: source, key: key + ".special_tokens[\(name)].ids",
                                                  reason: "expected exactly one token id")
            }
            if seenSequence {
                guard !addEOS else {
                    throw TokenizerError.unsupported(source: source, key: itemKey, value: "a second trailing special",
                                                     hint: "only one BOS and one EOS are supported")
                }
                addEOS = true
                eosID = Int32(id)
            } else {
                guard !addBOS else {
                    throw TokenizerError.unsupported(source: source, key: itemKey, value: "a second leading special",
                                                     hint: "only one BOS and one EOS are supported")
                }
                addBOS = true
                bosID = Int32(id)
            }
        }
    }
}

/// Special token names of tokenizer_config.json (a string or an AddedToken object with `content`).
private struct ConfigTokens {
    let config: JSONValue
    let idForText: [String: Int32]

    init(_ config: JSONValue, idForText: [String: Int32]) {
        self.config = config
        self.idForText = idForText
    }

    func id(_ key: String, source: String) throws -> Int32? {
        guard let value = config[key], value != .null else { return nil }
        guard let text = value.stringValue ?? value["content"]?.stringValue else {
            throw TokenizerError.invalidValue(source: source, key: key, reason: "expected a token string")
        }
        guard let id = idForText[text] else {
            throw TokenizerError.invalidValue(source: source, key: key, reason: "'\(text)' is not in the vocabulary")
        }
        return id
    }
}
