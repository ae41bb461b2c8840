import QuantaCore

/// Maps the `pre_tokenizer` of an HF tokenizer.json onto a `PreTokenizerKind`. Only the shapes that real
/// byte-level BPE tokenizers use are accepted; anything else is an error naming the key.
enum HuggingFacePreTokenizer {
    struct Resolved: Equatable {
        var kind: PreTokenizerKind
        var addPrefixSpace: Bool
    }

    /// Split patterns we implement, in the HF spelling (tokenizer.json) and llama.cpp's adapted spelling.
    static let patterns: [(pattern: String, kind: PreTokenizerKind)] = [
        (#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#, .gpt2),
        (#"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#, .gpt2),
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, .llama3),
        (#"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, .llama3),
        (#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, .qwen2),
        (#"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#, .qwen2),
    ]

    static func resolve(_ value: JSONValue?, source: String) throws -> Resolved {
        let key = "pre_tokenizer"
        guard let value, value != .null else {
            throw TokenizerError.unsupported(source: source, key: key, value: "null",
                                             hint: "a byte-level BPE tokenizer needs a ByteLevel pre-tokenizer")
        }
        let type = try typeName(value, key: key, source: source)
        switch type {
        case "ByteLevel":
            let byteLevel = try ByteLevel(value, key: key, source: source)
            guard byteLevel.useRegex else {
                throw unsupported(key + ".use_regex", "false", "ByteLevel without its regex has no word split", source)
            }
            return Resolved(kind: .gpt2, addPrefixSpace: byteLevel.addPrefixSpace)
        case "Sequence":
            guard let steps = value["pretokenizers"]?.arrayValue else {
                throw TokenizerError.missingKey(source: source, key: key + ".pretokenizers")
            }
            return try resolveSequence(steps, key: key + ".pretokenizers", source: source)
        default:
            throw TokenizerError.unknownPreTokenizer(source: source, key: key + ".type", name: type)
        }
    }

    private static func resolveSequence(_ steps: [JSONValue], key: String, source: String) throws -> Resolved {
        guard steps.count == 2 else {
            throw unsupported(key, "\(steps.count) steps",
                              "expected [Split(regex), ByteLevel] or [Digits(individual), ByteLevel]", source)
        }
        let firstKey = key + "[0]", secondKey = key + "[1]"
        guard try typeName(steps[1], key: secondKey, source: source) == "ByteLevel" else {
            throw TokenizerError.unknownPreTokenizer(source: source, key: secondKey + ".type",
                                                     name: try typeName(steps[1], key: secondKey, source: source))
        }
        let byteLevel = try ByteLevel(steps[1], key: secondKey, source: source)
        if byteLevel.addPrefixSpace {
            throw unsupported(secondKey + ".add_prefix_space", "true", "only supported on a lone ByteLevel", source)
        }
        switch try typeName(steps[0], key: firstKey, source: source) {
        case "Digits":
            guard steps[0]["individual_digits"]?.boolValue == true else {
                throw unsupported(firstKey + ".individual_digits", "false", "only individual digits are supported",
                                  source)
            }
            guard byteLevel.useRegex else {
                throw unsupported(secondKey + ".use_regex", "false", "Digits must be followed by ByteLevel's regex",
                                  source)
            }
            return Resolved(kind: .smollm, addPrefixSpace: false)
        case "Split":
            guard !byteLevel.useRegex else {
                throw unsupported(secondKey + ".use_regex", "true", "a Split must be followed by ByteLevel without regex",
                                  source)
            }
            return Resolved(kind: try splitKind(steps[0], key: firstKey, source: source), addPrefixSpace: false)
        case let other:
            throw TokenizerError.unknownPreTokenizer(source: source, key: firstKey + ".type", name: other)
        }
    }

    private static func splitKind(_ split: JSONValue, key: String, source: String) throws -> PreTokenizerKind {
        guard let pattern = split["pattern"]?["Regex"]?.stringValue else {
            throw TokenizerError.missingKey(source: source, key: key + ".pattern.Regex")
        }
        let behavior = split["behavior"]?.stringValue ?? "missing"
        guard behavior == "Isolated" else {
            throw unsupported(key + ".behavior", "'\(behavior)'", "only 'Isolated' splits are supported", source)
        }
        if split["invert"]?.boolValue == true {
            throw unsupported(key + ".invert", "true", "inverted splits are not supported", source)
        }
        guard let known = patterns.first(where: { $0.pattern == pattern }) else {
            throw TokenizerError.unknownPreTokenizer(source: source, key: key + ".pattern.Regex", name: pattern)
        }
        return known.kind
    }

    private struct ByteLevel {
        var addPrefixSpace: Bool
        var useRegex: Bool

        init(_ value: JSONValue, key: String, source: String) throws {
            addPrefixSpace = value["add_prefix_space"]?.boolValue ?? false
            // tokenizers defaults use_regex to true when the field is absent (older files).
            useRegex = value["use_regex"]?.boolValue ?? true
        }
    }

    static func typeName(_ value: JSONValue, key: String, source: String) throws -> String {
        guard let type = value["type"]?.stringValue else {
            throw TokenizerError.missingKey(source: source, key: key + ".type")
        }
        return type
    }

    private static func unsupported(_ key: String, _ value: String, _ hint: String, _ source: String) -> TokenizerError {
        .unsupported(source: source, key: key, value: value, hint: hint)
    }
}
