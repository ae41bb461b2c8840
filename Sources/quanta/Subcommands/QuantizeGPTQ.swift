import ArgumentParser
import QuantaKit

/// `--sym` (default) or `--asym`.
enum GPTQSymmetry: String, EnumerableFlag {
    case sym, asym

    static func help(for value: GPTQSymmetry) -> ArgumentHelp? {
        switch value {
        case .sym: return "GPTQ/RTN: symmetric grid, zero point fixed at 2^(bits−1) (default)."
        case .asym: return "GPTQ/RTN: asymmetric grid with a per-group zero point."
        }
    }
}

/// The flags of `quanta quantize --method gptq|rtn` (calibration flags included; a calibrated
/// method added later can read `calib…`/`seed` from here instead of declaring them again).
struct GPTQFlags: ParsableArguments {
    @Option(name: .long, help: "GPTQ/RTN: bits per weight, 2, 3, 4 or 8.") var bits: Int = 4
    // .unconditional: "-1" is a value here, not a flag.
    @Option(name: .customLong("group-size"), parsing: .unconditional, help: "GPTQ/RTN: input columns per scale/zero group, or -1 for one group per row (a last group may be shorter). AWQ: a divisor of every linear's input width, or auto.")
    var groupSize: GroupSizeArgument = GroupSizeArgument(128)
    @Flag(name: .customLong("act-order"), help: "GPTQ: quantize columns by decreasing Hessian diagonal (desc_act).") var actOrder = false
    @Flag(name: .customLong("static-groups"), help: "GPTQ: fix every group's grid before the sweep (static_groups; keeps groups contiguous with --act-order).")
    var staticGroups = false
    @Flag var symmetry: GPTQSymmetry = .sym
    @Option(name: .long, help: "GPTQ: Hessian dampening, a fraction of its mean diagonal (raised automatically when a Cholesky fails).")
    var damp: Double = 0.01
    @Flag(name: .customLong("act-group-aware"), help: "GPTQ: sweep whole groups by importance and columns inside each group by decreasing Hessian diagonal; groups stay contiguous (desc_act false; GPTQModel's act_group_aware).")
    var actGroupAware = false
    @Option(name: .long, help: "GPTQ/RTN: grid search for each group's range minimizing Σ|w − q|^N (the reference's mse option; 0 = off, 2 is fastest).")
    var mse: Double = 0
    @Flag(name: .customLong("refit-scales"), help: "GPTQ: after the sweep, re-solve each row's group scales for the least calibration output error with the codes fixed (layout unchanged).")
    var refitScales = false
    @Flag(name: .customLong("mse-importance"), help: "GPTQ: with --mse, weigh each weight's error in the range search by its input's mean square activation (Hessian diagonal).")
    var mseImportance = false
    @Option(name: .customLong("calib"), help: "Calibration text (UTF-8), tokenized with the model's tokenizer.")
    var calib: String = CalibrationOptions.defaultTextPath
    @Option(name: .customLong("calib-samples"), help: "Calibration windows.") var calibSamples: Int = 128
    @Option(name: .customLong("calib-seqlen"), help: "Tokens per calibration window.") var calibSeqlen: Int = 512
    @Option(name: .long, help: "Seed of the calibration window positions.") var seed: UInt64 = 0

    func options(method: GPTQOptions.Method, maxShardSize: Int, force: Bool) throws -> GPTQOptions {
        let calibration = CalibrationOptions(textPath: calib, samples: calibSamples, sequenceLength: calibSeqlen, seed: seed)
        guard let groupSize = groupSize.value else { throw ValidationError("--group-size auto is for --method awq; GPTQ/RTN take a number or -1") }
        let options = GPTQOptions(method: method, bits: bits, groupSize: groupSize, sym: symmetry == .sym, actOrder: actOrder,
                                  staticGroups: staticGroups, dampPercent: damp, groupAwareOrder: actGroupAware, mseNorm: mse, refitScales: refitScales, mseImportance: mseImportance,
                                  calibration: calibration,
                                  maxShardSize: maxShardSize, force: force)
        do { try options.validate() } catch { throw ValidationError("\(error)") }
        return options
    }
}

/// What `quanta quantize` runs for `--method gptq` and `--method rtn`.
enum GPTQCommand {
    static func method(_ name: String) -> GPTQOptions.Method? { GPTQOptions.Method(rawValue: name) }

    static func run(method: GPTQOptions.Method, flags: GPTQFlags, input: String, output: String, maxShardSize: Int,
                    force: Bool, allowNonFinite: Bool, json: Bool) throws {
        var options = try flags.options(method: method, maxShardSize: maxShardSize, force: force)
        options.allowNonFinite = allowNonFinite
        let summary = try GPTQQuantizer.quantize(input: input, output: output, options: options)
        print(json ? summary.json() : summary.text())
    }
}
