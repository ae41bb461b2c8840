import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import Testing
@testable import QuantaQuant

/// One case of fixtures/gptq (made by fixtures/make_gptq.py with GPTQModel 7.7.0's packer).
struct GPTQFixtureCase: Sendable, CustomStringConvertible {
    let name: String
    let bits: Int
    let groupSize: Int
    let inputs: Int
    let outputs: Int
    let groups: Int
    var description: String { name }

    static let all: [GPTQFixtureCase] = {
        guard let data = FileManager.default.contents(atPath: FixturePaths.fixture("gptq/manifest.json")),
              let root = try? JSONParser.parse([UInt8](data), context: "gptq/manifest.json"),
              case let .array(items) = root else { return [] }
        return items.compactMap { item in
            guard let name = item["name"]?.stringValue, let bits = item["bits"]?.intValue,
                  let g = item["group_size"]?.intValue, let i = item["in_features"]?.intValue,
                  let o = item["out_features"]?.intValue, let groups = item["groups"]?.intValue else { return nil }
            return GPTQFixtureCase(name: name, bits: bits, groupSize: g, inputs: i, outputs: o, groups: groups)
        }
    }()

    func file() throws -> SafetensorsFile { try SafetensorsFile(path: FixturePaths.fixture("gptq/\(name).safetensors")) }
}

extension SafetensorsFile {
    func view(_ name: String) throws -> TensorView { try #require(tensor(named: name)).view }
}

@Suite("GPTQ packing (against GPTQModel 7.7)")
struct GPTQPackingTests {
    @Test("the fixture manifest lists every case")
    func manifest() {
        #expect(GPTQFixtureCase.all.count == 8)
        #expect(Set(GPTQFixtureCase.all.map(\.bits)) == [2, 3, 4, 8])
    }

    @Test("qweight equals GPTQModel's pack_block, and unpacks to the codes", arguments: GPTQFixtureCase.all)
    func qweight(_ c: GPTQFixtureCase) throws {
        let file = try c.file()
        let codes = try file.view("codes").withUnsafeBytes { Array($0.bindMemory(to: UInt8.self)) }
        let reference = GPTQTensorDecoder.ints(try file.view("qweight"))
        let packed = GPTQPacking.packWeights(codes, rows: c.outputs, columns: c.inputs, bits: c.bits)
        #expect(packed == reference)
        let unpacked = reference.withUnsafeBufferPointer { GPTQPacking.unpackWeights($0, rows: c.outputs, columns: c.inputs, bits: c.bits) }
        #expect(unpacked == codes)
    }

    @Test("qzeros (v1, zero − 1) read back as GPTQModel's zero points", arguments: GPTQFixtureCase.all)
    func qzerosRead(_ c: GPTQFixtureCase) throws {
        let file = try c.file()
        let zeros = try file.view("zeros").withUnsafeBytes { Array($0.bindMemory(to: UInt8.self)) }
        let stored = GPTQTensorDecoder.ints(try file.view("qzeros"))
        let read = stored.withUnsafeBufferPointer { GPTQPacking.unpackZeros($0, groups: c.groups, rows: c.outputs, bits: c.bits) }
        #expect(read == zeros)
    }

    @Test("qzeros written equal GPTQModel's whenever no zero point is 0", arguments: GPTQFixtureCase.all)
    func qzerosWrite(_ c: GPTQFixtureCase) throws {
        let file = try c.file()
        let zeros = try file.view("zeros").withUnsafeBytes { Array($0.bindMemory(to: UInt8.self)) }
        let stored = GPTQTensorDecoder.ints(try file.view("qzeros"))
        let packed = GPTQPacking.packZeros(zeros, groups: c.groups, rows: c.outputs, bits: c.bits)
        if zeros.contains(0) {
            // GPTQModel subtracts 0x…1111 from the whole word: a zero of 0 borrows from its neighbour.
            // Quanta never writes a zero of 0 (GPTQGrid keeps asymmetric zeros ≥ 1); this case pins
            // that the two conventions really differ here, so reading must follow GPTQModel's.
            #expect(packed != stored)
        } else {
            #expect(packed == stored)
        }
    }

