import Foundation
import Testing
@testable import QuantaCore

@Suite("AtomicOutput")
struct AtomicOutputTests {
    static func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    static func writeFile(_ path: String, _ text: String) throws {
        let output = try OutputFile(creating: path)
        try output.write(text)
        try output.close()
    }

    @Test func commitMovesTheFileIntoPlace() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/out.bin"
        let output = try AtomicOutput(path: target, isDirectory: false, force: false)
        try Self.writeFile(output.temporaryPath, "hello")
        #expect(!FileManager.default.fileExists(atPath: target))
        try output.commit()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "hello")
        #expect(try Self.entries(dir) == ["out.bin"])
    }

    @Test func abortLeavesNothing() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try AtomicOutput(path: dir + "/out.bin", isDirectory: false, force: false)
        try Self.writeFile(output.temporaryPath, "partial")
        output.abort()
        #expect(try Self.entries(dir) == [])
    }

    @Test func droppingWithoutCommitLeavesNothing() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let output = try AtomicOutput(path: dir + "/model", isDirectory: true, force: false)
            try Self.writeFile(output.path(for: "a.safetensors"), "x")
            #expect(try Self.entries(dir).count == 1)
        }
        #expect(try Self.entries(dir) == [])
    }

    @Test func directoryOutputCommits() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let output = try AtomicOutput(path: dir + "/model", isDirectory: true, force: false)
        try Self.writeFile(output.path(for: "a.txt"), "a")
        try Self.writeFile(output.path(for: "b.txt"), "b")
        try output.commit()
        #expect(try Self.entries(dir + "/model") == ["a.txt", "b.txt"])
        #expect(try Self.entries(dir) == ["model"])
    }

    @Test func refusesExistingOutputWithoutForce() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/out.bin"
        try Self.writeFile(target, "old")
        #expect(throws: CoreError.outputExists(path: target)) {
            _ = try AtomicOutput(path: target, isDirectory: false, force: false)
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "old")
        #expect(try Self.entries(dir) == ["out.bin"])
    }

    @Test func forceReplacesExistingOutput() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/out.bin"
        try Self.writeFile(target, "old")
        let output = try AtomicOutput(path: target, isDirectory: false, force: true)
        try Self.writeFile(output.temporaryPath, "new")
        // Until commit the old output is untouched.
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "old")
        try output.commit()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new")
        #expect(try Self.entries(dir) == ["out.bin"])
    }

    @Test func forcedAbortKeepsTheOldOutput() throws {
        let dir = try FixturePaths.scratchDirectory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = dir + "/out.bin"
        try Self.writeFile(target, "old")
        let output = try AtomicOutput(path: target, isDirectory: false, force: true)
        try Self.writeFile(output.temporaryPath, "half")
        output.abort()
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "old")
        #expect(try Self.entries(dir) == ["out.bin"])
    }

    @Test func missingParentFolderIsAnError() throws {
        #expect(throws: CoreError.self) {
            _ = try AtomicOutput(path: "/nonexistent-quanta-dir/out.bin", isDirectory: false, force: false)
        }
    }
}
