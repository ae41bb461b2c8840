import ArgumentParser
import Foundation
import QuantaCore

@main
struct Quanta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quanta",
        abstract: "Convert and quantize LLM checkpoints (GGUF, safetensors, PyTorch) and measure what quantization cost.",
        version: BuildInfo.versionLine,
        subcommands: [Inspect.self, Convert.self, Diff.self, Eval.self, Quantize.self, Imatrix.self, Tokenize.self])
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

    /// Advice on stderr, shown even with --quiet: "note: …", or under --json an event line like
    /// the progress lines, so stderr stays one JSON object per line.
    func note(_ message: String) {
        let line = json ? JSONWriter.compact(.object(JSONObject([("event", .string("note")), ("message", .string(message))])))
                        : "note: " + message
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