    @Test("decoding the stored components equals GPTQModel's dequantize_weight", arguments: GPTQFixtureCase.all)
    func decode(_ c: GPTQFixtureCase) throws {
        let file = try c.file()
        let tensor = QuantizedTensor(scheme: .gptq(bits: c.bits, groupSize: c.groupSize, sym: false, descAct: c.name.hasPrefix("actorder")),
                                     shape: [c.outputs, c.inputs],
                                     components: [("qweight", try file.view("qweight")), ("qzeros", try file.view("qzeros")),
                                                  ("scales", try file.view("scales")), ("g_idx", try file.view("g_idx"))])
        let values = try GPTQTensorDecoder.decode(tensor, name: c.name)
        // GPTQModel returns float16 [in, out]; our f32 values are exact (f16 scale × small integer).
        let reference = try file.view("dequant").withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        var mismatches = 0
        for o in 0 ..< c.outputs {
            for i in 0 ..< c.inputs where Float16(values[o * c.inputs + i]).bitPattern != reference[i * c.outputs + o] { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("pack → unpack round trips random codes and zeros", arguments: [2, 3, 4, 8])
    func roundTrip(bits: Int) {
        var generator = SplitMix64(seed: UInt64(bits))
        let rows = 64, columns = 96, groups = 3
        let maxq = UInt64((1 << bits) - 1)
        let codes = (0 ..< rows * columns).map { _ in UInt8(generator.next() % (maxq + 1)) }
        let zeros = (0 ..< groups * rows).map { _ in UInt8(generator.next() % (maxq + 1)) }
        let packed = GPTQPacking.packWeights(codes, rows: rows, columns: columns, bits: bits)
        #expect(packed.count == columns * bits / 32 * rows)
        #expect(packed.withUnsafeBufferPointer { GPTQPacking.unpackWeights($0, rows: rows, columns: columns, bits: bits) } == codes)
        // Zero points ≥ 1 round-trip through any reader; 0 is covered by the GPTQModel case above.
        let positive = zeros.map { max($0, 1) }
        let packedZeros = GPTQPacking.packZeros(positive, groups: groups, rows: rows, bits: bits)
        #expect(packedZeros.withUnsafeBufferPointer { GPTQPacking.unpackZeros($0, groups: groups, rows: rows, bits: bits) } == positive)
    }

    @Test("3-bit codes straddle words as 10 | 1 | 10 | 1 | 10")
    func threeBitInterleave() {
        // One input run of 32 values: code 7 only at input 10, then only at input 21.
        var codes = [UInt8](repeating: 0, count: 32)
        codes[10] = 7
        var words = GPTQPacking.packWeights(codes, rows: 1, columns: 32, bits: 3).map { UInt32(bitPattern: $0) }
        #expect(words == [0xC000_0000, 0x0000_0001, 0])
        codes[10] = 0
        codes[21] = 7
        words = GPTQPacking.packWeights(codes, rows: 1, columns: 32, bits: 3).map { UInt32(bitPattern: $0) }
        #expect(words == [0, 0x8000_0000, 0x0000_0003])
    }

    @Test("shapes the layout cannot hold are refused by name")
    func notPackable() {
        #expect(throws: GPTQError.self) { try GPTQPacking.checkPackable(rows: 64, columns: 48, bits: 4, name: "x") }
        #expect(throws: GPTQError.self) { try GPTQPacking.checkPackable(rows: 16, columns: 64, bits: 3, name: "x") }
        #expect(throws: GPTQError.self) { try GPTQPacking.checkPackable(rows: 64, columns: 64, bits: 5, name: "x") }
        #expect(throws: Never.self) { try GPTQPacking.checkPackable(rows: 16, columns: 64, bits: 4, name: "x") }
    }

    @Test("decode refuses a g_idx that names a missing group")
    func badGroupIndex() throws {
        let c = try #require(GPTQFixtureCase.all.first { $0.name == "natural-4bit" })
        let file = try c.file()
        var gIdx = GPTQTensorDecoder.ints(try file.view("g_idx"))
        gIdx[5] = Int32(c.groups)
        let badView = try gIdx.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [c.inputs]) }
        let tensor = QuantizedTensor(scheme: .gptq(bits: 4, groupSize: 32, sym: false, descAct: false), shape: [c.outputs, c.inputs],
                                     components: [("qweight", try file.view("qweight")), ("qzeros", try file.view("qzeros")),
                                                  ("scales", try file.view("scales")), ("g_idx", badView)])
        #expect(throws: GPTQError.self) { _ = try GPTQTensorDecoder.decode(tensor, name: "bad") }
    }
}

extension SplitMix64 {
    /// Uniform in [−1, 1), for test data.
    mutating func signedUnit() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
