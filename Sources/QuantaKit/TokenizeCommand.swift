import Foundation
import QuantaCore
import QuantaEngine

/// `quanta tokenize`: a model's tokenizer on a text, printed as llama.cpp's `llama-tokenize` prints it
/// (tools/tokenize/tokenize.cpp), so the two can be compared with `diff` when a conversion looks wrong.
/// Defaults as llama-tokenize's: BOS (and EOS) when the vocabulary adds them, special tokens parsed.
public enum TokenizeCommand {
    public struct Options: Sendable {
        /// `--tokenizer`: another model directory, tokenizer.json or GGUF instead of the model's own.
        public var tokenizerPath: String?
        /// false with `--no-bos` (llama-tokenize's flag; it turns off every added special token).
        public var addSpecial = true
        /// false with `--no-parse-special`: "<|im_start|>" in the text stays plain text.
        public var parseSpecial = true
        public init(tokenizerPath: String? = nil) { self.tokenizerPath = tokenizerPath }
    }

    public struct Result: Sendable {
        /// Where the tokenizer came from.
        public let tokenizer: String
        public let ids: [Int32]
        /// Each id's bytes as llama.cpp's common_token_to_piece renders them (special tokens as text).
        public let pieces: [[UInt8]]

        /// llama-tokenize's default output: `%6d -> '<piece>'` per token; pieces are raw bytes, as its
        /// printf writes them on Linux.
        public func llamaTokenizeLines() -> [UInt8] {
            var out: [UInt8] = []
            for (id, piece) in zip(ids, pieces) {
                let number = String(id)
                out += Array(String(repeating: " ", count: max(0, 6 - number.count)).utf8) + Array(number.utf8)
                out += Array(" -> '".utf8) + piece + Array("'\n".utf8)
            }
            return out
        }

        /// llama-tokenize --ids: `[1, 2, 3]`.
        public func idsLine() -> String { "[" + ids.map(String.init).joined(separator: ", ") + "]" }

        public func json() -> String {
            JSONWriter.pretty(.object(JSONObject([
                ("tokenizer", .string(tokenizer)), ("count", .int(Int64(ids.count))),
                ("ids", .array(ids.map { .int(Int64($0)) })),
                ("pieces", .array(pieces.map { .string(String(decoding: $0, as: UTF8.self)) })),
            ])))
        }
    }

    /// Tokenizes the UTF-8 text at `textPath` (or `text` when given) with `model`'s tokenizer.
    public static func run(model: String, textPath: String?, text: String? = nil, options: Options) throws -> Result {
        let source = options.tokenizerPath ?? model
        let tokenizer = try TokenizerSource.load(path: source, role: options.tokenizerPath == nil ? "model" : "--tokenizer")
        let content: String
        if let text {
            content = text
        } else if let textPath {
            content = try TextFile.read(textPath)
        } else {
            throw KitError.invalidOption("pass --text FILE or --prompt TEXT")
        }
        let ids = tokenizer.encode(content, addSpecial: options.addSpecial, parseSpecial: options.parseSpecial)
        let pieces = try ids.map { try tokenizer.decodeBytes([$0]) }
        return Result(tokenizer: source, ids: ids, pieces: pieces)
    }
}
