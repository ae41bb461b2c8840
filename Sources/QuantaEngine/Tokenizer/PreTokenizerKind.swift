/// The word-splitting rule applied before BPE. Each case is one of llama.cpp's pre-tokenizer regex sets
/// (src/llama-vocab.cpp, `llm_tokenizer_bpe`), implemented by hand after llama.cpp's own fast paths in
/// src/unicode.cpp (`unicode_regex_split_custom_gpt2` / `_llama3` / `_qwen2`).
public enum PreTokenizerKind: String, Sendable, CaseIterable, Equatable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (HF: `ByteLevel` with `use_regex: true`).
    case gpt2
    /// StarCoder / SmolLM: every `\p{N}` isolated first, then the GPT-2 pattern on what is left
    /// (HF: `Sequence[Digits(individual_digits), ByteLevel(use_regex)]`).
    case smollm
    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// Qwen 2: the Llama 3 pattern with `\p{N}` (one digit per piece) instead of `\p{N}{1,3}`.
    case qwen2

    /// What llama.cpp derives from a GGUF `tokenizer.ggml.pre` name (llama-vocab.cpp, `impl::load`):
    /// the split rule, whether whole words found in the vocabulary skip the merges, and the default
    /// for `add_bos` when the file does not say.
    public struct LlamaCppPreset: Sendable, Equatable {
        public let kind: PreTokenizerKind
        public let ignoreMerges: Bool
        public let defaultAddBOS: Bool
    }

    /// The preset for a llama.cpp pre-tokenizer name, or nil when the name uses a regex set we do not
    /// implement (deepseek, falcon, tekken, gpt-4o, chatglm…, and "default").
    public static func llamaCppPreset(named name: String) -> LlamaCppPreset? {
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
             "jina-v5-nano":
            return LlamaCppPreset(kind: .llama3, ignoreMerges: true, defaultAddBOS: true)
        case "dbrx", "smaug-bpe":
            // Same regex as llama3, without llama3's ignore_merges / add_bos overrides.
            return LlamaCppPreset(kind: .llama3, ignoreMerges: false, defaultAddBOS: false)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
             "mellum", "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4":
            return LlamaCppPreset(kind: .gpt2, ignoreMerges: false, defaultAddBOS: false)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2":
            return LlamaCppPreset(kind: .smollm, ignoreMerges: false, defaultAddBOS: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open":
            return LlamaCppPreset(kind: .qwen2, ignoreMerges: false, defaultAddBOS: false)
        default:
            return nil
        }
    }
}
