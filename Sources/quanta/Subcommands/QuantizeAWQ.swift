import ArgumentParser
import QuantaKit

/// What `quanta quantize --method awq` runs: bits, group size and calibration flags are the ones
/// GPTQ declares (`GPTQFlags`), the AWQ-only ones are `AWQFlags`.
enum AWQCommand {
    static func run(flags: GPTQFlags, awq: AWQFlags, input: String, output: String, force: Bool, allowNonFinite: Bool,
                    skipTokenizerCheck: Bool = false, json: Bool) throws {
        var options = awq.options(bits: flags.bits, groupSize: flags.groupSize.value, calibration: flags.calibration, force: force)
        options.allowNonFinite = allowNonFinite
        options.skipTokenizerCheck = skipTokenizerCheck
        let summary = try AWQQuantizer.quantize(input: input, output: output, options: options)
        print(json ? summary.json() : summary.text())
    }
}
