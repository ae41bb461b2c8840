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
    // Defaults are the best measured settings that keep natural g_idx (docs/quantization.md, SmolLM2
    // 4-bit g64, shared protocol): group-aware order + `--mse 2 --mse-importance`, PPL 25.89, against
    // 32.41 for the reference algorithm (natural order, no range search) and 28.36 for GPTQModel's
    // defaults. `--reference` gives the reference algorithm; explicit flags override either.
    @Flag(name: .long, help: "GPTQ: the reference algorithm (Frantar et al.'s GPTQ: natural column order, min/max range, no importance weighting) instead of the measured-best defaults: SmolLM2 4-bit g64 PPL 32.41 instead of 25.89; it saves only the range search, part of the solve (the whole solve was 33 s of a 215 s default run on SmolLM2). Explicit --act-order/--act-group-aware/--mse/--mse-importance still apply.")
    var reference = false
    @Flag(name: .customLong("act-order"), help: "GPTQ: quantize columns by decreasing Hessian diagonal (desc_act: g_idx is permuted, some loaders are slower with it). SmolLM2 4-bit g64 with --mse 2 --mse-importance: 26.42 (default order: 25.89).") var actOrder = false
    @Flag(name: .customLong("static-groups"), help: "GPTQ: fix every group's grid before the sweep (static_groups; keeps groups contiguous with --act-order).")
    var staticGroups = false
    @Flag var symmetry: GPTQSymmetry = .sym
    @Option(name: .long, help: "GPTQ: Hessian dampening, a fraction of its mean diagonal (raised automatically when a Cholesky fails).")
    var damp: Double = 0.01
    @Flag(name: .customLong("act-group-aware"), help: "GPTQ: sweep whole groups by importance and columns inside each group by decreasing Hessian diagonal; groups stay contiguous, g_idx natural (GPTQModel's act_group_aware). The default unless --reference or --act-order; alone it gains 32.41 → 28.84 on SmolLM2 4-bit g64.")
    var actGroupAware = false
    @Option(name: .long, help: "GPTQ/RTN: grid search for each group's range minimizing Σ|w − q|^N (the reference's mse option; 0 = off). Default 2 for GPTQ (27.23 → 25.89 with --mse-importance on SmolLM2 4-bit g64; the search is part of the solve, 33 s of a 215 s default run there), 0 for RTN and with --reference.")
    var mse: Double?
    @Flag(name: .customLong("refit-scales"), help: "GPTQ: after the sweep, re-solve each row's group scales for the least calibration output error with the codes fixed (layout unchanged; measured worse with --mse: 27.62 vs 27.02).")
    var refitScales = false
    @Flag(name: .customLong("mse-importance"), inversion: .prefixedNo,
          help: "GPTQ: with --mse, weigh each weight's error in the range search by its input's mean square activation (Hessian diagonal). On by default with --mse (27.23 → 25.89 on SmolLM2 4-bit g64), off with --reference.")
    var mseImportance: Bool?
    // Optional so that --method gguf can tell "given" from "default" (given: compute an importance matrix).
    @Option(name: .customLong("calib"), help: "Calibration text (UTF-8), tokenized with the model's tokenizer (default: \(CalibrationOptions.defaultTextPath)). GGUF: calibrated K-quants, GPTQ error feedback inside ggml's blocks (same types and size as llama-quantize; SmolLM2 Q4_K_M: PPL 23.55 vs llama-quantize --imatrix 23.65, F32 22.94); with --no-gptq only an importance matrix, as llama-imatrix.")
    var calib: String?
    @Option(name: .customLong("calib-samples"), help: "Calibration windows.") var calibSamples: Int = 128
    @Option(name: .customLong("calib-seqlen"), help: "Tokens per calibration window.") var calibSeqlen: Int = 512
    @Option(name: .long, help: "Seed of the calibration window positions.") var seed: UInt64 = 0
    @Option(name: .long, help: "GPTQ/AWQ: tokenize the calibration text with this tokenizer (a model directory, a tokenizer.json or a GGUF), for checkpoints saved without tokenizer files.")
    var tokenizer: String?

    /// The calibration flags, shared by GPTQ and AWQ.
    var calibration: CalibrationOptions {
        var calibration = CalibrationOptions(textPath: calib ?? CalibrationOptions.defaultTextPath, samples: calibSamples, sequenceLength: calibSeqlen, seed: seed)
        calibration.tokenizerPath = tokenizer
        return calibration
    }

    func options(method: GPTQOptions.Method, maxShardSize: Int, force: Bool) throws -> GPTQOptions {
        guard let groupSize = groupSize.value else { throw ValidationError("--group-size auto is for --method awq; GPTQ/RTN take a number or -1") }
        let tuned = method == .gptq && !reference
        // Group-aware order is the default where there are groups; --act-order replaces it (the two
        // are exclusive).
        let groupAware = actGroupAware || (tuned && !actOrder && groupSize > 0)
        let mseNorm = mse ?? (tuned ? 2 : 0)
        let importance = mseImportance ?? (tuned && mseNorm > 0)
        let options = GPTQOptions(method: method, bits: bits, groupSize: groupSize, sym: symmetry == .sym, actOrder: actOrder,
                                  staticGroups: staticGroups, dampPercent: damp, groupAwareOrder: groupAware, mseNorm: mseNorm, refitScales: refitScales, mseImportance: importance,
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
                    force: Bool, allowNonFinite: Bool, skipTokenizerCheck: Bool = false, json: Bool) throws {
        var options = try flags.options(method: method, maxShardSize: maxShardSize, force: force)
        options.allowNonFinite = allowNonFinite
        options.skipTokenizerCheck = skipTokenizerCheck
        let summary = try GPTQQuantizer.quantize(input: input, output: output, options: options)
        print(json ? summary.json() : summary.text())
    }
}
