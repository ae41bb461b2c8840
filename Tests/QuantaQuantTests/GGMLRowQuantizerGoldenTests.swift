import Foundation
import QuantaCore
import QuantaFormats
@testable import QuantaQuant
import Testing

/// One case of fixtures/ggml-quantize/manifest.json: rows quantized by llama.cpp's own
/// `ggml_quantize_chunk` (fixtures/make_ggml_quantize.py, llama-cpp-python 0.3.36's llama.cpp).
struct RowQuantizeCase: Sendable, CustomStringConvertible {
    let type: GGMLType
    let name: String
    let rows: Int
    let rowLength: Int
    let input: String
    let importance: String?
    let blocks: String
    var description: String { "\(type.name)/\(name)\(importance == nil ? "" : "+imatrix") [\(rows)×\(rowLength)]" }

    static func all() throws -> [RowQuantizeCase] {
        let manifest = try GGMLFixtures.bytes("../ggml-quantize/manifest.json")
        let json = try JSONParser.parse(manifest, context: "fixtures/ggml-quantize/manifest.json")
        guard let entries = json["cases"]?.arrayValue else { throw GGMLFixtures.Failure.malformed("no cases") }
        return try entries.map { entry in
            guard let typeName = entry["type"]?.stringValue, let type = GGMLType(name: typeName),
                  let name = entry["case"]?.stringValue, let rows = entry["rows"]?.intValue,
                  let rowLength = entry["rowLength"]?.intValue, let input = entry["input"]?.stringValue,
                  let blocks = entry["blocks"]?.stringValue
            else { throw GGMLFixtures.Failure.malformed("ggml-quantize entry \(JSONWriter.compact(entry))") }
            return RowQuantizeCase(type: type, name: name, rows: rows, rowLength: rowLength, input: input,
                                   importance: entry["importance"]?.stringValue, blocks: blocks)
        }
    }

    /// Our bytes for this case.
    func quantized() throws -> [UInt8] {
        let x = try GGMLFixtures.floats("../ggml-quantize/" + input)
        let weights = try importance.map { try GGMLFixtures.floats("../ggml-quantize/" + $0) }
        let rowBytes = try #require(type.byteCount(elements: rowLength))
        var out = [UInt8](repeating: 0xA5, count: rows * rowBytes)
        try x.withUnsafeBufferPointer { source in
            try out.withUnsafeMutableBytes { destination in
                if let weights {
                    try weights.withUnsafeBufferPointer { w in
                        try GGMLRowQuantizer.quantize(type, rows: rows, rowLength: rowLength, from: source,
                                                      importance: w, into: destination)
                    }
                } else {
                    try GGMLRowQuantizer.quantize(type, rows: rows, rowLength: rowLength, from: source,
                                                  importance: nil, into: destination)
                }
            }
        }
        return out
    }
}

@Suite("GGUF row quantizers against llama.cpp's ggml_quantize_chunk")
struct GGMLRowQuantizerGoldenTests {
    static let cases: [RowQuantizeCase] = (try? RowQuantizeCase.all()) ?? []

    @Test("the fixture manifest is present and covers every type llama-quantize's mixes use")
    func manifestCovers() throws {
        let types = Set(try RowQuantizeCase.all().map(\.type))
        for type in [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            #expect(types.contains(type), "no golden for \(type.name)")
        }
    }

    @Test("every golden type is quantizable with and without importance")
    func everyTypeSupported() throws {
        for type in Set(try RowQuantizeCase.all().map(\.type)).sorted(by: { $0.rawValue < $1.rawValue }) {
            #expect(GGMLRowQuantizer.canQuantize(type, importance: false), "\(type.name) without imatrix")
            #expect(GGMLRowQuantizer.canQuantize(type, importance: true), "\(type.name) with imatrix")
        }
    }

    @Test("bytes equal llama.cpp's", arguments: cases)
    func bytesMatch(_ golden: RowQuantizeCase) throws {
        try #require(GGMLRowQuantizer.canQuantize(golden.type, importance: golden.importance != nil),
                     "\(golden) is not implemented")
        let expected = try GGMLFixtures.bytes("../ggml-quantize/" + golden.blocks)
        let actual = try golden.quantized()
        if let bad = GGMLFixtures.mismatch(actual, expected) {
            let blockBytes = golden.type.blockBytes
            Issue.record("\(golden): \(bad.count) bytes differ, first at byte \(bad.first) (block \(bad.first / blockBytes), row \(bad.first / (actual.count / max(1, golden.rows))))")
        }
    }

    @Test("a wrong importance length is refused, naming the sizes")
    func importanceLength() throws {
        let x = [Float](repeating: 1, count: 256)
        let w = [Float](repeating: 1, count: 255)
        var out = [UInt8](repeating: 0, count: try #require(GGMLType.q8_0.byteCount(elements: 256)))
        #expect(throws: GGMLCodecError.self) {
            try x.withUnsafeBufferPointer { s in
                try w.withUnsafeBufferPointer { iw in
                    try out.withUnsafeMutableBytes { d in
                        try GGMLRowQuantizer.quantize(.q8_0, rows: 1, rowLength: 256, from: s, importance: iw, into: d)
                    }
                }
            }
        }
    }
}
