import Foundation
import Testing
@testable import QuantaCore
@testable import QuantaFormats

/// The zip layer's parts: CRC-32, torch's serialization id, and the layout torch writes.
@Suite("Torch zip layer")
struct TorchZipTests {
    @Test("CRC-32 check values (ISO-HDLC)")
    func crcCheckValues() {
        #expect(Array("123456789".utf8).withUnsafeBytes { ZipCRC32.checksum($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { ZipCRC32.checksum($0) } == 0)
        #expect(Array("The quick brown fox jumps over the lazy dog".utf8).withUnsafeBytes { ZipCRC32.checksum($0) } == 0x414F_A339)
    }

    @Test("split, parallel and combined CRCs equal the one-pass CRC")
    func crcCombine() {
        var random = SplitMix64(seed: 77)
        let bytes = (0 ..< (21 << 20) + 13).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        bytes.withUnsafeBytes { raw in
            let sequential = ZipCRC32.update(0, raw)
            #expect(ZipCRC32.checksum(raw) == sequential)  // large enough to be split across cores
            for _ in 0 ..< 20 {
                let cut = random.below(raw.count + 1)
                let first = UnsafeRawBufferPointer(rebasing: raw[..<cut]), second = UnsafeRawBufferPointer(rebasing: raw[cut...])
                #expect(ZipCRC32.combine(ZipCRC32.update(0, first), ZipCRC32.update(0, second), secondLength: second.count) == sequential)
                #expect(ZipCRC32.update(ZipCRC32.update(0, first), second) == sequential)
            }
        }
    }

    static let torchSaved = ["golden", "nested_state_dict", "nested_model", "llama_tiny", "writer_reference", "writer_many",
                             "sharded/pytorch_model-00001-of-00003.bin", "sharded/pytorch_model-00002-of-00003.bin"]

    @Test("the serialization id of every torch.save golden is reproduced from its records", arguments: torchSaved)
    func serializationID(name: String) throws {
        let path = TorchFixtures.path(name.hasSuffix(".bin") ? name : name + ".pt")
        let file = try TorchFile(path: path)
        let prefix = file.archiveName + "/"
        var id = TorchSerializationID()
        var stored: String?
        for entry in file.zip.entries {
            let data = try file.file.bytes(offset: entry.dataOffset, count: entry.size, context: entry.name)
            let record = String(entry.name.dropFirst(prefix.count))
            if record == ".data/serialization_id" {
                stored = String(decoding: data, as: UTF8.self)
            } else {
                id.add(record: record, crc32: entry.crc32, size: entry.size, firstBytes: Array(data.prefix(8)))
            }
        }
        #expect(try id.value() == #require(stored))
    }

    @Test("torch's record order and 64-byte data alignment")
    func recordLayout() throws {
        let file = try TorchFile(path: TorchFixtures.path("writer_reference.pt"))
        let names = file.zip.entries.map { String($0.name.dropFirst("writer_reference/".count)) }
        let storages = (0 ..< file.tensors.count).map { "data/\($0)" }
        #expect(names == ["data.pkl", ".format_version", ".storage_alignment", "byteorder"] + storages
            + ["version", ".data/serialization_id"])
        #expect(file.zip.entries.allSatisfy { $0.dataOffset % 64 == 0 })
    }

    @Test("the unpickler accepts the protocol 4 forms (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)")
    func protocol4() throws {
        // pickle.dumps(collections.OrderedDict([("a", 1), ("b", (2.5, None, True))]), protocol=4)
        let bytes: [UInt8] = [
            0x80, 0x04, 0x95, 0x3B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8C, 0x0B, 0x63, 0x6F, 0x6C, 0x6C, 0x65,
            0x63, 0x74, 0x69, 0x6F, 0x6E, 0x73, 0x94, 0x8C, 0x0B, 0x4F, 0x72, 0x64, 0x65, 0x72, 0x65, 0x64, 0x44, 0x69,
            0x63, 0x74, 0x94, 0x93, 0x94, 0x29, 0x52, 0x94, 0x28, 0x8C, 0x01, 0x61, 0x94, 0x4B, 0x01, 0x8C, 0x01, 0x62,
            0x94, 0x47, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4E, 0x88, 0x87, 0x94, 0x75, 0x2E,
        ]
        let pickle = try bytes.withUnsafeBytes { try TorchUnpickler.parse($0, file: "p4") }
        guard case let .dict(index) = pickle.root else { Issue.record("root \(pickle.root)"); return }
        let dict = pickle.dicts[index]
        #expect(dict.isOrdered && dict.keys == [.string("a"), .string("b")])
        #expect(dict.values[0] == .int(1))
        guard case let .tuple(tuple) = dict.values[1] else { Issue.record("not a tuple"); return }
        #expect(pickle.tuples[tuple] == [.float(2.5), .none, .bool(true)])
    }

    @Test("LONG1 integers decode as Python's decode_long")
    func long1() throws {
        func decode(_ payload: [UInt8]) throws -> PickleValue {
            let bytes: [UInt8] = [0x80, 0x02, 0x8A, UInt8(payload.count)] + payload + [0x2E]
            return try bytes.withUnsafeBytes { try TorchUnpickler.parse($0, file: "long") }.root
        }
        #expect(try decode([]) == .int(0))
        #expect(try decode([0xFF]) == .int(-1))
        #expect(try decode([0x80, 0x00]) == .int(128))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x01]) == .int(1 << 40))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0xFF]) == .int(Int.min))
        #expect(try decode([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]) == .largeInt)
    }
}
