import Foundation
import QuantaCore
import QuantaFormats
import QuantaKit
import QuantaQuant
import Testing

/// The grid IQ types end to end: gguf-py's random blocks (fixtures/ggml, 20 super-blocks per type)
/// in a GGUF read back by the GGUF reader and decoded, then converted with `--dequantize` to f32 and
/// bf16 safetensors and to an F32 GGUF; every value must be gguf-py's (rounded once for bf16).
@Suite("IQ grid types: read, decode, convert")
struct IQConversionTests {
    static let types: [GGMLType] = [.iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s]
    static let rows = 20, columns = 256
    static let tensorName = "blk.0.ffn_down.weight"
    /// Its Hugging Face name, which safetensors outputs of a llama GGUF use.
    static let huggingFaceName = "model.layers.0.mlp.down_proj.weight"

    static func fixture(_ type: GGMLType) throws -> (blocks: [UInt8], values: [UInt32]) {
        let blocks = try Array(Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("ggml/dequant/\(type.name)-random.blocks"))))
        let raw = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("ggml/dequant/\(type.name)-random.f32")))
        let values = raw.withUnsafeBytes { b in
            (0 ..< raw.count / 4).map { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        return (blocks, values)
    }

    /// A one-layer llama GGUF (the hyperparameters GGUFImport needs around a [20, 256] ffn_down; two heads of 10) holding
    /// the fixture blocks; our GGUF writer only assembles the input file.
    static func file(_ type: GGMLType, blocks: [UInt8], in scratch: String) throws -> String {
        var writer = GGUFWriter()
        try writer.addMetadata("general.name", .string("\(type.name) fixture"))
        try writer.addMetadata("general.architecture", .string("llama"))
        for (key, value) in [("block_count", 1), ("embedding_length", rows), ("feed_forward_length", columns),
                             ("attention.head_count", 2), ("attention.head_count_kv", 2), ("vocab_size", 32)] {
            try writer.addMetadata("llama.\(key)", .uint32(UInt32(value)))
        }
        try writer.addTensor(name: tensorName, type: type, shape: [rows, columns], data: .bytes(blocks))
        let path = scratch + "/\(type.name).gguf"
        try writer.write(to: path)
        return path
    }

    @Test("the GGUF reader returns the blocks and GGMLCodec decodes them as gguf-py", arguments: types)
    func readAndDecode(type: GGMLType) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (blocks, expected) = try Self.fixture(type)
        try #require(blocks.count == Self.rows * type.blockBytes && expected.count == Self.rows * Self.columns)
        let gguf = try GGUFFile(path: try Self.file(type, blocks: blocks, in: scratch))
        let info = try gguf.requiredTensor(Self.tensorName)
        #expect(info.type == type && info.shape == [Self.rows, Self.columns] && info.byteCount == blocks.count)
        let decoded = try info.withUnsafeBytes { raw in
            #expect(Array(raw) == blocks)
            return try GGMLCodec.dequantize(type, bytes: raw, count: info.elementCount)
        }
        #expect(decoded.map(\.bitPattern) == expected, "\(type.name)")
    }

    @Test("convert --dequantize: f32 and bf16 safetensors and an F32 GGUF hold gguf-py's values", arguments: types)
    func convert(type: GGMLType) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (blocks, expected) = try Self.fixture(type)
        let input = try Self.file(type, blocks: blocks, in: scratch)

        _ = try Converter.convert(input: input, output: scratch + "/f32.safetensors",
                                  options: ConvertOptions(from: nil, to: .safetensors, dequantize: true))
        let f32 = try #require(try SafetensorsFile(path: scratch + "/f32.safetensors").tensor(named: Self.huggingFaceName)).view
        #expect(f32.dtype == .f32 && f32.shape == [Self.rows, Self.columns])
        #expect(f32.floats().map(\.bitPattern) == expected, "\(type.name) → f32")

        // bf16, not f16: the fixture's scales span the whole f16 range, so some values exceed 65504
        // (and the converter rightly refuses to write them as f16).
        _ = try Converter.convert(input: input, output: scratch + "/bf16.safetensors",
                                  options: ConvertOptions(from: nil, to: .safetensors, dtype: .bf16, dequantize: true))
        let bf16 = try #require(try SafetensorsFile(path: scratch + "/bf16.safetensors").tensor(named: Self.huggingFaceName)).view
        let halves = bf16.withUnsafeBytes { raw in
            (0 ..< bf16.elementCount).map { UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        }
        #expect(bf16.dtype == .bf16 && halves == expected.map { FloatBits.floatToBF16(Float(bitPattern: $0)) }, "\(type.name) → bf16")

        var toGGUF = ConvertOptions(from: nil, to: .gguf, dequantize: true)
        toGGUF.noTokenizer = true   // the blocks file has no tokenizer
        _ = try Converter.convert(input: input, output: scratch + "/f32.gguf", options: toGGUF)
        let written = try GGUFFile(path: scratch + "/f32.gguf")
        let info = try written.requiredTensor(Self.tensorName)
        #expect(info.type == .f32 && info.shape == [Self.rows, Self.columns])
        #expect(try written.view(of: info).floats().map(\.bitPattern) == expected, "\(type.name) → F32 GGUF")
    }
}
