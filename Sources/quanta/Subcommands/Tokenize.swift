import ArgumentParser
import Foundation
import QuantaKit

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize a text with a model's tokenizer, printed as llama.cpp's llama-tokenize prints it.",
        discussion: """
        Examples:
          quanta tokenize model.gguf --text prompt.txt            (same bytes as llama-tokenize -m model.gguf -f prompt.txt)
          quanta tokenize hf-model/ --text prompt.txt --ids       ([1, 2, 3], as llama-tokenize --ids)
          quanta tokenize hf-model/ --prompt "Hello world" --json

        A GGUF is tokenized by its tokenizer.ggml.* metadata, a directory by its tokenizer.json \
        (and tokenizer_config.json). As llama-tokenize: BOS/EOS are added when the vocabulary adds them \
        (--no-bos turns them off) and special tokens in the text are parsed (--no-parse-special keeps \
        them as text). When a converted model generates wrong text, `diff` this output for the source \
        and the converted model.
        """)

    @Argument(help: "The model: a GGUF file, a Hugging Face directory or a tokenizer.json.") var model: String
    @Option(name: .customLong("text"), help: "The text file (UTF-8) to tokenize (llama-tokenize -f).") var textPath: String?
    @Option(name: .long, help: "The text itself (llama-tokenize -p).") var prompt: String?
    @Flag(name: .long, help: "Print only the ids, as [1, 2, 3] (llama-tokenize --ids).") var ids = false
    @Flag(name: .customLong("no-bos"), help: "Do not add BOS (or EOS) even when the vocabulary adds them (llama-tokenize --no-bos).")
    var noBOS = false
    @Flag(name: .customLong("no-parse-special"), help: "Treat special tokens in the text as plain text (llama-tokenize --no-parse-special).")
    var noParseSpecial = false
    @Flag(name: .customLong("show-count"), help: "Print the number of tokens last (llama-tokenize --show-count).") var showCount = false
    @Option(name: .long, help: "Use this tokenizer (a model directory, a tokenizer.json or a GGUF) instead of the model's.")
    var tokenizer: String?
    @Flag(name: .long, help: "Machine-readable JSON: ids, pieces, count.") var json = false

    func validate() throws {
        guard (textPath == nil) != (prompt == nil) else { throw ValidationError("pass exactly one of --text FILE and --prompt TEXT") }
    }

    func run() throws {
        var options = TokenizeCommand.Options(tokenizerPath: tokenizer)
        options.addSpecial = !noBOS
        options.parseSpecial = !noParseSpecial
        let result = try TokenizeCommand.run(model: model, textPath: textPath, text: prompt, options: options)
        var out: [UInt8]
        if json {
            out = Array((result.json() + "\n").utf8)
        } else if ids {
            out = Array((result.idsLine() + "\n").utf8)
        } else {
            out = result.llamaTokenizeLines()
        }
        if showCount && !json { out += Array("Total number of tokens: \(result.ids.count)\n".utf8) }
        FileHandle.standardOutput.write(Data(out))
    }
}
