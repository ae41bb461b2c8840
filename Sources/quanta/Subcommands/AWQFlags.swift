import ArgumentParser
import QuantaKit

extension AWQOptions.Propagation: ExpressibleByArgument {}

/// `--group-size 64` or `--group-size auto` (the largest of 128/64/32/16 that fits the model).
struct GroupSizeArgument: ExpressibleByArgument {
    /// nil = auto.
    let value: Int?
    init?(argument: String) {
        if argument == "auto" { value = nil; return }
        guard let n = Int(argument) else { return nil }
        value = n
    }
    init(_ value: Int?) { self.value = value }
    var defaultValueDescription: String { value.map(String.init) ?? "auto" }
}

/// The AWQ-only flags of `quanta quantize --method awq`.
struct AWQFlags: ParsableArguments {
    @Option(name: .customLong("awq-grid"), help: "AWQ: grid points for the scale exponent α in [0, 1) (AutoAWQ: 20). The scale search grows linearly with it: on SmolLM2 with 128 windows it is 364 of 644 s (the capture pass over all windows 270 s, clipping 8 s).")
    var grid: Int = 20
    @Option(name: .customLong("awq-search-windows"),
            help: "AWQ: whole calibration windows whose attention outputs score the q/k/v scale search (statistics use all windows). The search's cost grows linearly with it and with --awq-search-tokens: SmolLM2 4-bit g64, 32 windows, halving both (4 / 2048) cut the search 142 → 71 s for PPL 26.66 against 26.60.")
    var searchWindows: Int = 8
    @Option(name: .customLong("awq-search-tokens"),
            help: "AWQ: tokens, strided over all windows, that score the gate/up, down and o scale searches (see --awq-search-windows for the measured trade).")
    var searchTokens: Int = 4096
    @Flag(name: .customLong("awq-duo-scaling"), help: "AWQ: AutoAWQ's duo scaling, s = mean|x|^α / mean|w|^(1−α), instead of the paper's mean|x|^α (SmolLM2 4-bit g64: PPL 26.93 vs 27.06, within the ±0.82 error; same cost).")
    var duoScaling = false
    @Option(name: .customLong("awq-grid-stride"),
            help: "AWQ: 1 scores every α grid point (AutoAWQ). S > 1 scores every S-th point, then ±S/2 … ±1 around the best. SmolLM2 4-bit g64, 128 windows: stride 2 scores 12 of 20 points, KLD unchanged (0.1414), PPL 27.34 vs 27.06; stride 4 scores 9 and cuts the scale search 2.5× (364 → 144 s), but PPL rises to 27.53 (KLD 0.1439).")
    var gridStride: Int = 1
    @Flag(name: .customLong("awq-no-clip"), help: "AWQ: skip the weight-clipping search. It saves about 3 s (of 225 s at 128 windows) and costs PPL: SmolLM2 4-bit g64, 32 windows, 27.40 against 26.60 with clipping.")
    var noClip = false
    @Option(name: .customLong("awq-inputs"),
            help: "AWQ: each layer's calibration inputs come from the float model (float, as AutoAWQ) or the already-quantized layers (quantized: the capture pass runs twice, 28 → 47 s at 32 windows; SmolLM2 4-bit g64 PPL 27.08 against 26.60 with float).")
    var propagation: AWQOptions.Propagation = .float

    func validate() throws {
        guard grid >= 1 && grid <= 1000 else { throw ValidationError("--awq-grid must be between 1 and 1000") }
        guard searchWindows >= 1 else { throw ValidationError("--awq-search-windows must be at least 1") }
        guard searchTokens >= 1 else { throw ValidationError("--awq-search-tokens must be at least 1") }
        guard gridStride >= 1 && gridStride <= grid else { throw ValidationError("--awq-grid-stride must be between 1 and --awq-grid") }
    }

    func options(bits: Int, groupSize: Int?, calibration: CalibrationOptions, force: Bool) -> AWQOptions {
        var options = AWQOptions(bits: bits, groupSize: groupSize, grid: grid, calibration: calibration, searchWindows: searchWindows,
                                 searchTokens: searchTokens, duoScaling: duoScaling, clip: !noClip, propagation: propagation, force: force)
        options.gridStride = gridStride
        return options
    }
}
