import ArgumentParser
import QuantaKit

/// AWQ's entry point until `quanta quantize` exists; `quanta quantize --method awq` calls `AWQCommand.run`.
struct QuantizeAWQ: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize-awq", abstract: "AWQ 4-bit quantization (same as quantize --method awq).", shouldDisplay: false)

    @Argument(help: "The float model (GGUF file or Hugging Face directory).") var input: String
    @Argument(help: "Output Hugging Face directory.") var outputPath: String
    @Option(name: .long, help: "Bits per weight (AWQ's GEMM layout: 4).") var bits: Int = 4
    @Option(name: .long, help: "Group size, or auto.") var groupSize: GroupSizeArgument = GroupSizeArgument(128)
    @Option(name: .customLong("calib"), help: "Calibration text.") var calib: String = CalibrationOptions.defaultTextPath
    @Option(name: .customLong("calib-samples")) var calibSamples: Int = 128
    @Option(name: .customLong("calib-seqlen")) var calibSeqlen: Int = 512
    @Option(name: .long) var seed: UInt64 = 0
    @Flag(name: .long) var force = false
    @OptionGroup var awq: AWQFlags
    @OptionGroup var output: OutputOptions

    func run() throws {
        output.apply()
        let calibration = CalibrationOptions(textPath: calib, samples: calibSamples, sequenceLength: calibSeqlen, seed: seed)
        try AWQCommand.run(input: input, output: outputPath, options: awq.options(bits: bits, groupSize: groupSize.value,
                                                                                   calibration: calibration, force: force),
                           json: output.json)
    }
}

enum AWQCommand {
    static func run(input: String, output: String, options: AWQOptions, json: Bool) throws {
        let summary = try AWQQuantizer.quantize(input: input, output: output, options: options)
        print(json ? summary.json() : summary.text())
    }
}
