import Foundation
import Testing
import QuantaCore
import QuantaGraph
@testable import QuantaQuant

/// Byte-exact goldens against bitsandbytes 0.50.2 (fixtures/make_bnb.py).
@Suite struct BitsAndBytesCodecTests {
    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    static func encode(_ c: Bnb4BitCase) throws -> QuantizedTensor {
        let input = try BnbFixtures.values(try c.file("input"), dtype: c.dtype)
        return try input.withUnsafeBufferPointer {
            try BitsAndBytesEncoder.fourBit($0, shape: c.shape, kind: c.kind, blockSize: c.blockSize, doubleQuant: c.doubleQuant,
                                            dtype: c.dtype, computeDType: "float32")
        }
    }

    static func componentBytes(_ q: QuantizedTensor, _ name: String) throws -> [UInt8] {
        let view = try #require(q.component(name), "component \(name)")
        return view.withUnsafeBytes { Array($0) }
    }

    @Test("quantize_4bit bytes: packed nibbles, absmax, maps, nested absmax, quant_state", arguments: Bnb4BitCase.names)
    func fourBitEncodeIsByteIdentical(name: String) throws {
        let c = try Bnb4BitCase.named(name)
        let q = try Self.encode(c)
        let names = BitsAndBytesLayout.fourBitComponents
        #expect(try Self.componentBytes(q, names.weight) == BnbFixtures.bytes(try c.file("packed")))
        #expect(try Self.componentBytes(q, names.absmax) == BnbFixtures.bytes(try c.file("absmax")))
        #expect(try Self.componentBytes(q, names.quantMap) == BnbFixtures.bytes(try c.file("quant_map")))
        let state = try Self.componentBytes(q, BitsAndBytesLayout.quantStateComponent(c.kind))
        let expectedState = try BnbFixtures.bytes(try c.file("quant_state"))
        #expect(String(decoding: state, as: UTF8.self) == String(decoding: expectedState, as: UTF8.self))
        if c.doubleQuant {
            #expect(try Self.componentBytes(q, names.nestedAbsmax) == BnbFixtures.bytes(try c.file("nested_absmax")))
            #expect(try Self.componentBytes(q, names.nestedQuantMap) == BnbFixtures.bytes(try c.file("nested_quant_map")))
        } else {
            #expect(q.component(names.nestedAbsmax) == nil)
        }
        let packedShape = try #require(c.entry["packed_shape"]?.arrayValue?.compactMap({ $0.intValue }))
        #expect(q.component(names.weight)?.shape == packedShape)
    }

    @Test("dequantize_4bit of bitsandbytes' own bytes, in the weight's dtype", arguments: Bnb4BitCase.names)
    func fourBitDecodeMatches(name: String) throws {
        let c = try Bnb4BitCase.named(name)
        // Rebuild the tensor from the fixture files, not from our encoder.
        let names = BitsAndBytesLayout.fourBitComponents
        func view(_ key: String, _ dtype: DType) throws -> TensorView {
            let raw = try BnbFixtures.bytes(try c.file(key))
            return try raw.withUnsafeBytes { try TensorView.copying($0, dtype: dtype, shape: [raw.count / dtype.byteSize]) }
        }
        var components: [(name: String, view: TensorView)] = [
            (names.weight, try view("packed", .u8)), (names.absmax, try view("absmax", c.doubleQuant ? .u8 : .f32)),
            (names.quantMap, try view("quant_map", .f32)),
            (BitsAndBytesLayout.quantStateComponent(c.kind), try view("quant_state", .u8)),
        ]
        if c.doubleQuant {
            components += [(names.nestedAbsmax, try view("nested_absmax", .f32)), (names.nestedQuantMap, try view("nested_quant_map", .f32))]
        }
        let q = QuantizedTensor(scheme: .bnb4(kind: c.kind, blockSize: c.blockSize, doubleQuant: c.doubleQuant, computeDType: "float32"),
                                shape: c.shape, components: components)
        let ours = try BnbTensorDecoder.decode(q, name: c.name)
        let expected = try BnbFixtures.values(try c.file("dequant"), dtype: c.dtype)
        #expect(Self.bits(ours) == Self.bits(expected))
    }

    @Test("code tables equal get_4bit_type and create_dynamic_map")
    func codeTables() throws {
        #expect(Self.bits(BnbCodeTables.dynamic) == Self.bits(try BnbFixtures.floats("dynamic_map.f32")))
        let nf4 = try #require(try Bnb4BitCase.all().first { $0.kind == .nf4 })
        let fp4 = try #require(try Bnb4BitCase.all().first { $0.kind == .fp4 })
        #expect(Self.bits(BnbCodeTables.nf4) == Self.bits(try BnbFixtures.floats(try nf4.file("quant_map"))))
        #expect(Self.bits(BnbCodeTables.fp4) == Self.bits(try BnbFixtures.floats(try fp4.file("quant_map"))))
    }

