import ArgumentParser
import Foundation
import QuantaKit

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two models tensor by tensor; exit 1 when anything is beyond tolerance, 2 when they cannot be compared.",
        discussion: "A tensor passes when every |a − b| ≤ atol + rtol·|b| (defaults: exact). Exit codes as diff(1) and cmp(1): 0 same, 1 different, 2 trouble.")

    @Argument(help: "First model.") var first: String
    @Argument(help: "Second model (the reference for rtol).") var second: String
    @Option(name: .long, help: "Absolute tolerance.") var atol: Double = 0
    @Option(name: .long, help: "Relative tolerance.") var rtol: Double = 0
    @Flag(name: .long, help: "Show every tensor, not only those that differ.") var all = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard atol >= 0, rtol >= 0, atol.isFinite, rtol.isFinite else { throw ValidationError("--atol and --rtol must be finite and non-negative") }
    }

    func run() throws {
        output.apply()
        let report: DiffReport
        do {
            report = try ModelDiffer.diff(first, second, atol: atol, rtol: rtol)
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(output.json ? report.json() : report.text(showAll: all))
        if !report.withinTolerance { throw ExitCode(1) }
    }
}
