import QuantaFormats
import QuantaQuant
import Testing

/// Dequantization against gguf-py 0.19.0 `gguf.quants.dequantize`, bit pattern for bit pattern.
@Suite struct GGMLDequantizeTests {
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0,
                                    .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs,
                                    .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s,
                                    .tq1_0, .tq2_0, .mxfp4]

    @Test("dequantize equals gguf-py bit for bit", arguments: types)
    func matchesGGUFPy(type: GGMLType) throws {
        #expect(GGMLCodec.canDequantize(type))
        // Both the random/real-block cases and the quantizer outputs (their gguf-py dequantization).
        let cases = try GGMLFixtures.cases(for: type)
        try #require(!cases.isEmpty, "no fixtures for \(type.name)")
        for fixture in cases {
            let blocks = try GGMLFixtures.bytes(fixture.blocks)
            let expected = try GGMLFixtures.floatBits(fixture.values)
            try #require(expected.count == fixture.count)
            let actual = try blocks.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: fixture.count) }
            let bits = actual.map(\.bitPattern)
            if let (first, count) = GGMLFixtures.mismatch(bits, expected) {
                Issue.record("""
                    \(fixture): \(count) of \(fixture.count) differ; first at \(first): \
                    got \(String(bits[first], radix: 16)) (\(actual[first])), \
                    gguf-py \(String(expected[first], radix: 16)) (\(Float(bitPattern: expected[first])))
                    """)
            }
        }
    }

    /// Enough blocks to be split across cores: the tiled fixture must decode to the tiled values.
    @Test("large inputs split across cores decode like small ones", arguments: [GGMLType.q4_0, .q4_1, .q8_0, .q4_K, .q6_K, .f16, .iq2_xxs, .iq1_m])
    func parallelSplit(type: GGMLType) throws {
        let fixture = try #require(try GGMLFixtures.cases(for: type, kind: .dequantize).first)
        let blocks = try GGMLFixtures.bytes(fixture.blocks)
        let expected = try GGMLFixtures.floatBits(fixture.values)
        // Odd repeat count so the last task gets a partial range.
        let repeats = (1 << 20) / fixture.count + 3
        var tiledBlocks = [UInt8]()
        tiledBlocks.reserveCapacity(blocks.count * repeats)
        for _ in 0 ..< repeats { tiledBlocks += blocks }
        let count = fixture.count * repeats
        var output = [Float](repeating: .nan, count: count)
        try tiledBlocks.withUnsafeBytes { source in
            try output.withUnsafeMutableBufferPointer { try GGMLCodec.dequantize(type, from: source, into: $0, count: count) }
        }
        var differing = 0
        for i in 0 ..< count where output[i].bitPattern != expected[i % fixture.count] { differing += 1 }
        #expect(differing == 0, "\(differing) of \(count) elements differ")
    }
}
