import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// Hostile checkpoints: the corpus of fixtures/malicious (payloads that would run code, memo
/// and nesting tricks, lying storages and strides, broken zips), every truncation of a valid
/// file, and thousands of single-byte mutations. Each must end in an error (naming the global,
/// opcode, limit and data.pkl offset where the corpus says so), never in a crash, and no payload
/// may ever run: no canary file appears.
@Suite("Torch hostile input")
struct TorchHostileTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let mentions: [String]
        let offset: Int?
        /// An odd but valid file that must read without error.
        let accepted: Bool
        var description: String { name }
    }

    static let corpus: [Case] = {
        guard let root = try? TorchFixtures.json(atPath: TorchFixtures.malicious("expected.json")),
              case let .object(object) = root else { return [] }
        return object.entries.map { key, value in
            Case(name: key, mentions: value["mentions"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                 offset: value["offset"]?.intValue, accepted: value["accepted"]?.boolValue ?? false)
        }
    }()

    static let canaryFolder = "/tmp"
    static let canaryPrefix = "quanta-canary-"

    static func canaries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: canaryFolder)) ?? []).filter { $0.hasPrefix(canaryPrefix) }
    }

    /// The data.pkl offset an error names, if it names one.
    static func pickleOffset(_ error: TorchError) -> Int? {
        switch error {
        case let .unsupportedOpcode(_, _, _, offset), let .forbiddenGlobal(_, _, offset),
             let .pickleLimit(_, _, _, _, offset), let .invalidPickle(_, offset, _),
             let .unsupportedDType(_, _, offset), let .tensorOutOfStorage(_, offset, _):
            return offset
        default:
            return nil
        }
    }

    @Test("the corpus lists every hostile file")
    func corpusIsComplete() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: TorchFixtures.malicious(""))
            .filter { $0.hasSuffix(".pt") }.map { String($0.dropLast(3)) }
        #expect(Set(files) == Set(Self.corpus.map(\.name)))
        #expect(Self.corpus.count >= 45)
    }

    @Test("odd but valid files of the corpus read", arguments: corpus.filter(\.accepted))
    func accepted(_ odd: Case) throws {
        try TorchFixtures.readEverything(TorchFixtures.malicious(odd.name + ".pt"))
    }

    @Test("every hostile file is refused with an error naming what and where", arguments: corpus.filter { !$0.accepted })
    func refused(_ hostile: Case) throws {
        let canary = Self.canaryFolder + "/" + Self.canaryPrefix + hostile.name
        try? FileManager.default.removeItem(atPath: canary)
        let path = TorchFixtures.malicious(hostile.name + ".pt")
        let error = #expect(throws: TorchError.self) { try TorchFixtures.readEverything(path) }
        guard let error else { return }
        let message = error.description
        #expect(message.hasPrefix(path), "the message names the file: \(message)")
        for word in hostile.mentions {
            #expect(message.contains(word), "'\(word)' missing from: \(message)")
        }
        if let offset = hostile.offset {
            #expect(Self.pickleOffset(error) == offset, "\(message)")
            #expect(message.contains("data.pkl byte \(offset):"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: canary), "a payload ran")
    }

    @Test("no payload of the corpus ever runs, also when opened as checkpoints")
    func noCanaries() throws {
        for hostile in Self.corpus {
            _ = try? TorchCheckpoint(path: TorchFixtures.malicious(hostile.name + ".pt"))
        }
        #expect(Self.canaries().isEmpty, "canary files: \(Self.canaries())")
    }

    @Test("every truncation of a valid checkpoint throws")
    func truncations() throws {
        let original = try TorchFixtures.bytes(atPath: TorchFixtures.path("nested_state_dict.pt"))
        let folder = try FixturePaths.scratchDirectory("quanta-torch-truncate")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for length in 0 ..< original.count {
            let path = try TorchFixtures.scratchFile(Array(original.prefix(length)), name: "t.pt", in: folder)
            #expect(throws: (any Error).self, "prefix of \(length) bytes") { try TorchFixtures.readEverything(path) }
        }
    }

    @Test("every truncation of a data.pkl throws")
    func pickleTruncations() throws {
        for stem in ["golden", "llama_tiny"] {
            let file = try TorchFile(path: TorchFixtures.path(stem + ".pt"))
            let record = try #require(file.zip.entry(named: file.archiveName + "/data.pkl"))
            let pickle = Array(try file.file.bytes(offset: record.dataOffset, count: record.size, context: "data.pkl"))
            _ = try pickle.withUnsafeBytes { try TorchUnpickler.parse($0, file: "whole") }
            for length in 0 ..< pickle.count {
                #expect(throws: TorchError.self, "\(stem): prefix of \(length) bytes") {
                    _ = try Array(pickle.prefix(length)).withUnsafeBytes { try TorchUnpickler.parse($0, file: "prefix") }
                }
            }
        }
    }

    @Test("single-byte mutations of a checkpoint never crash", arguments: ["golden", "nested_state_dict"])
    func fileMutations(stem: String) throws {
        let original = try TorchFixtures.bytes(atPath: TorchFixtures.path(stem + ".pt"))
        let folder = try FixturePaths.scratchDirectory("quanta-torch-mutate")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var random = SplitMix64(seed: 0x5EED_0000 + UInt64(original.count))
        var refused = 0, accepted = 0
        for round in 0 ..< 1500 {
            var bytes = original
            // Half anywhere, half in the central directory and end records (the last 700 bytes).
            let position = round % 2 == 0 ? random.below(bytes.count) : bytes.count - 1 - random.below(min(700, bytes.count))
            let value = UInt8(truncatingIfNeeded: random.next())
            bytes[position] = value == bytes[position] ? value ^ 0xFF : value
            let path = try TorchFixtures.scratchFile(bytes, name: "m.pt", in: folder)
            do {
                try TorchFixtures.readEverything(path)
                accepted += 1
            } catch {
                refused += 1
            }
        }
        // Mutated tensor bytes still load; mutated structure must not.
        #expect(refused > 0 && accepted > 0, "refused \(refused), accepted \(accepted)")
    }

    @Test("single-byte mutations of a data.pkl never crash the unpickler",
          arguments: [("golden", 3000), ("llama_tiny", 2000), ("nested_state_dict", 2000), ("writer_many", 150)])
    func pickleMutations(stem: String, rounds: Int) throws {
        let file = try TorchFile(path: TorchFixtures.path(stem + ".pt"))
        let record = try #require(file.zip.entry(named: file.archiveName + "/data.pkl"))
        let original = Array(try file.file.bytes(offset: record.dataOffset, count: record.size, context: "data.pkl"))
        var random = SplitMix64(seed: 0xFACE_0000 + UInt64(original.count))
        var refused = 0
        for _ in 0 ..< rounds {
            var bytes = original
            let position = random.below(bytes.count)
            bytes[position] = UInt8(truncatingIfNeeded: random.next())
            do {
                let pickle = try bytes.withUnsafeBytes { try TorchUnpickler.parse($0, file: "mutated") }
                _ = try TorchStateDict.entries(of: pickle, file: "mutated")
            } catch is TorchError {
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}
