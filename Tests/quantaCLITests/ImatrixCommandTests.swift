import Foundation
import Testing

/// `quanta imatrix` as a user runs it: on the tiny model and text llama-imatrix was run on
/// (fixtures/make_imatrix.sh), the output's layout equals llama-imatrix's; failures name the file
/// and leave nothing behind.
@Suite struct ImatrixCommandTests {
    static let model = FixturePaths.fixture("imatrix/tiny-llama-f32.gguf")
    static let text = FixturePaths.fixture("imatrix/calibration.txt")

    @Test func writesTheGGUFImatrix() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/out.imatrix.gguf"
        let result = try QuantaCLI.run(["imatrix", Self.model, "--calib", Self.text, "--ctx", "64", "--chunks", "8",
                                        "--threads", "1", "-o", output, "--json"])
        #expect(result.exitCode == 0, "\(result)")
        let json = try result.jsonObject()
        #expect(json["entries"] as? Int == 14 && json["chunks"] as? Int == 8 && json["chunk_size"] as? Int == 64)
        #expect(try TestFiles.listing(scratch) == ["out.imatrix.gguf"])
        // imatrix.datasets records --calib as given, as llama-imatrix records -f.
        let ours = try TestFiles.bytes(output)
        #expect(ours.prefix(4) == Data("GGUF".utf8))
        #expect(ours.range(of: Data(Self.text.utf8)) != nil)

        // An existing output is refused without --force, and kept.
        let again = try QuantaCLI.run(["imatrix", Self.model, "--calib", Self.text, "--ctx", "64", "-o", output])
        #expect(again.exitCode != 0 && again.stderr.contains(output), "\(again)")
        #expect(try TestFiles.bytes(output) == ours)
        let forced = try QuantaCLI.run(["imatrix", "--quiet", Self.model, "--calib", Self.text, "--ctx", "64", "--chunks", "8", "-o", output, "--force"])
        #expect(forced.exitCode == 0, "\(forced)")
        #expect(try TestFiles.listing(scratch) == ["out.imatrix.gguf"])
    }

    @Test func failuresNameTheFileAndLeaveNothing() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-imatrix")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/out.gguf"
        let missing = try QuantaCLI.run(["imatrix", Self.model, "--calib", scratch + "/nope.txt", "-o", output])
        #expect(missing.exitCode != 0 && missing.exitedNormally && missing.stderr.contains(scratch + "/nope.txt"), "\(missing)")
        // 4,000 bytes of text cannot fill two chunks of 4,096 tokens.
        let short = try QuantaCLI.run(["imatrix", Self.model, "--calib", Self.text, "--ctx", "4096", "-o", output])
        #expect(short.exitCode != 0 && short.stderr.contains(Self.text), "\(short)")
        let badModel = try QuantaCLI.run(["imatrix", Self.text, "--calib", Self.text, "-o", output])
        #expect(badModel.exitCode != 0 && badModel.stderr.contains(Self.text), "\(badModel)")
        #expect(try TestFiles.listing(scratch) == [], "nothing may be left in the output's folder")
    }

    @Test func helpNamesTheDefaults() throws {
        let help = try QuantaCLI.run(["imatrix", "--help"])
        #expect(help.exitCode == 0)
        for text in ["--calib", "--ctx", "(default: 512)", "--chunks", "--threads", "--process-output", "-o"] {
            #expect(help.stdout.contains(text), "help lacks \(text)\n\(help)")
        }
    }
}
