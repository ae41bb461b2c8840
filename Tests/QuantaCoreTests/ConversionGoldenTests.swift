import Foundation
import Testing
@testable import QuantaCore

/// DTypeConversion against torch's casts (fixtures/make_safetensors.py, torch 2.15.0 with the
/// scalar CPU kernels), compared bit for bit, NaNs included.
@Suite("Conversions vs torch goldens")
struct ConversionGoldenTests {
    static func golden(_ name: String) throws -> [UInt8] {
        let path = FixturePaths.fixture("safetensors/conversions/\(name)")
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Converts `source` (count elements of `from`) with DTypeConversion.
    static func convert(_ source: [UInt8], from: DType, to: DType) throws -> [UInt8] {
        let count = source.count / from.byteSize
        var output = [UInt8](repeating: 0xAA, count: count * to.byteSize)
        try source.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { out in
                try DTypeConversion.convert(input, from: from, into: out, to: to, count: count)
            }
        }
        return output
    }

    /// First few mismatching elements, described with the input bits, for a readable failure.
    static func mismatches(_ actual: [UInt8], _ expected: [UInt8], input: [UInt8], from: DType, to: DType) -> [String] {
        var found: [String] = []
        let count = expected.count / to.byteSize
        for i in 0 ..< count {
            let a = actual[i * to.byteSize ..< (i + 1) * to.byteSize]
            let e = expected[i * to.byteSize ..< (i + 1) * to.byteSize]
            if a != e {
                let inBytes = input[i * from.byteSize ..< (i + 1) * from.byteSize]
                found.append("#\(i) in=\(hex(inBytes)) got=\(hex(a)) torch=\(hex(e))")
                if found.count == 8 { break }
            }
        }
        return found
    }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        "0x" + bytes.reversed().map { String(format: "%02x", $0) }.joined()
    }

    @Test("f32 → narrow float", arguments: [
        (DType.bf16, "f32_to_bf16.bin"), (.f16, "f32_to_f16.bin"),
        (.f8e4m3, "f32_to_f8e4m3.bin"), (.f8e5m2, "f32_to_f8e5m2.bin"),
    ])
    func narrowFromF32(target: DType, file: String) throws {
        let input = try Self.golden("f32_inputs.bin")
        let expected = try Self.golden(file)
        #expect(input.count / 4 == expected.count / target.byteSize)
        let actual = try Self.convert(input, from: .f32, to: target)
        let bad = Self.mismatches(actual, expected, input: input, from: .f32, to: target)
        #expect(bad.isEmpty, "\(target.rawValue): \(bad.joined(separator: "; "))")
    }

    @Test("f64 → f32 / f16 / bf16", arguments: [
        (DType.f32, "f64_to_f32.bin"), (.f16, "f64_to_f16.bin"), (.bf16, "f64_to_bf16.bin"),
    ])
    func fromF64(target: DType, file: String) throws {
        let input = try Self.golden("f64_inputs.bin")
        let expected = try Self.golden(file)
        let actual = try Self.convert(input, from: .f64, to: target)
        let bad = Self.mismatches(actual, expected, input: input, from: .f64, to: target)
        #expect(bad.isEmpty, "\(target.rawValue): \(bad.joined(separator: "; "))")
    }

    @Test("every narrow bit pattern → f32", arguments: [
        (DType.bf16, "bf16_all_to_f32.bin"), (.f16, "f16_all_to_f32.bin"),
        (.f8e4m3, "f8e4m3_all_to_f32.bin"), (.f8e5m2, "f8e5m2_all_to_f32.bin"),
    ])
    func widenToF32(source: DType, file: String) throws {
        let patterns = 1 << (8 * source.byteSize)
        var input: [UInt8] = []
        input.reserveCapacity(patterns * source.byteSize)
        for pattern in 0 ..< patterns {
            input.append(UInt8(pattern & 0xFF))
            if source.byteSize == 2 { input.append(UInt8(pattern >> 8)) }
        }
        let expected = try Self.golden(file)
        #expect(expected.count == patterns * 4)
        let actual = try Self.convert(input, from: source, to: .f32)
        let bad = Self.mismatches(actual, expected, input: input, from: source, to: .f32)
        #expect(bad.isEmpty, "\(source.rawValue): \(bad.joined(separator: "; "))")
    }

    @Test("scalar FloatBits agree with the bulk path on the f32 goldens")
    func scalarMatchesBulk() throws {
        let input = try Self.golden("f32_inputs.bin")
        let bf16 = try Self.golden("f32_to_bf16.bin")
        let f16 = try Self.golden("f32_to_f16.bin")
        var bad: [String] = []
        for i in 0 ..< input.count / 4 {
            let bits = UInt32(input[4 * i]) | UInt32(input[4 * i + 1]) << 8 | UInt32(input[4 * i + 2]) << 16 | UInt32(input[4 * i + 3]) << 24
            let value = Float(bitPattern: bits)
            let wantBF16 = UInt16(bf16[2 * i]) | UInt16(bf16[2 * i + 1]) << 8
            let wantF16 = UInt16(f16[2 * i]) | UInt16(f16[2 * i + 1]) << 8
            if FloatBits.floatToBF16(value) != wantBF16 || FloatBits.floatToF16(value) != wantF16 {
                bad.append(String(format: "#%d 0x%08x", i, bits))
                if bad.count == 8 { break }
            }
        }
        #expect(bad.isEmpty, "\(bad)")
    }
}
