import ArgumentParser
import Foundation
import QuantaCore
import QuantaEngine
import QuantaKit

struct Imatrix: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute an importance matrix (per-column mean x² of every linear's inputs) as llama-imatrix does, in its GGUF format.",
        discussion: """
        Examples:
          quanta imatrix model.gguf --calib data/wikitext-2-calibration.txt -o model.imatrix.gguf
          quanta imatrix hf-model/ --calib calib.txt --ctx 512 --chunks 128 --threads 2 -o imatrix.gguf

        The text is tokenized once (BOS first when the model adds one) and cut into consecutive chunks \
        of --ctx tokens, each starting with BOS, as llama-imatrix does; every token of every chunk counts. \
        Collected, under their GGUF names: every decoder linear (attn_q/k/v/output, ffn_gate/up/down) and, \
        with --process-output, output.weight when the model has an output tensor of its own. The file \
        loads in llama-quantize --imatrix and in `quanta` (ImportanceMatrix). Memory: the model plus one \
        chunk's activations.
        """)

    @Argument(help: "The model: a GGUF file or a Hugging Face directory.") var model: String
    @Option(name: .customLong("calib"), help: "Calibration text (UTF-8), tokenized with the model's tokenizer.") var calib: String
    @Option(name: .long, help: "Tokens per chunk (llama-imatrix -c).") var ctx: Int = 512
    @Option(name: .long, help: "Run only the first N chunks (default: every whole chunk of the text).") var chunks: Int?
    @Option(name: .long, help: "Run on this many CPUs (default: all).") var threads: Int?
    @Flag(name: .customLong("process-output"), help: "Also collect output.weight (llama-imatrix --process-output; off by default there too).")
    var processOutput = false
    @Option(name: .long, help: "Tokenize with this tokenizer (a model directory, a tokenizer.json or a GGUF) instead of the model's.")
    var tokenizer: String?
    @Option(name: .long, help: "ggml (llama.cpp's activation conversion; default for GGUF) or exact (f32 on dequantized weights; default otherwise).")
    var numerics: Numerics?
    @Option(name: [.customShort("o"), .long], help: "Output GGUF imatrix.") var output: String
    @Flag(name: .long, help: "Overwrite an existing output.") var force = false
    @OptionGroup var outputOptions: OutputOptions

    func validate() throws {
        guard ctx >= 16 && ctx <= 1 << 16 else { throw ValidationError("--ctx must be between 16 and 65536") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        outputOptions.apply()
        if let threads { try CPUAffinity.limit(to: threads) }
        var options = ImatrixOptions(calibrationPath: calib, contextLength: ctx, chunks: chunks, processOutput: processOutput)
        options.tokenizerPath = tokenizer
        options.numerics = numerics
        let summary = try ImatrixCommand.run(model: model, options: options, output: output, force: force)
        print(outputOptions.json ? summary.json() : summary.text())
    }
}
