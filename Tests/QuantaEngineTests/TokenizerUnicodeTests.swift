import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// Our category lookups (Swift's Unicode properties) against llama.cpp's own table (src/unicode-data.cpp).
@Suite("Tokenizer unicode categories")
struct TokenizerUnicodeTests {
    /// llama.cpp's flags (category bits and the whitespace bit) for every codepoint.
    static func llamaCppFlags() throws -> [UInt16] {
        let table = try TokenizerFixtures.json("unicode/llamacpp-flags.json")
        let ranges = try #require(table["ranges"]?.arrayValue).compactMap { pair -> (Int, UInt16)? in
            guard let values = pair.arrayValue, values.count == 2, let start = values[0].intValue,
                  let flags = values[1].intValue else { return nil }
            return (start, UInt16(flags) & CodepointFlags.categoryMask)
        }
        var flags = [UInt16](repeating: CodepointFlags.undefined, count: 0x110000)
        for index in 0 ..< ranges.count - 1 {
            for value in ranges[index].0 ..< ranges[index + 1].0 { flags[value] = ranges[index].1 }
        }
        for value in try #require(table["whitespace"]?.arrayValue).compactMap(\.intValue) {
            flags[value] |= CodepointFlags.whitespace
        }
        return flags
    }

    /// Swift's stdlib knows newer Unicode than llama.cpp's table (15.1); characters assigned later must
    /// still read as unassigned, as they do in llama.cpp.
    @Test("Category and whitespace flags equal llama.cpp's table for every codepoint")
    func flagsEqualLlamaCpp() throws {
        let expected = try Self.llamaCppFlags()
        var differences: [(UInt32, UInt16, UInt16)] = []
        for value in 0 ..< UInt32(0x110000) where !(0xD800 ... 0xDFFF).contains(value) {
            let ours = CodepointFlags.of(value)
            if ours != expected[Int(value)] {
                differences.append((value, ours, expected[Int(value)]))
            }
        }
        let shown = differences.prefix(40).map { String(format: "U+%04X ours %03x llama.cpp %03x", $0.0, $0.1, $0.2) }
        #expect(differences.isEmpty, "\(differences.count) codepoints differ: \(shown)")
    }
}
