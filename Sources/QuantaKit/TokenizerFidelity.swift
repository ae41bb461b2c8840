import QuantaCore
import QuantaEngine
import QuantaGraph

/// The tokenizer a conversion writes must tokenize as the one it came from. Before anything is
/// written, the output tokenizer — built as its consumer builds it (llama.cpp's rules from the
/// `tokenizer.ggml.*` keys for a GGUF, Hugging Face tokenizers' from tokenizer.json for a directory) —
/// and the source's tokenize a probe text; the first id that differs stops the conversion with both
/// tokens named (`--skip-tokenizer-check` writes anyway). Silent tokenizer breakage after conversion
/// is the failure users report most in llama.cpp's tracker; no peer checks this.
enum TokenizerFidelity {
    /// Several scripts, digits and number formats, whitespace runs (spaces, tabs, newlines, CRLF),
    /// contractions, code, emoji — and llama.cpp's own pre-tokenizer probe. Special tokens of the
    /// vocabulary are spliced in by `probe(for:)`.
    static let baseProbe = [
        "Hello world! It's 2026-12-04: 3.14159, 1,234,567 and 00042. I'VE been told you'd've LIKED it.",
        "  Two spaces,\tone tab,\t\ttwo tabs;   three spaces\n\n\nthree newlines\r\nCRLF\r\n \n",
        "Ünïcödé naïve café Straße — Ελληνικά, Русский текст, العربية, עברית, हिन्दी, ไทย, 日本語のテキスト。中文文本。한국어 텍스트.",
        "🚀🦙 emoji ✅ 👩‍👩‍👧 flags 🇫🇷; maths ∑∫√ x² ≤ y₁; <html><b>tag</b></html> {\"json\": [1, 2.5e-3]}",
        "def f(x):\n    return x ** 2  # comment\n\tif x>=10 and y!=3: pass",
        LlamaCppPreTokenizerTable.probeText,
    ].joined(separator: "\n")

    /// The base probe with up to 24 of the source's added tokens (control and user-defined) between words.
    static func probe(for tokenizer: BPETokenizer) -> String {
        var text = baseProbe
        for special in tokenizer.specialTokens.prefix(24) {
            text += " a\(special.text)b \(special.text)\n"
        }
        return text
    }

    /// Throws `KitError.tokenizerMismatch` at the first differing id, parsing special tokens and not.
    static func check(source: BPETokenizer, sourceName: String, output: BPETokenizer, outputName: String) throws {
        let text = probe(for: source)
        for parseSpecial in [true, false] {
            let expected = source.encode(text, addSpecial: true, parseSpecial: parseSpecial)
            let actual = output.encode(text, addSpecial: true, parseSpecial: parseSpecial)
            guard expected != actual else { continue }
            let index = (0 ..< min(expected.count, actual.count)).first { expected[$0] != actual[$0] } ?? min(expected.count, actual.count)
            func describe(_ ids: [Int32], _ tokenizer: BPETokenizer) -> String {
                guard index < ids.count else { return "nothing (the sequence ends after \(ids.count) tokens)" }
                let piece = (try? tokenizer.decodeBytes([ids[index]])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
                return "id \(ids[index]) \(String(reflecting: piece))"
            }
            let context = (try? source.decodeBytes(Array(expected[max(0, index - 4) ..< min(expected.count, index + 1)])))
                .map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw KitError.tokenizerMismatch("""
                tokenizer check failed: \(outputName) tokenizes the probe text differently from \(sourceName) \
                (special tokens \(parseSpecial ? "parsed" : "as text")): at token \(index) the source gives \
                \(describe(expected, source)), the output \(describe(actual, output)), after \(String(reflecting: context)); \
                nothing was written (--skip-tokenizer-check writes anyway)
                """)
        }
    }
}
