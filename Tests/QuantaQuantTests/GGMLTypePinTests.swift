import QuantaCore
import QuantaFormats
import Testing

/// `GGMLType` ids, block sizes and block bytes pinned against gguf-py 0.19.0
/// (`GGMLQuantizationType`, `GGML_QUANT_SIZES`, dumped to fixtures/ggml/types.json).
@Suite struct GGMLTypePinTests {
    struct Entry: Sendable { let name: String; let id: Int; let blockSize: Int; let blockBytes: Int }

    /// gguf-py types that `GGMLType` does not model yet; adding one must update this list.
    static let knownMissing: Set<String> = ["NVFP4", "Q1_0"]

    static func entries() throws -> [Entry] {
        let json = try JSONParser.parse(try GGMLFixtures.bytes("types.json"), context: "fixtures/ggml/types.json")
        guard let items = json.arrayValue else { throw GGMLFixtures.Failure.malformed("types.json is not an array") }
        return try items.map { item in
            guard let name = item["name"]?.stringValue, let id = item["id"]?.intValue,
                  let blockSize = item["blockSize"]?.intValue, let blockBytes = item["blockBytes"]?.intValue
            else { throw GGMLFixtures.Failure.malformed("types.json entry") }
            return Entry(name: name, id: id, blockSize: blockSize, blockBytes: blockBytes)
        }
    }

    /// Where gguf-py 0.19.0 is stale and `GGMLType` follows llama.cpp instead: block_q8_1 became
    /// two ggml_half (d, s) + 32 int8 = 36 bytes (ggml-common.h static_assert), while
    /// `GGML_QUANT_SIZES` still says 4 + 4 + 32 from the old float layout.
    static let knownDisagreements: [String: (ggufPy: Int, llamaCpp: Int)] = ["Q8_1": (40, 36)]

    @Test("every GGMLType matches gguf-py's id, name, block size and block bytes", arguments: GGMLType.allCases)
    func pinned(type: GGMLType) throws {
        let entry = try #require(try Self.entries().first { $0.id == Int(type.rawValue) }, "\(type.name) unknown to gguf-py")
        #expect(entry.name == type.name)
        #expect(entry.blockSize == type.blockSize, "\(type.name) block size")
        if let known = Self.knownDisagreements[type.name] {
            #expect(entry.blockBytes == known.ggufPy, "gguf-py changed its \(type.name) size: revisit")
            #expect(type.blockBytes == known.llamaCpp, "\(type.name) block bytes")
        } else {
            #expect(entry.blockBytes == type.blockBytes, "\(type.name) block bytes")
        }
        #expect(type.byteCount(elements: 4 * type.blockSize) == 4 * type.blockBytes)
    }

    @Test("every gguf-py type is modelled or listed as known missing")
    func coverage() throws {
        let entries = try Self.entries()
        try #require(entries.count > 30)
        let missing = Set(entries.filter { GGMLType(rawValue: UInt32($0.id)) == nil }.map(\.name))
        #expect(missing == Self.knownMissing)
    }
}
