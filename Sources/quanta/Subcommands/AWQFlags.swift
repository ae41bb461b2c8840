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
    @Option(name: .customLong("awq-grid"), help: "AWQ: grid points for the scale exponent α in [0, 1) (AutoAWQ: 20). The scale search, about 80 % of an AWQ run (340 of 430 s on SmolLM2 with 16 windows), grows linearly with it.")
    var grid: Int = 20
    @Option(name: .customLong("awq-search-windows"),
            help: "AWQ: whole calibration windows whose attention outputs score the q/k/v scale search (statistics use all windows).")
    var searchWindows: Int = 8
    @Option(name: .customLong("awq-search-tokens"),
            help: "AWQ: tokens, strided over all windows, that score the gate/up, down and o scale searches.")
    var searchTokens: Int = 4096
    @Flag(name: .customLong("awq-duo-scaling"), help: "AWQ: AutoAWQ's duo scaling, s = mean|x|^α / mean|w|^(1−α), instead of the paper's mean|x|^α (SmolLM2 4-bit g64: PPL 26.93 vs 27.06, within the ±0.82 error; same cost).")
    var duoScaling = false
    @Flag(name: .customLong("awq-full-grid"),
          help: "AWQ: score every α grid point, as AutoAWQ does, instead of every 4th then ±2, ±1 around the best (9 of 20 points).")
    var fullGrid = false
    @Flag(name: .customLong("awq-no-clip"), help: "AWQ: skip the weight-clipping search.")
    var noClip = false
    @Option(name: .customLong("awq-inputs"),
            help: "AWQ: each layer's calibration inputs come from the float model (float, as AutoAWQ) or the already-quantized layers (quantized).")
    var propagation: AWQOptions.Propagation = .float

    func validate() throws {
        guard grid >= 1 && grid <= 1000 else { throw ValidationError("--awq-grid must be between 1 and 1000") }
        guard searchWindows >= 1 else { throw ValidationError("--awq-search-windows must be at least 1") }
        guard searchTokens >= 1 else { throw ValidationError("--awq-search-tokens must be at least 1") }
    }

    func options(bits: Int, groupSize: Int?, calibration: CalibrationOptions, force: Bool) -> AWQOptions {
        var options = AWQOptions(bits: bits, groupSize: groupSize, grid: grid, calibration: calibration, searchWindows: searchWindows,
                                 searchTokens: searchTokens, duoScaling: duoScaling, clip: !noClip, propagation: propagation, force: force)
        options.exhaustiveGrid = fullGrid
        return options
    }
}
