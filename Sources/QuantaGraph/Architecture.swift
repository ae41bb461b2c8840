import Foundation
import QuantaCore

/// Model families the graph knows by name. Anything else imports as `.unknown`: a raw tensor
/// map that still converts between formats and takes name-selected RTN passes.
public enum Architecture: String, Sendable, CaseIterable {
    case llama, mistral, qwen2, unknown

    public var spec: ArchitectureSpec? {
        switch self {
        case .llama: return .llama
        case .mistral: return .mistral
        case .qwen2: return .qwen2
        case .unknown: return nil
        }
    }

    /// From config.json: `architectures[0]` first, then `model_type`.
    public init(config: JSONObject) {
        if let arch = config["architectures"]?.arrayValue?.first?.stringValue,
           let found = Architecture.allCases.first(where: { $0.spec?.huggingFaceClasses.contains(arch) ?? false }) {
            self = found
        } else if let type = config["model_type"]?.stringValue,
                  let found = Architecture.allCases.first(where: { $0.spec?.modelType == type }) {
            self = found
        } else {
            self = .unknown
        }
    }

    /// From GGUF `general.architecture`. Mistral models are written by llama.cpp as "llama".
    public init(ggufName: String) {
        self = Architecture.allCases.first { $0.spec?.ggufName == ggufName && $0 != .mistral } ?? .unknown
    }
}

/// One rule of a name table: a Hugging Face name and its GGUF name, `{bid}` standing for the
/// block (layer) number, plus the role and whether llama.cpp permutes the rows.
public struct TensorNameRule: Sendable {
    public let huggingFace: String
    public let gguf: String
    public let permutation: QKPermutation
    public let roleKind: RoleKind

    public enum QKPermutation: Sendable { case none, query, key }
    public enum RoleKind: Sendable { case embedding, attention, mlp, norm, lmHead }

    public init(_ huggingFace: String, _ gguf: String, _ roleKind: RoleKind, permutation: QKPermutation = .none) {
        self.huggingFace = huggingFace
        self.gguf = gguf
        self.roleKind = roleKind
        self.permutation = permutation
    }
}

/// A family's tables: names both ways, roles, and which tensors llama.cpp permutes.
public struct ArchitectureSpec: Sendable {
    public let modelType: String
    public let huggingFaceClasses: [String]
    public let ggufName: String
    public let rules: [TensorNameRule]
    /// HF tensors that carry no weights a converter keeps (llama.cpp skips them too).
    public let ignoredHuggingFaceSuffixes: [String]

    /// The role of a Hugging Face tensor name; unknown names are `.other`.
    public func role(ofHuggingFaceName name: String) -> TensorRole {
        guard let (rule, block) = match(name, keyPath: \.huggingFace) else { return .other }
        return role(rule.roleKind, block: block)
    }

    public func ggufName(forHuggingFace name: String) -> (name: String, rule: TensorNameRule, block: Int?)? {
        guard let (rule, block) = match(name, keyPath: \.huggingFace) else { return nil }
        return (substitute(rule.gguf, block), rule, block)
    }

    public func huggingFaceName(forGGUF name: String) -> (name: String, rule: TensorNameRule, block: Int?)? {
        guard let (rule, block) = match(name, keyPath: \.gguf) else { return nil }
        return (substitute(rule.huggingFace, block), rule, block)
    }

    public func isIgnored(huggingFaceName name: String) -> Bool {
        ignoredHuggingFaceSuffixes.contains { name.hasSuffix($0) }
    }

    private func role(_ kind: TensorNameRule.RoleKind, block: Int?) -> TensorRole {
        switch kind {
        case .embedding: return .embedding
        case .attention: return block.map { .attention(layer: $0) } ?? .other
        case .mlp: return block.map { .mlp(layer: $0) } ?? .other
        case .norm: return .norm
        case .lmHead: return .lmHead
        }
    }

    private func substitute(_ pattern: String, _ block: Int?) -> String {
        guard let block else { return pattern }
        return pattern.replacingOccurrences(of: "{bid}", with: String(block))
    }

    /// Matches `name` against the patterns; `{bid}` matches a non-negative decimal number.
    private func match(_ name: String, keyPath: KeyPath<TensorNameRule, String>) -> (TensorNameRule, Int?)? {
        for rule in rules {
            let pattern = rule[keyPath: keyPath]
            guard let marker = pattern.range(of: "{bid}") else {
                if pattern == name { return (rule, nil) }
                continue
            }
            let prefix = pattern[..<marker.lowerBound]
            let suffix = pattern[marker.upperBound...]
            guard name.hasPrefix(prefix), name.hasSuffix(suffix), name.count > prefix.count + suffix.count else { continue }
            let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.count <= 6,
                  let block = Int(digits) else { continue }
            return (rule, block)
        }
        return nil
    }
}
