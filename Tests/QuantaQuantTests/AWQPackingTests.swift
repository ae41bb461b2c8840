import QuantaCore
import QuantaGraph
import QuantaQuant
import Testing

/// The AWQ GEMM layout: AutoAWQ's interleaved packing order, transposed orientation, decoding.
@Suite("AWQ GEMM packing")
struct AWQPackingTests {
    @Test("outputs 0…7 of one input pack into 0x75316420 (field j holds output ORDER[j] = 0,2,4,6,1,3,5,7)")
    func pinnedWord() {
        let values: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7]
        let packed = values.withUnsafeBufferPointer { AWQPacking.pack($0, rows: 1, columns: 8) }
        #expect(packed == [Int32(bitPattern: 0x7531_6420)])
        #expect(AWQPacking.order == [0, 2, 4, 6, 1, 3, 5, 7])
        for j in 0 ..< 8 { #expect(AWQPacking.order[AWQPacking.reverseOrder[j]] == j) }
    }

    @Test("pack → read back every value", arguments: [(1, 8), (3, 16), (5, 64)])
    func roundTrip(rows: Int, columns: Int) {
        var generator = SplitMix64(seed: UInt64(rows * 1000 + columns))
        let values = (0 ..< rows * columns).map { _ in UInt8(generator.next() % 16) }
        let packed = values.withUnsafeBufferPointer { AWQPacking.pack($0, rows: rows, columns: columns) }
        #expect(packed.count == rows * columns / 8)
        packed.withUnsafeBytes { raw in
            for r in 0 ..< rows {
                for c in 0 ..< columns {
                    #expect(AWQPacking.value(raw.baseAddress! + r * columns / 2, column: c) == Int(values[r * columns + c]))
                }
            }
        }
    }

    static func quantizedSample(rows: Int, columns: Int, groupSize: Int, seed: UInt64) -> AWQQuantizedWeight {
        var generator = SplitMix64(seed: seed)
        let weights = (0 ..< rows * columns).map { _ in Float(Int(generator.next() % 2001) - 1000) / 700 }
        return weights.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: rows, columns: columns, groupSize: groupSize) }
    }

    @Test("layout: qweight int32 [in, out/8], qzeros int32 [in/g, out/8], scales f16 [in/g, out]; decoder = dequantized()")
    func layoutAndDecode() throws {
        let q = Self.quantizedSample(rows: 24, columns: 64, groupSize: 16, seed: 3)
        let components = try AWQPacking.components(q)
        #expect(components.map(\.name) == ["qweight", "qzeros", "scales"])
        #expect(components[0].view.dtype == .i32 && components[0].view.shape == [64, 3])
        #expect(components[1].view.dtype == .i32 && components[1].view.shape == [4, 3])
        #expect(components[2].view.dtype == .f16 && components[2].view.shape == [4, 24])
        let tensor = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 16), shape: [24, 64], components: components)
        let decoded = try AWQTensorDecoder.decode(tensor, name: "w")
        let expected = q.dequantized()
        #expect(decoded.map(\.bitPattern) == expected.map(\.bitPattern))
        // Row o, input i sits at qweight[i, o / 8] field reverseOrder[o % 8].
        try components[0].view.withUnsafeBytes { raw in
            let base = try #require(raw.baseAddress)
            for (o, i) in [(0, 0), (5, 17), (23, 63), (9, 40)] {
                #expect(AWQPacking.value(base + i * 12, column: o) == Int(q.codes[o * 64 + i]))
            }
        }
    }

    @Test("the decoder refuses components of the wrong shape or dtype, naming them")
    func decoderRefusesBadComponents() throws {
        let q = Self.quantizedSample(rows: 16, columns: 32, groupSize: 16, seed: 4)
        var components = try AWQPacking.components(q)
        let good = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 16), shape: [16, 32], components: components)
        #expect(throws: Never.self) { _ = try AWQTensorDecoder.decode(good, name: "w") }
        let wrongShape = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 16), shape: [16, 64], components: components)
        #expect(throws: AWQError.self) { _ = try AWQTensorDecoder.decode(wrongShape, name: "w") }
        let wrongGroup = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 8), shape: [16, 32], components: components)
        #expect(throws: AWQError.self) { _ = try AWQTensorDecoder.decode(wrongGroup, name: "w") }
        components[2] = ("scales", try TensorView.float32([Float](repeating: 1, count: 16), shape: [1, 16]))
        let badScales = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 16), shape: [16, 32], components: components)
        do {
            _ = try AWQTensorDecoder.decode(badScales, name: "model.x.weight")
            Issue.record("expected an error")
        } catch let error as AWQError {
            #expect(error.description.contains("scales") && error.description.contains("model.x.weight"))
        }
        let missing = QuantizedTensor(scheme: .awq(bits: 4, groupSize: 16), shape: [16, 32], components: Array(components.prefix(1)))
        #expect(throws: AWQError.self) { _ = try AWQTensorDecoder.decode(missing, name: "w") }
    }
}

