import ArgumentParser
import Foundation
import QuantaEngine
import QuantaKit

extension EvalProtocol: ExpressibleByArgument {}
extension Numerics: ExpressibleByArgument {}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a model on a text (llama.cpp's protocol by default), optionally against a baseline.",
        discussion: """
        Examples:
          quanta eval model.gguf --text data/wikitext-2-raw-test.txt --ctx 512 --chunks 40
          quanta eval quantized/ --baseline model.gguf --text data/wikitext-2-raw-test.txt --chunks 40
          quanta eval model-q4_k_m.gguf --numerics exact --text data/wikitext-2-raw-test.txt

        Weights are used as stored (mapped from the file, decoded panel by panel); memory is about
        the file's size plus the activations. Numerics: `ggml` (the default for GGUF files) converts
        activations to each weight type's vec_dot_type as llama.cpp's CPU backend does (f16, bf16,
        Q8_0, Q8_1, Q8_K), so a GGUF scores what llama-perplexity scores for it; `exact` (the default
        for every other format) multiplies f32 activations by the dequantized weights. The report
        says which one ran.
        """)

    @Argument(help: "The model: a GGUF file or a Hugging Face directory.") var model: String
    @Option(name: .long, help: "Text file to score.") var text: String?
    @Option(name: .long, help: "Pre-tokenized input (little-endian int32 ids) instead of --text.") var tokenIds: String?
    @Option(name: .long, help: "Context window.") var ctx: Int = 512
    @Option(name: .long, help: "Score only the first N windows.") var chunks: Int?
    @Option(name: .customLong("protocol"), help: "llama.cpp (second half of each window) or gptq (every token).")
    var evalProtocol: EvalProtocol = .llamaCpp
    @Option(name: .long, help: "Compare against this model: KL divergence, top-1 agreement, RMS Δp, PPL ratio.")
    var baseline: String?
    @Option(name: .long, help: "Tokenize with this tokenizer: a model directory, a tokenizer.json or a GGUF (for checkpoints saved without tokenizer files). Without it, a model with no tokenizer uses --baseline's, and says so.")
    var tokenizer: String?
    @Option(name: .long, help: "ggml (llama.cpp's activation conversion; default for GGUF) or exact (f32 on dequantized weights; default otherwise); --baseline runs with the model's numerics.")
    var numerics: Numerics?
    @Option(name: .long, help: "Write a self-contained HTML report (table and per-chunk plot) here.")
    var report: String?
    @Option(name: .customLong("dump-logits"), help: .hidden) var dumpLogits: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (text == nil) != (tokenIds == nil) else { throw ValidationError("pass exactly one of --text and --token-ids") }
        guard ctx >= 4 && ctx <= 1 << 16 else { throw ValidationError("--ctx must be between 4 and 65536") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
    }

    func run() throws {
        output.apply()
        var options = EvalOptions(textPath: text, tokenIDsPath: tokenIds, evalProtocol: evalProtocol,
                                  contextLength: ctx, chunks: chunks, baseline: baseline)
        options.dumpLogitsPath = dumpLogits
        options.numerics = numerics
        options.tokenizerPath = tokenizer
        let report = try Evaluator.run(model: model, options: options)
        for note in report.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        if let path = self.report { try report.html().write(toFile: path, atomically: true, encoding: .utf8) }
        print(output.json ? report.json() : report.text())
    }
}
