/// Everything that can go wrong building or using a tokenizer. `source` names where the bad value came
/// from: a file path (tokenizer.json, tokenizer_config.json) or "GGUF metadata".
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadableFile(path: String, reason: String)
    case missingKey(source: String, key: String)
    case invalidValue(source: String, key: String, reason: String)
    case unsupported(source: String, key: String, value: String, hint: String)
    case unknownPreTokenizer(source: String, key: String, name: String)
    case invalidMerge(source: String, index: Int, merge: String, reason: String)
    case tokenIDOutOfRange(source: String, key: String, id: Int, vocabularySize: Int)
    case decodeIDOutOfRange(id: Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read tokenizer file \(path): \(reason)"
        case let .missingKey(source, key):
            return "\(source): missing key '\(key)'; the tokenizer description is incomplete"
        case let .invalidValue(source, key, reason):
            return "\(source): invalid value for '\(key)': \(reason)"
        case let .unsupported(source, key, value, hint):
            return "\(source): '\(key)' = \(value) is not supported; \(hint)"
        case let .unknownPreTokenizer(source, key, name):
            let known = PreTokenizerKind.allCases.map(\.rawValue).joined(separator: ", ")
            return "\(source): unknown pre-tokenizer '\(name)' in '\(key)'; supported kinds: \(known) "
                + "(and the llama.cpp names that map to them)"
        case let .invalidMerge(source, index, merge, reason):
            return "\(source): merge #\(index) '\(merge)' is invalid: \(reason)"
        case let .tokenIDOutOfRange(source, key, id, vocabularySize):
            return "\(source): '\(key)' = \(id) is outside the vocabulary (size \(vocabularySize))"
        case let .decodeIDOutOfRange(id, vocabularySize):
            return "cannot decode token id \(id): the vocabulary has \(vocabularySize) tokens"
        }
    }
}
