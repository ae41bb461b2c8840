import QuantaCore
import QuantaEngine
import QuantaGraph

/// Names a Hugging Face tokenizer's pre-tokenizer as llama.cpp's converter does (`get_vocab_base_pre`):
/// the sha256 of `str(ids)` of its probe text, looked up in its table (`LlamaCppPreTokenizerTable`,
/// generated from llama.cpp's source). Quanta's own tokenizer makes the ids. A hash the table does not
/// hold — the same pre-tokenizer over a vocabulary llama.cpp has never seen gives a new hash — falls
/// back to the structural rules of `TokenizerFiles.llamaCppPre`; when neither knows it the conversion
/// stops with the hash in the message (llama.cpp's converter stops there too).
enum LlamaCppPreTokenizer {
    struct Identification {
        /// llama.cpp's name for it, when its table holds `hash`.
        let name: String?
        /// chkhsh: sha256 of the probe ids written as Python writes a list ("[1, 2, 3]").
        let hash: String
    }

    static func identify(_ tokenizer: BPETokenizer) -> Identification {
        // tokenizer.encode(chktxt) in transformers: special tokens added, added tokens in the text parsed.
        let ids = tokenizer.encode(LlamaCppPreTokenizerTable.probeText, addSpecial: true, parseSpecial: true)
        let hash = chkhsh(ids)
        return Identification(name: LlamaCppPreTokenizerTable.names[hash], hash: hash)
    }

    /// sha256(str(chktok).encode()).hexdigest()
    static func chkhsh(_ ids: [Int32]) -> String {
        let text = "[" + ids.map(String.init).joined(separator: ", ") + "]"
        return Array(text.utf8).withUnsafeBytes { SHA256.hex($0) }
    }

    /// `data.pre` chosen by the hash table first, then by structure (already in `data.pre` when the
    /// structure is known); throws naming the tokenizer when neither knows it. `tokenizer` is the
    /// source's tokenizer.json as Quanta runs it, nil when it cannot be run.
    static func resolve(_ data: inout TokenizerData, tokenizer: BPETokenizer?, place: String) throws {
        let structural = data.pre
        guard let tokenizer else {
            guard structural != nil else {
                throw KitError.ggufNotLoadable("\(place): tokenizer.json has a pre-tokenizer llama.cpp has no name for known here, and Quanta cannot run it to ask llama.cpp's hash table; pass --no-tokenizer to write a GGUF without one")
            }
            return
        }
        let found = identify(tokenizer)
        if let name = found.name {
            data.pre = name
        } else if structural == nil {
            throw KitError.ggufNotLoadable("\(place): tokenizer.json's pre-tokenizer is not in llama.cpp's table (chkhsh \(found.hash), convert_hf_to_gguf.py would stop with \"BPE pre-tokenizer was not recognized\") and its structure matches none of gpt-2, smollm, llama-bpe, qwen2; pass --no-tokenizer to write a GGUF without one")
        }
    }
}
