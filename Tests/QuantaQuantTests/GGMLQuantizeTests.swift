import QuantaFormats
import QuantaQuant
import Testing

/// Quantization against gguf-py 0.19.0 `gguf.quants.quantize`, byte for byte.
@Suite struct GGMLQuantizeTests {
    static let types: [GGMLType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    @Test("quantize equals gguf-py byte for byte", arguments: types)
    func matchesGGUFPy(type: GGMLType) throws {
        #expect(GGMLCodec.canQuantize(type))
        let cases = try GGMLFixtures.cases(for: type, kind: .quantize)
        try #require(!cases.isEmpty, "no quantize fixtures for \(type.name)")
        for fixture in cases {
            let input = try GGMLFixtures.floats(try #require(fixture.input))
            let expected = try GGMLFixtures.bytes(fixture.blocks)
            try #require(input.count == fixture.count)
            let actual = try input.withUnsafeBufferPointer { try GGMLCodec.quantize(type, values: $0) }
            if let (first, count) = GGMLFixtures.mismatch(actual, expected) {
                let block = first / type.blockBytes
                Issue.record("""
                    \(fixture): \(count) of \(expected.count) bytes differ; first at byte \(first) (block \(block)): \
                    got \(actual[block * type.blockBytes ..< (block + 1) * type.blockBytes].map { String($0, radix: 16) }), \
                    gguf-py \(expected[block * type.blockBytes ..< (block + 1) * type.blockBytes].map { String($0, radix: 16) })
                    """)
            }
        }
    }

    @Test("F32 quantize and dequantize keep every bit pattern")
    func f32RoundTrip() throws {
        let input = try GGMLFixtures.floats("quant/input-floatbits.f32")
        let bytes = try input.withUnsafeBufferPointer { try GGMLCodec.quantize(.f32, values: $0) }
        let back = try bytes.withUnsafeBytes { try GGMLCodec.dequantize(.f32, bytes: $0, count: input.count) }
        #expect(back.map(\.bitPattern) == input.map(\.bitPattern))
    }

    /// Quantizing across cores must give the same bytes as the fixture, tiled.
    @Test("large inputs split across cores quantize like small ones", arguments: [GGMLType.q4_0, .q8_0, .bf16])
    func parallelSplit(type: GGMLType) throws {
        let fixture = try #require(try GGMLFixtures.cases(for: type, kind: .quantize).first)
        let input = try GGMLFixtures.floats(try #require(fixture.input))
        let expected = try GGMLFixtures.bytes(fixture.blocks)
        let repeats = (1 << 20) / fixture.count + 3
        var tiled = [Float]()
        tiled.reserveCapacity(input.count * repeats)
        for _ in 0 ..< repeats { tiled += input }
        let actual = try tiled.withUnsafeBufferPointer { try GGMLCodec.quantize(type, values: $0) }
        try #require(actual.count == expected.count * repeats)
        var differing = 0
        for i in 0 ..< actual.count where actual[i] != expected[i % expected.count] { differing += 1 }
        #expect(differing == 0, "\(differing) of \(actual.count) bytes differ")
    }
}
