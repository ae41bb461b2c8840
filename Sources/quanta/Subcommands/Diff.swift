import ArgumentParser
import QuantaKit

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two models tensor by tensor; exit 1 when anything is beyond tolerance.",
        discussion: "A tensor passes when every |a − b| ≤ atol + rtol·|b| (defaults: exact).")

    @Argument(help: "First model.") var first: String
    @Argument(help: "Second model (the reference for rtol).") var second: String
    @Option(name: .long, help: "Absolute tolerance.") var atol: Double = 0
    @Option(name: .long, help: "Relative tolerance.") var rtol: Double = 0
    @Flag(name: .long, help: "Show every tensor, not only those that differ.") var all = false
    @OptionGroup var output: OutputOptions

    func run() throws {
        output.apply()
        let report = try ModelDiffer.diff(first, second, atol: atol, rtol: rtol)
        print(output.json ? report.json() : report.text(showAll: all))
        if !report.withinTolerance { throw ExitCode(1) }
    }
}
