import Foundation
import QuantaCore
import Testing

/// The scratch file GPTQ streams its results into: nothing visible on disk at any moment, appended
/// bytes read back through the map at 64-byte aligned offsets.
@Suite("SpillFile")
struct SpillFileTests {
    @Test("appended runs map back byte for byte, aligned, and no file is left in the folder")
    func roundTrip() throws {
        let dir = try FixturePaths.scratchDirectory("spill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spill = try SpillFile(directory: dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "the spill is unlinked at once")
        let runs: [[UInt8]] = [Array(0 ..< 3), Array(repeating: 7, count: 1000), [], Array((0 ..< 70_000).map { UInt8($0 % 251) })]
        var offsets: [Int] = []
        for run in runs { offsets.append(try run.withUnsafeBytes { try spill.append($0) }) }
        #expect(offsets.allSatisfy { $0 % 64 == 0 })
        #expect(zip(offsets, offsets.dropFirst()).allSatisfy { $0 < $1 || $0 == $1 })
        let file = try spill.map()
        for (run, offset) in zip(runs, offsets) {
            let bytes = try file.bytes(offset: offset, count: run.count, context: "run")
            #expect(Array(bytes) == run)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("a folder that cannot hold the spill is an error naming it")
    func missingFolder() {
        #expect(throws: CoreError.self) { _ = try SpillFile(directory: "/nonexistent/quanta-spill-test") }
    }
}
