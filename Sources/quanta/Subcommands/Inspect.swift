import ArgumentParser
import QuantaGraph
import QuantaKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's format, architecture, tensors, dtypes, sizes and metadata.")

    @Argument(help: "A .safetensors/.gguf/.bin file, a sharded index, or a Hugging Face directory.")
    var path: String

    @Option(name: .long, help: "Input format (inferred when omitted).")
    var from: ModelFormat?

    @Flag(name: .long, help: "List every tensor.")
    var tensors = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        output.apply()
        let report = try Inspector.inspect(path: path, format: from)
        print(output.json ? report.json() : report.text(listTensors: tensors))
    }
}
