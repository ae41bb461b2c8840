import ArgumentParser
import Foundation
import QuantaGraph
import QuantaKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's format, architecture, tensors, dtypes, sizes and metadata; --check scans its values.",
        discussion: """
        --check reads every tensor (quantized ones decoded one tensor at a time) and prints one line per \
        finding — NaN/Inf values, an all-zero float tensor, quantization scales out of range (NaN/Inf, \
        negative or zero absmax/SCB/GPTQ/AWQ scales, scales whose values pass ±65504, ggml block scales \
        that are not finite) — with the tensor, what, how many and where the first is (element indices \
        in stored order), then a summary. Exit codes: 0 clean, 1 findings, 2 the model could not be read.
        """)

    @Argument(help: "A .safetensors/.gguf/.bin file, a sharded index, or a Hugging Face directory.")
    var path: String

    @Option(name: .long, help: "Input format (inferred when omitted).")
    var from: ModelFormat?

    @Flag(name: .long, help: "List every tensor.")
    var tensors = false

    @Flag(name: .long, help: "Scan every tensor for NaN/Inf, all-zero tensors and out-of-range scales; exit 1 on any finding.")
    var check = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if check && tensors { throw ValidationError("--tensors does not apply to --check") }
    }

    func run() throws {
        output.apply()
        guard check else {
            let report = try Inspector.inspect(path: path, format: from)
            print(output.json ? report.json() : report.text(listTensors: tensors))
            return
        }
        let report: CheckReport
        do {
            report = try ModelChecker.check(path: path, format: from)
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(output.json ? report.json() : report.text())
        if !report.isClean { throw ExitCode(1) }
    }
}
