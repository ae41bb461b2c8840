import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import Testing
@testable import QuantaQuant

/// Every pass refuses to emit a NaN/±Inf scale or code, naming the tensor; ggml block scales are
/// found where ggml-common.h puts them.
@Suite struct NonFiniteQuantTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "(no error)"
    }

    @Test("bitsandbytes 4-bit refuses a NaN weight by name; the raw codec is unchanged for finite ones")
    func fourBitRefusesNaN() throws {
        var values = (0 ..< 128).map { Float($0 % 7) / 7 - 0.4 }
        values[70] = .nan
        let text = Self.message {
            _ = try values.withUnsafeBufferPointer {
                try BitsAndBytesEncoder.fourBit($0, shape: [2, 64], kind: .nf4, blockSize: 64, doubleQuant: true, dtype: .f32,
                                                computeDType: "float32", tensor: "model.layers.0.mlp.up_proj.weight")
            }
        }
        #expect(text.contains("model.layers.0.mlp.up_proj.weight") && text.contains("1 NaN") && text.contains("element 70"), "\(text)")
        values[70] = 0.25
        _ = try values.withUnsafeBufferPointer {
            try BitsAndBytesEncoder.fourBit($0, shape: [2, 64], kind: .fp4, blockSize: 64, doubleQuant: false, dtype: .f32,
                                            computeDType: "float32", tensor: "t")
        }
    }

    @Test("LLM.int8 refuses an infinity, and a finite weight its float16 cast turns into one")
    func int8RefusesOverflow() throws {
        for (bad, expected) in [(Float.infinity, "infinite value"), (70000, "beyond float16's range")] {
            var values = [Float](repeating: 0.5, count: 32)
            values[9] = bad
            let text = Self.message {
                _ = try values.withUnsafeBufferPointer {
                    try BitsAndBytesEncoder.int8($0, shape: [2, 16], threshold: 6, tensor: "model.layers.1.self_attn.o_proj.weight")
                }
            }
            #expect(text.contains("model.layers.1.self_attn.o_proj.weight") && text.contains(expected) && text.contains("element 9"), "\(text)")
        }
    }

    @Test("AWQ's checked quantizer refuses NaN weights and ranges a float16 scale cannot hold; otherwise it equals the kernel")
    func awqRefuses() throws {
        var values = (0 ..< 64).map { Float($0) / 10 - 3 }
        let raw = values.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 2, columns: 32, groupSize: 16) }
        let checked = try values.withUnsafeBufferPointer {
            try AWQGroupQuantizer.quantize($0.baseAddress!, rows: 2, columns: 32, groupSize: 16, tensor: "t")
        }
        #expect(raw == checked)
        values[40] = .nan
        var text = Self.message {
            _ = try values.withUnsafeBufferPointer { try AWQGroupQuantizer.quantize($0.baseAddress!, rows: 2, columns: 32, groupSize: 16, tensor: "m.q_proj.weight") }
        }
        #expect(text.contains("m.q_proj.weight") && text.contains("1 NaN") && text.contains("element 40"), "\(text)")
        values[40] = 2e6   // range / 15 > 65504
        text = Self.message {
            _ = try values.withUnsafeBufferPointer { try AWQGroupQuantizer.quantize($0.baseAddress!, rows: 2, columns: 32, groupSize: 16, tensor: "m.q_proj.weight") }
        }
        #expect(text.contains("m.q_proj.weight") && text.contains("beyond float16") && text.contains("row 1, group 0"), "\(text)")
    }

    @Test("GPTQ packing refuses a scale that is not a positive finite float16")
    func gptqPackingRefuses() throws {
        let configuration = GPTQConfiguration(bits: 4, groupSize: 32, sym: true, actOrder: false, staticGroups: false, dampPercent: 0.01)
        var linear = GPTQQuantizedLinear(rows: 8, columns: 32, configuration: configuration, codes: [UInt8](repeating: 8, count: 256),
                                         scales: [Float](repeating: 0.01, count: 8), zeros: [UInt8](repeating: 8, count: 8),
                                         groupIndex: [Int32](repeating: 0, count: 32))
        _ = try GPTQPacking.components(linear, name: "ok")
        linear.scales[3] = 1e6   // beyond float16: stored as inf
        let text = Self.message { _ = try GPTQPacking.components(linear, name: "model.layers.2.mlp.down_proj.weight") }
        #expect(text.contains("model.layers.2.mlp.down_proj.weight") && text.contains("inf"), "\(text)")
    }

    /// For every type with scale fields and a decoder: one block of arbitrary bits with its scales
    /// set to 1 decodes to finite values; with any one scale set to +inf it does not. This pins the
    /// field offsets to the decoders (which follow gguf-py).
    @Test("the block scale fields are where the decoders read them",
          arguments: GGMLType.allCases.filter { GGMLBlockScales.fields($0) != nil && GGMLCodec.canDequantize($0) })
    func scaleFieldsMatchDecoders(type: GGMLType) throws {
        let fields = try #require(GGMLBlockScales.fields(type))
        var generator = SplitMix64(seed: UInt64(type.rawValue))
        var block = (0 ..< type.blockBytes).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        func set(_ field: GGMLBlockScales.Field, _ value: Float) {
            let bits: [UInt8] = field.isFloat32 ? withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
                                                : withUnsafeBytes(of: Float16(value).bitPattern.littleEndian, Array.init)
            for (i, byte) in bits.enumerated() { block[field.offset + i] = byte }
        }
        for field in fields { set(field, 1) }
        let finite = try block.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: type.blockSize) }
        #expect(finite.allSatisfy { $0.isFinite }, "\(type.name) with unit scales")
        #expect(block.withUnsafeBytes { GGMLBlockScales.scan(type, $0) }?.nonFiniteBlocks == 0)
        for field in fields {
            for other in fields { set(other, 1) }
            set(field, .infinity)
            let decoded = try block.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: type.blockSize) }
            #expect(decoded.contains { !$0.isFinite }, "\(type.name): an infinite \(field.name) at \(field.offset) must reach the values")
            let scan = try #require(block.withUnsafeBytes { GGMLBlockScales.scan(type, $0) })
            #expect(scan.nonFiniteBlocks == 1 && scan.firstBlock == 0 && scan.firstField == field.name)
            let stats = try block.withUnsafeBytes { try GGMLBlockScales.nonFiniteStats(type, $0) }
            #expect(stats.nonFinite == decoded.filter { !$0.isFinite }.count)
        }
    }
}
