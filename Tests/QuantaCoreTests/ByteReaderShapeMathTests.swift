import Testing
@testable import QuantaCore

@Suite("ByteReader")
struct ByteReaderTests {
    static let bytes: [UInt8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xFF, 0xFE, 0x00, 0x00, 0x80, 0x3F]

    @Test func littleEndianValues() throws {
        try Self.bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var reader = ByteReader(raw, context: "t")
            #expect(try reader.u16() == 0x0201)
            #expect(try reader.u32() == 0x0605_0403)
            #expect(try reader.u16() == 0x0807)
            #expect(try reader.i16() == -257)
            try reader.seek(to: 10)
            #expect(try reader.f32() == 1.0)
            #expect(reader.isAtEnd)
            try reader.seek(to: 0)
            #expect(try reader.u64() == 0x0807_0605_0403_0201)
            #expect(try reader.i8() == -1)
            #expect(reader.remaining == 5)
        }
    }

    @Test func readingPastTheEndThrowsWithOffset() throws {
        Self.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, offset: 12, context: "hdr")
            #expect(throws: CoreError.outOfBounds(context: "hdr", offset: 12, need: 4, available: 14)) { try reader.u32() }
            // A failed read does not move the cursor.
            #expect(reader.offset == 12)
            #expect(throws: CoreError.self) { try reader.u64() }
            #expect(throws: CoreError.self) { try reader.bytes(3) }
            #expect(throws: CoreError.self) { try reader.bytes(-1) }
            #expect(throws: CoreError.self) { try reader.skip(Int.max) }
            #expect(throws: CoreError.self) { try reader.seek(to: 15) }
            #expect(throws: CoreError.self) { try reader.seek(to: -1) }
            #expect((try? reader.bytes(2))?.count == 2)
            #expect(throws: CoreError.self) { try reader.u8() }
        }
    }

    @Test func huge64BitCountsDoNotWrap() throws {
        Self.bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw, offset: 4, context: "t")
            #expect(throws: CoreError.self) { try reader.bytes(Int.max - 2) }
            #expect(throws: CoreError.self) { try reader.utf8String(Int.max) }
        }
    }

    @Test func utf8Strings() throws {
        let text: [UInt8] = Array("héllo".utf8) + [0xC3, 0x28]
        try text.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws in
            var reader = ByteReader(raw, context: "s")
            #expect(try reader.utf8String(6) == "héllo")
            #expect(throws: CoreError.self) { try reader.utf8String(2) }
        }
    }
}

@Suite("ShapeMath")
struct ShapeMathTests {
    @Test func counts() throws {
        #expect(try ShapeMath.elementCount([], context: "s") == 1)
        #expect(try ShapeMath.elementCount([0, 5], context: "s") == 0)
        #expect(try ShapeMath.elementCount([2, 3, 4], context: "s") == 24)
        #expect(try ShapeMath.byteCount([2, 3], .bf16, context: "s") == 12)
        #expect(try ShapeMath.byteCount([], .f64, context: "s") == 8)
    }

    @Test func negativeDimensionsThrow() {
        #expect(throws: CoreError.invalidShape(context: "w", shape: [2, -1])) { try ShapeMath.elementCount([2, -1], context: "w") }
    }

    @Test func overflowThrows() throws {
        #expect(throws: CoreError.self) { try ShapeMath.elementCount([1 << 32, 1 << 32], context: "w") }
        #expect(throws: CoreError.self) { try ShapeMath.elementCount([Int.max, 2], context: "w") }
        #expect(throws: CoreError.self) { try ShapeMath.byteCount([Int.max / 2 + 1], .f32, context: "w") }
        #expect(throws: CoreError.self) { try ShapeMath.multiply(Int.max, 2, context: "w") }
        #expect(throws: CoreError.self) { try ShapeMath.add(Int.max, 1, context: "w") }
        // A zero dimension anywhere makes the product zero: no overflow, as in the reference.
        #expect(try ShapeMath.elementCount([0, Int.max, Int.max], context: "w") == 0)
    }

    @Test func overflowMessageNamesTheContext() {
        do {
            _ = try ShapeMath.byteCount([Int.max, 3], .f32, context: "model.safetensors: tensor 'w'")
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("tensor 'w'"))
        }
    }
}