    @Test("int8_vectorwise_quant and int8_vectorwise_dequant", arguments: ["f32", "f16", "bf16"])
    func int8Rows(dtypeName: String) throws {
        let entry = try #require(try BnbFixtures.entries().first { $0["case"]?.stringValue == "weight-\(dtypeName)" })
        let shape = try #require(entry["shape"]?.arrayValue?.compactMap({ $0.intValue }))
        let input = try BnbFixtures.values(try #require(entry["input"]?.stringValue), dtype: try BnbFixtures.dtype(dtypeName))
        var weights = [Int8](repeating: 0, count: input.count)
        var scales = [Float](repeating: 0, count: shape[0])
        try input.withUnsafeBufferPointer { x in
            try weights.withUnsafeMutableBufferPointer { w in
                try scales.withUnsafeMutableBufferPointer { s in
                    try BnbInt8Codec.quantizeRows(x, rows: shape[0], columns: shape[1], weights: w, scales: s)
                }
            }
        }
        let expectedCB = try BnbFixtures.bytes(try #require(entry["CB"]?.stringValue))
        let firstDifference = weights.indices.first { UInt8(bitPattern: weights[$0]) != expectedCB[$0] }
        #expect(firstDifference == nil, "first difference at \(firstDifference ?? -1): input \(firstDifference.map { input[$0] } ?? 0), ours \(firstDifference.map { weights[$0] } ?? 0), theirs \(firstDifference.map { Int8(bitPattern: expectedCB[$0]) } ?? 0)")
        #expect(Self.bits(scales) == Self.bits(try BnbFixtures.floats(try #require(entry["SCB"]?.stringValue))))
        var dequant = [Float](repeating: 0, count: input.count)
        try weights.withUnsafeBufferPointer { w in
            try scales.withUnsafeBufferPointer { s in
                try dequant.withUnsafeMutableBufferPointer { out in
                    try BnbInt8Codec.dequantizeRows(weights: w, scales: s, rows: shape[0], columns: shape[1], into: out)
                }
            }
        }
        #expect(Self.bits(dequant) == Self.bits(try BnbFixtures.floats(try #require(entry["dequant"]?.stringValue))))
    }

    @Test("the double-quant offset is torch's mean, bit for bit, for every fixture")
    func doubleQuantOffset() throws {
        for c in try Bnb4BitCase.all() where c.doubleQuant {
            let q = try Self.encode(c)
            let state = try BnbTensorDecoder.quantState(q, kind: c.kind, name: c.name)
            let expected = try #require(c.entry["nested_offset_f32_bits"]?.intValue)
            #expect(state.nested?.offset.bitPattern == UInt32(expected), "\(c.name)")
        }
    }

    @Test("torch's cascade sum: order-sensitive inputs stay deterministic and split per thread above 32768")
    func cascadeSumStructure() {
        // 1 + 2^-24 · n: adding the small values one by one to 1 loses them all; the cascade keeps them.
        let values = [Float(1)] + [Float](repeating: .ulpOfOne / 2, count: 4095)
        let sum = values.withUnsafeBufferPointer { TorchFloatSum.sum($0, threads: 1) }
        #expect(sum > 1)
        let big = (0 ..< 40000).map { Float($0 % 7) * 0.1 }
        let one = big.withUnsafeBufferPointer { TorchFloatSum.sum($0, threads: 1) }
        let two = big.withUnsafeBufferPointer { TorchFloatSum.sum($0, threads: 2) }
        #expect(abs(one - two) < 1e-1)
    }
}

/// Quant state parsing and Python float formatting.
@Suite struct BitsAndBytesQuantStateTests {
    @Test("Python float repr", arguments: [
        (0.1, "0.1"), (1e-05, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"), (123.0, "123.0"), (-2.5e-07, "-2.5e-07"),
        (0.13842013478279114, "0.13842013478279114"), (1234567890123456.0, "1234567890123456.0"),
    ])
    func pythonRepr(value: Double, text: String) {
        #expect(BitsAndBytesLayout.pythonFloatRepr(value) == text)
    }

    @Test("hostile quant_state JSON is rejected with the tensor's name", arguments: [
        "{", "[]", "{\"quant_type\": \"nf5\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2]}",
        "{\"quant_type\": \"nf4\", \"blocksize\": 48, \"dtype\": \"float32\", \"shape\": [2]}",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"int8\", \"shape\": [2]}",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [-2]}",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [4611686018427387904, 4]}",
        "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [2], \"nested_blocksize\": 256}",
    ])
    func hostileState(json: String) {
        #expect(throws: (any Error).self) { try BitsAndBytesLayout.QuantState(bytes: Array(json.utf8), tensor: "x.weight") }
    }

    @Test("a quant_state round-trips through encoded()")
    func roundTrip() throws {
        let state = BitsAndBytesLayout.QuantState(quantType: .fp4, blockSize: 128, dtype: "bfloat16", shape: [3, 5],
                                                  nested: .init(blockSize: 256, dtype: "float32", offset: 0.0123))
        #expect(try BitsAndBytesLayout.QuantState(bytes: state.encoded(), tensor: "t") == state)
    }

    @Test("decoding refuses components that do not fit the state")
    func mismatchedComponents() throws {
        let values = [Float](repeating: 0.5, count: 128)
        let good = try values.withUnsafeBufferPointer {
            try BitsAndBytesEncoder.fourBit($0, shape: [2, 64], kind: .nf4, blockSize: 64, doubleQuant: true, dtype: .f32, computeDType: "float32")
        }
        #expect(try BnbTensorDecoder.decode(good, name: "t") == values)
        var bad = good
        bad.components.removeAll { $0.name == BitsAndBytesLayout.fourBitComponents.nestedAbsmax }
        #expect(throws: (any Error).self) { try BnbTensorDecoder.decode(bad, name: "t") }
        var truncated = good
        truncated.components[0].view = try [UInt8](repeating: 0, count: 10).withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: [10]) }
        #expect(throws: (any Error).self) { try BnbTensorDecoder.decode(truncated, name: "t") }
    }
}
