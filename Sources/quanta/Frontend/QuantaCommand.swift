import ArgumentParser
import QuantaCore

@main
struct Quanta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quanta",
        abstract: "Convert and quantize LLM checkpoints (GGUF, safetensors, PyTorch) and measure what quantization cost.",
        version: BuildInfo.versionLine,
        subcommands: [Inspect.self, Convert.self, Diff.self, Eval.self, Quantize.self])
}

/// Flags every subcommand shares.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @Flag(name: .long, help: "Machine-readable JSON on stdout (and JSON progress lines on stderr).")
    var json = false

    func apply() {
        ProgressSettings.mode = quiet ? .quiet : (json ? .json : .automatic)
    }
}
