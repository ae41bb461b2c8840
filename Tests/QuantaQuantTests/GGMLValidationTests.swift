import QuantaFormats
import QuantaQuant
import Testing

/// Sizes and unsupported types end in a `GGMLCodecError` naming the type and sizes.
@Suite struct GGMLValidationTests {
    @Test("count must be a whole number of blocks", arguments: [GGMLType.q4_0, .q4_K, .iq4_xs])
    func countNotBlockMultiple(type: GGMLType) {
        let count = type.blockSize + 1
        let source = [UInt8](repeating: 0, count: 2 * type.blockBytes)
        var output = [Float](repeating: 0, count: count)
        #expect(throws: GGMLCodecError.countNotBlockMultiple(type: type, count: count, blockSize: type.blockSize)) {
            try source.withUnsafeBytes { src in
                try output.withUnsafeMutableBufferPointer { try GGMLCodec.dequantize(type, from: src, into: $0, count: count) }
            }
        }
        #expect(throws: GGMLCodecError.countNotBlockMultiple(type: .q4_0, count: -32, blockSize: 32)) {
            try source.withUnsafeBytes { _ = try GGMLCodec.dequantize(.q4_0, bytes: $0, count: -32) }
        }
    }

    @Test("dequantize buffers must be exactly sized")
    func dequantizeBufferSizes() {
        let source = [UInt8](repeating: 0, count: 18 * 2 + 1)
        var output = [Float](repeating: 0, count: 64)
        #expect(throws: GGMLCodecError.bufferSizeMismatch(type: .q4_0, count: 64, buffer: "block (bytes)",
                                                          expected: 36, actual: 37)) {
            try source.withUnsafeBytes { src in
                try output.withUnsafeMutableBufferPointer { try GGMLCodec.dequantize(.q4_0, from: src, into: $0, count: 64) }
            }
        }
        let exact = [UInt8](repeating: 0, count: 36)
        var longer = [Float](repeating: 0, count: 65)
        #expect(throws: GGMLCodecError.bufferSizeMismatch(type: .q4_0, count: 64, buffer: "f32 (elements)",
                                                          expected: 64, actual: 65)) {
            try exact.withUnsafeBytes { src in
                try longer.withUnsafeMutableBufferPointer { try GGMLCodec.dequantize(.q4_0, from: src, into: $0, count: 64) }
            }
        }
    }

    @Test("quantize buffers must be exactly sized")
    func quantizeBufferSizes() {
        let input = [Float](repeating: 1, count: 32)
        var small = [UInt8](repeating: 0, count: 33)
        #expect(throws: GGMLCodecError.bufferSizeMismatch(type: .q8_0, count: 32, buffer: "block (bytes)",
                                                          expected: 34, actual: 33)) {
            try input.withUnsafeBufferPointer { src in
                try small.withUnsafeMutableBytes { try GGMLCodec.quantize(.q8_0, from: src, into: $0, count: 32) }
            }
        }
        var exact = [UInt8](repeating: 0, count: 34)
        #expect(throws: GGMLCodecError.bufferSizeMismatch(type: .q8_0, count: 64, buffer: "f32 (elements)",
                                                          expected: 64, actual: 32)) {
            var big = [UInt8](repeating: 0, count: 68)
            try input.withUnsafeBufferPointer { src in
                try big.withUnsafeMutableBytes { try GGMLCodec.quantize(.q8_0, from: src, into: $0, count: 64) }
            }
        }
        #expect(throws: Never.self) {
            try input.withUnsafeBufferPointer { src in
                try exact.withUnsafeMutableBytes { try GGMLCodec.quantize(.q8_0, from: src, into: $0, count: 32) }
            }
        }
    }

    @Test("byte size overflow is reported, not trapped")
    func overflow() {
        let count = Int.max / 2
        #expect(throws: GGMLCodecError.sizeOverflow(type: .f32, count: count)) {
            try [UInt8]().withUnsafeBytes { _ = try GGMLCodec.dequantize(.f32, bytes: $0, count: count) }
        }
        // A count far beyond the source is refused before any allocation.
        #expect(throws: GGMLCodecError.bufferSizeMismatch(type: .q4_K, count: 1 << 50, buffer: "block (bytes)",
                                                          expected: (1 << 42) * 144, actual: 144)) {
            try [UInt8](repeating: 0, count: 144).withUnsafeBytes { _ = try GGMLCodec.dequantize(.q4_K, bytes: $0, count: 1 << 50) }
        }
    }

    @Test("unsupported types are refused by name")
    func unsupported() {
        let supportedDequantize: Set<GGMLType> = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K,
                                                  .q4_K, .q5_K, .q6_K, .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s,
                                                  .iq3_xxs, .iq3_s, .iq4_nl, .iq4_xs, .tq1_0, .tq2_0, .mxfp4]
        let supportedQuantize: Set<GGMLType> = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0]
        for type in GGMLType.allCases {
            #expect(GGMLCodec.canDequantize(type) == supportedDequantize.contains(type), "\(type.name)")
            #expect(GGMLCodec.canQuantize(type) == supportedQuantize.contains(type), "\(type.name)")
        }
        #expect(throws: GGMLCodecError.unsupported(type: .q8_K, operation: "dequantize")) {
            try [UInt8](repeating: 0, count: 292).withUnsafeBytes { _ = try GGMLCodec.dequantize(.q8_K, bytes: $0, count: 256) }
        }
        #expect(throws: GGMLCodecError.unsupported(type: .q4_K, operation: "quantize")) {
            try [Float](repeating: 0, count: 256).withUnsafeBufferPointer { _ = try GGMLCodec.quantize(.q4_K, values: $0) }
        }
        let message = GGMLCodecError.bufferSizeMismatch(type: .q4_0, count: 64, buffer: "block (bytes)",
                                                        expected: 36, actual: 37).description
        #expect(message.contains("Q4_0") && message.contains("64") && message.contains("36") && message.contains("37"))
    }

    @Test("zero elements is a valid, empty call")
    func empty() throws {
        let values = try [UInt8]().withUnsafeBytes { try GGMLCodec.dequantize(.q6_K, bytes: $0, count: 0) }
        #expect(values.isEmpty)
        let bytes = try [Float]().withUnsafeBufferPointer { try GGMLCodec.quantize(.q5_1, values: $0) }
        #expect(bytes.isEmpty)
    }
}
