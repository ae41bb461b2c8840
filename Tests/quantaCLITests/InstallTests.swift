import Foundation
import Testing

/// `make install` (scripts/install.sh): the binary, completions for three shells and a man page,
/// into a temporary prefix; the installed binary reports its version.
@Suite struct InstallTests {
    static func run(_ executable: String, _ arguments: [String]) throws -> (code: Int32, out: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("install.sh puts quanta, bash/zsh/fish completions and quanta(1) under the prefix")
    func installIntoTemporaryPrefix() throws {
        let prefix = try FixturePaths.scratchDirectory("quanta-install")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let script = FixturePaths.root.appendingPathComponent("scripts/install.sh").path
        let install = try Self.run("/bin/bash", [script, try QuantaCLI.executable(), prefix])
        try #require(install.code == 0, "\(install.out)")

        let version = try Self.run(prefix + "/bin/quanta", ["--version"])
        #expect(version.code == 0 && version.out.hasPrefix("0.1.0 (commit "), "\(version.out)")

        let bash = prefix + "/share/bash-completion/completions/quanta"
        #expect(try Self.run("/bin/bash", ["-n", bash]).code == 0)
        #expect(try String(contentsOfFile: bash, encoding: .utf8).contains("-F _quanta quanta"))
        #expect(try String(contentsOfFile: prefix + "/share/zsh/site-functions/_quanta", encoding: .utf8).hasPrefix("#compdef quanta"))
        #expect(try String(contentsOfFile: prefix + "/share/fish/vendor_completions.d/quanta.fish", encoding: .utf8).contains("complete -c 'quanta'"))

        let man = try String(contentsOfFile: prefix + "/share/man/man1/quanta.1", encoding: .utf8)
        #expect(man.hasPrefix(".TH \"QUANTA\" \"1\""))
        for subcommand in ["INSPECT", "CONVERT", "DIFF", "EVAL", "QUANTIZE"] {
            #expect(man.contains(".SH \"QUANTA \(subcommand)\""), "no section for \(subcommand)")
        }
        #expect(man.contains("\\fB--tokenizer\\fR"))
        // Nothing but the five files (no temporaries left behind).
        let files = FileManager.default.enumerator(atPath: prefix)?.compactMap { $0 as? String }
            .filter { !TestFiles.isDirectory(prefix + "/" + $0) }.sorted() ?? []
        #expect(files == ["bin/quanta", "share/bash-completion/completions/quanta", "share/fish/vendor_completions.d/quanta.fish",
                          "share/man/man1/quanta.1", "share/zsh/site-functions/_quanta"])
    }
}
