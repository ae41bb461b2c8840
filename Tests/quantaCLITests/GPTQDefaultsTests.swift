import Foundation
import Testing

/// `quanta quantize --method gptq` defaults to the best measured settings that keep natural g_idx
/// (group-aware order, --mse 2 --mse-importance); `--reference` gives the reference algorithm and
/// explicit flags override either. Read back from the run's JSON summary.
@Suite struct GPTQDefaultsTests {
    struct Case: Sendable, CustomStringConvertible {
        let flags: [String]
        let actOrder: Bool, groupAware: Bool, mse: Double, importance: Bool
        var description: String { flags.isEmpty ? "(defaults)" : flags.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(flags: [], actOrder: false, groupAware: true, mse: 2, importance: true),
        Case(flags: ["--reference"], actOrder: false, groupAware: false, mse: 0, importance: false),
        Case(flags: ["--reference", "--act-order"], actOrder: true, groupAware: false, mse: 0, importance: false),
        Case(flags: ["--reference", "--mse", "2"], actOrder: false, groupAware: false, mse: 2, importance: false),
        Case(flags: ["--act-order"], actOrder: true, groupAware: false, mse: 2, importance: true),
        Case(flags: ["--mse", "0"], actOrder: false, groupAware: true, mse: 0, importance: false),
        Case(flags: ["--no-mse-importance"], actOrder: false, groupAware: true, mse: 2, importance: false),
        Case(flags: ["--group-size", "-1"], actOrder: false, groupAware: false, mse: 2, importance: true),
        Case(flags: ["--method", "rtn"], actOrder: false, groupAware: false, mse: 0, importance: false),
    ]

    @Test("GPTQ's defaults and --reference", arguments: cases)
    func settings(_ c: Case) throws {
        let (with, _, text) = try TokenizerOptionTests.setUp()
        let out = try FixturePaths.scratchDirectory("quanta-gptq-defaults") + "/out"
        let method = c.flags.contains("--method") ? [] : ["--method", "gptq"]
        let groups = c.flags.contains("--group-size") ? [] : ["--group-size", "32"]
        let run = try QuantaCLI.run(["quantize"] + method + ["--bits", "4"] + groups + c.flags
            + ["--calib", text, "--calib-samples", "2", "--calib-seqlen", "16", "--json", "--quiet", with, out])
        try #require(run.exitCode == 0, "\(run)")
        let summary = try run.jsonObject()
        #expect(summary["act_order"] as? Bool == c.actOrder, "\(run)")
        #expect(summary["act_group_aware"] as? Bool == c.groupAware, "\(run)")
        #expect(summary["mse"] as? Double == c.mse, "\(run)")
        #expect(summary["mse_importance"] as? Bool == c.importance, "\(run)")
    }
}
