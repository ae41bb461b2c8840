import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// `convert --dequantize`: checkpoints packed by the reference libraries (GPTQModel's packer,
/// fixtures/gptq and fixtures/awq; transformers + bitsandbytes, fixtures/bnb; gguf-py's Q4_K
/// blocks, fixtures/ggml) become plain float checkpoints whose tensors are the Dequantizer's values
/// (themselves tested against those libraries) rounded once to the output dtype.
@Suite("convert --dequantize")
struct DequantizeConversionTests {
    static let awq = FixturePaths.fixture("awq/tiny-llama-awq")
    /// Names a quantized layout stores its components under; none may survive dequantization.
    static let componentSuffixes = [".qweight", ".qzeros", ".scales", ".g_idx", ".absmax", ".quant_map", ".nested_absmax",
                                    ".nested_quant_map", ".SCB", ".weight_format"]

    static func bits16(_ view: TensorView) -> [UInt16] {
        view.withUnsafeBytes { raw in (0 ..< view.elementCount).map { raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self) } }
    }

    static func rounded(_ values: [Float], to dtype: DType) -> [UInt16] {
        dtype == .bf16 ? values.map(FloatBits.floatToBF16) : values.map(FloatBits.floatToF16)
    }

    static func json(_ path: String) throws -> JSONObject {
        try #require(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))), context: path).objectValue)
    }

    /// Converts `input` with `--dequantize --dtype <dtype>` and checks the output tensor by tensor
    /// against the input graph: quantized tensors are `Dequantizer.floats` rounded to `dtype`, dense
    /// float tensors are cast, no packed component is left, config.json lost only quantization_config
    /// (and took the dtype). Returns the number of tensors that were quantized.
    @discardableResult
    static func checkDequantized(_ input: String, to format: ModelFormat = .safetensors, dtype: DType = .bf16,
                                 outputName: String = "out") throws -> Int {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let output = scratch + "/" + outputName
        var notes: [String] = []
        _ = try Converter.convert(input: input, output: output,
                                  options: ConvertOptions(from: nil, to: format, dtype: dtype, dequantize: true),
                                  notify: { notes.append($0) })
        #expect(notes.isEmpty, "\(notes)")
        let source = try ModelLoader.load(path: input)
        let written = try ModelLoader.load(path: output)
        #expect(Set(written.tensors.map(\.name)) == Set(source.tensors.map(\.name)))
        #expect(!written.tensors.contains { name in componentSuffixes.contains { name.name.hasSuffix($0) } })
        var quantized = 0
        for tensor in source.tensors {
            let out = try #require(written.tensor(named: tensor.name))
            guard case let .dense(view) = out.value else { Issue.record("\(tensor.name) is not a plain tensor"); continue }
            #expect(view.shape == tensor.shape, "\(tensor.name)")
            switch tensor.value {
            case .quantized:
                quantized += 1
                #expect(view.dtype == dtype, "\(tensor.name)")
                #expect(bits16(view) == rounded(try Dequantizer.floats(tensor), to: dtype), "\(tensor.name)")
            case let .dense(original) where original.dtype.isFloatingPoint:
                #expect(view.dtype == dtype, "\(tensor.name)")
                #expect(bits16(view) == rounded(original.floats(), to: dtype), "\(tensor.name)")
            default:
                break
            }
        }
        if let config = source.config {
            // What transformers would hold after `model.dequantize()` and a dtype cast (Converter.cast's rule).
            var expected = config
            expected["quantization_config"] = nil
            let dtypeName = JSONValue.string(HuggingFaceDirectory.torchDTypeName(dtype) ?? "")
            if expected["torch_dtype"] != nil { expected["torch_dtype"] = dtypeName }
            if expected["dtype"] != nil || expected["torch_dtype"] == nil { expected["dtype"] = dtypeName }
            let got = try json(output + "/config.json")
            #expect(got["quantization_config"] == nil)
            #expect(HuggingFaceDirectory.configText(got) == HuggingFaceDirectory.configText(expected))
        }
        return quantized
    }

    // MARK: GPTQ (fixtures/gptq: GPTQModel 7.7.0's packer), one linear in a checkpoint directory

    /// A GPTQ checkpoint directory holding one fixture linear as `model.layers.0.mlp.down_proj` and a
    /// dense f32 norm. `corruptGroup`: overwrite g_idx[3] with this group number.
    static func gptqDirectory(_ name: String, in scratch: String, corruptGroup: Int32? = nil) throws -> String {
        let manifest = try #require(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("gptq/manifest.json")))),
                                                         context: "manifest").arrayValue)
        let entry = try #require(manifest.first { $0["name"]?.stringValue == name })
        let bits = try #require(entry["bits"]?.intValue), groupSize = try #require(entry["group_size"]?.intValue)
        let file = try SafetensorsFile(path: FixturePaths.fixture("gptq/\(name).safetensors"))
        let module = "model.layers.0.mlp.down_proj"
        var tensors: [(name: String, payload: TensorPayload)] = []
        for component in ["qweight", "qzeros", "scales", "g_idx"] {
            var view = try #require(file.tensor(named: component)).view
            if component == "g_idx", let corruptGroup {
                var values = view.withUnsafeBytes { raw in (0 ..< view.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) } }
                values[3] = corruptGroup
                view = try values.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: view.shape) }
            }
            tensors.append((module + "." + component, TensorPayload(view: view)))
        }
        tensors.append(("model.norm.weight", TensorPayload(view: try TensorView.float32((0 ..< 64).map { 1 + Float($0) / 3 }, shape: [64]))))
        let directory = scratch + "/gptq-" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try SafetensorsWriter.write(tensors: tensors, metadata: [("format", "pt")], to: directory + "/model.safetensors")
        let config = """
        {"dtype": "float16", "quantization_config": {"bits": \(bits), "checkpoint_format": "gptq", "desc_act": \(name.hasPrefix("actorder")),
         "group_size": \(groupSize), "quant_method": "gptq", "sym": false}}
        """
        try Data(config.utf8).write(to: URL(fileURLWithPath: directory + "/config.json"))
        return directory
    }

    @Test("GPTQ (act-order, 3-bit, ragged last group) → bf16 safetensors", arguments: ["actorder-4bit", "natural-3bit", "ragged-4bit"])
    func gptq(name: String) throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        #expect(try Self.checkDequantized(try Self.gptqDirectory(name, in: scratch)) == 1)
    }

    // MARK: AWQ and bitsandbytes checkpoints saved by their libraries

    @Test("AWQ GEMM (GPTQModel's pack_awq) → bf16 safetensors: 21 linears become plain weights")
    func awq() throws {
        #expect(try Self.checkDequantized(Self.awq) == 21)
    }

    @Test("AWQ → PyTorch .bin in f16")
    func awqToPyTorch() throws {
        #expect(try Self.checkDequantized(Self.awq, to: .pytorch, dtype: .f16, outputName: "out-bin") == 21)
    }

    @Test("bitsandbytes NF4 + double quant, FP4, LLM.int8 (transformers save_pretrained) → bf16 safetensors, equal to bitsandbytes' dequantization rounded to bf16",
          arguments: ["tiny-llama-nf4-dq", "tiny-llama-fp4", "tiny-llama-int8"])
    func bitsAndBytes(fixture: String) throws {
        let input = FixturePaths.fixture("bnb/" + fixture)
        #expect(try Self.checkDequantized(input) == 21)
        // And anchored to bitsandbytes itself (dequantize_4bit / int8_vectorwise_dequant), not only to our decoder.
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try Converter.convert(input: input, output: scratch + "/out",
                                  options: ConvertOptions(from: nil, to: .safetensors, dtype: .bf16, dequantize: true))
        let written = try SafetensorsCheckpoint(path: scratch + "/out")
        for module in ["model.layers.0.self_attn.q_proj", "model.layers.2.mlp.down_proj"] {
            let raw = try Data(contentsOf: URL(fileURLWithPath: input + "/dequant/\(module).weight.f32"))
            let theirs = raw.withUnsafeBytes { b in (0 ..< raw.count / 4).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
            let view = try #require(written.tensor(named: module + ".weight")).view
            #expect(Self.bits16(view) == Self.rounded(theirs, to: .bf16), "\(module)")
        }
    }

    // MARK: GGUF block types

    /// A GGUF without architecture holding gguf-py's Q4_K blocks (fixtures/ggml, 40 super-blocks)
    /// as a [40, 256] tensor and an F32 vector; our GGUF writer only assembles the input file.
    static func q4KFile(in scratch: String, architecture: String? = nil) throws -> String {
        let blocks = try Array(Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("ggml/dequant/Q4_K-random.blocks"))))
        #expect(blocks.count == 40 * 144)
        var writer = GGUFWriter()
        try writer.addMetadata("general.name", .string("q4_k fixture"))
        if let architecture {
            // The hyperparameters a llama GGUF must state (GGUFImport): one layer around the [40, 256] linear.
            try writer.addMetadata("general.architecture", .string(architecture))
            for (key, value) in [("block_count", 1), ("embedding_length", 40), ("feed_forward_length", 256),
                                 ("attention.head_count", 4), ("attention.head_count_kv", 4), ("vocab_size", 32)] {
                try writer.addMetadata("\(architecture).\(key)", .uint32(UInt32(value)))
            }
        }
        try writer.addTensor(name: "blk.0.ffn_down.weight", type: .q4_K, shape: [40, 256], data: .bytes(blocks))
        let norm = (0 ..< 256).map { Float($0) / 7 }
        try writer.addTensor(name: "output_norm.weight", type: .f32, shape: [256],
                             data: .bytes(norm.withUnsafeBytes { Array($0) }))
        let path = scratch + "/q4k.gguf"
        try writer.write(to: path)
        return path
    }

    @Test("GGUF Q4_K → bf16 safetensors equals gguf-py's dequantization rounded to bf16")
    func ggufQ4K() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.q4KFile(in: scratch)
        #expect(try Self.checkDequantized(input, outputName: "q4k-bf16.safetensors") == 1)
        _ = try Converter.convert(input: input, output: scratch + "/again.safetensors",
                                  options: ConvertOptions(from: nil, to: .safetensors, dtype: .bf16, dequantize: true))
        let raw = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("ggml/dequant/Q4_K-random.f32")))
        let ggufPy = raw.withUnsafeBytes { b in (0 ..< raw.count / 4).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        let view = try #require(try SafetensorsFile(path: scratch + "/again.safetensors").tensor(named: "blk.0.ffn_down.weight")).view
        #expect(Self.bits16(view) == Self.rounded(ggufPy, to: .bf16))
    }

    @Test("without --dtype the decoded tensors are f32, the values exactly (gguf-py's for Q4_K, ours for GPTQ); dense tensors keep their dtype")
    func defaultIsExactFloat32() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let gguf = try Self.q4KFile(in: scratch)
        _ = try Converter.convert(input: gguf, output: scratch + "/q4k.safetensors",
                                  options: ConvertOptions(from: nil, to: .safetensors, dequantize: true))
        let raw = try Data(contentsOf: URL(fileURLWithPath: FixturePaths.fixture("ggml/dequant/Q4_K-random.f32")))
        let ggufPy = raw.withUnsafeBytes { b in (0 ..< raw.count / 4).map { b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) } }
        let q4k = try #require(try SafetensorsFile(path: scratch + "/q4k.safetensors").tensor(named: "blk.0.ffn_down.weight")).view
        #expect(q4k.dtype == .f32 && q4k.floats().map(\.bitPattern) == ggufPy)

        let directory = try Self.gptqDirectory("actorder-4bit", in: scratch)
        _ = try Converter.convert(input: directory, output: scratch + "/gptq-f32",
                                  options: ConvertOptions(from: nil, to: .safetensors, dequantize: true))
        let source = try ModelLoader.load(path: directory), written = try SafetensorsCheckpoint(path: scratch + "/gptq-f32")
        let weight = try #require(written.tensor(named: "model.layers.0.mlp.down_proj.weight")).view
        let expected = try Dequantizer.floats(try #require(source.tensor(named: "model.layers.0.mlp.down_proj.weight")))
        #expect(weight.dtype == .f32 && weight.shape == [64, 128] && weight.floats().map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(try #require(written.tensor(named: "model.norm.weight")).view.dtype == .f32)
        let config = try Self.json(scratch + "/gptq-f32/config.json")
        #expect(config["quantization_config"] == nil && config["dtype"]?.stringValue == "float16")
    }

    /// tiny-llama (transformers) written as Q4_0 GGUF by our converter: Q/K sit in llama.cpp's
    /// interleaved row order, which a float output must undo (safetensors) or keep (GGUF).
    @Test("Llama GGUF in Q4_0 → bf16 safetensors (HF row order) and → F32 GGUF (llama.cpp row order)")
    func ggufRowOrder() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = scratch + "/q4_0.gguf"
        var toQ4 = ConvertOptions(from: nil, to: .gguf, outType: .q4_0)
        toQ4.noTokenizer = true   // the fixture has no tokenizer files
        _ = try Converter.convert(input: FixturePaths.fixture("engine/tiny-llama"), output: input, options: toQ4)
        #expect(try Self.checkDequantized(input) == 22)   // 21 linears and the embedding

        var toF32 = ConvertOptions(from: nil, to: .gguf, dequantize: true)
        toF32.noTokenizer = true
        _ = try Converter.convert(input: input, output: scratch + "/f32.gguf", options: toF32)
        let source = try GGUFFile(path: input), written = try GGUFFile(path: scratch + "/f32.gguf")
        let graph = try ModelLoader.load(path: input)
        #expect(written.tensors.map(\.name) == source.tensors.map(\.name))
        for (gguf, hf) in [("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
                           ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"),
                           ("blk.2.ffn_up.weight", "model.layers.2.mlp.up_proj.weight")] {
            let info = try written.requiredTensor(gguf)
            #expect(info.type == .f32, "\(gguf)")
            let stored = try Dequantizer.floats(try #require(graph.tensor(named: hf)), storedOrder: true)
            #expect(try written.view(of: info).floats().map(\.bitPattern) == stored.map(\.bitPattern), "\(gguf)")
        }
        #expect(written.int("general.file_type") == 0)
    }

    // MARK: refusals and the notice without the flag

    @Test("a corrupt packed tensor is an error naming the file and tensor, and leaves no output")
    func corruptTensorLeavesNoOutput() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let input = try Self.gptqDirectory("actorder-4bit", in: scratch, corruptGroup: 99)
        let before = try FileManager.default.contentsOfDirectory(atPath: scratch).sorted()
        for output in [scratch + "/out", scratch + "/out.gguf"] {
            let format: ModelFormat = output.hasSuffix(".gguf") ? .gguf : .safetensors
            #expect {
                _ = try Converter.convert(input: input, output: output,
                                          options: ConvertOptions(from: nil, to: format, dtype: .bf16, dequantize: true))
            } throws: { error in
                let text = "\(error)"
                // The one-linear directory names no architecture: a GGUF of it is refused before any
                // tensor is read (GGUFRequirements); the safetensors output reaches the corrupt g_idx.
                if format == .gguf { return text.contains("refusing to write a GGUF llama.cpp cannot load") }
                return text.contains(input) && text.contains("model.layers.0.mlp.down_proj.weight") && text.contains("g_idx")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted() == before, "no output or temporary left")
        }
    }

    @Test("--dequantize with a quantized --outtype is refused before anything is read or written")
    func quantizedOutTypeIsRefused() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        #expect(throws: KitError.self) {
            _ = try Converter.convert(input: Self.awq, output: scratch + "/m.gguf",
                                      options: ConvertOptions(from: nil, to: .gguf, outType: .q8_0, dequantize: true))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
    }

    @Test("without --dequantize, --dtype leaves packed tensors as they were and one notice says so")
    func noticeWithoutTheFlag() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var notes: [String] = []
        _ = try Converter.convert(input: Self.awq, output: scratch + "/bf16",
                                  options: ConvertOptions(from: nil, to: .safetensors, dtype: .bf16), notify: { notes.append($0) })
        #expect(notes == ["--dtype bf16 casts float tensors only: 21 quantized tensors stay packed (21 × AWQ(4b,g32)); "
                          + "add --dequantize to write them as bf16 floats"])
        // Components are copied unchanged and the config still names the method.
        let input = try SafetensorsCheckpoint(path: Self.awq), output = try SafetensorsCheckpoint(path: scratch + "/bf16")
        for tensor in input.tensors where tensor.name.hasSuffix(".qweight") || tensor.name.hasSuffix(".scales") {
            let written = try #require(output.tensor(named: tensor.name)).view
            #expect(written.dtype == tensor.view.dtype && written.withUnsafeBytes { Array($0) } == tensor.view.withUnsafeBytes { Array($0) })
        }
        #expect(try Self.json(scratch + "/bf16/config.json")["quantization_config"] != nil)

        // No notice without a dtype, with the flag, or when nothing stays packed (GGUF → safetensors decodes blocks).
        let quiet: [(String, ConvertOptions)] = [
            (Self.awq, ConvertOptions(from: nil, to: .safetensors)),
            (Self.awq, ConvertOptions(from: nil, to: .safetensors, dtype: .bf16, dequantize: true)),
            (Self.awq, { var o = ConvertOptions(from: nil, to: .gguf, dtype: .f16); o.noTokenizer = true; return o }()),   // the GGUF writer decodes AWQ itself
        ]
        for (index, (input, options)) in quiet.enumerated() {
            var heard: [String] = []
            _ = try Converter.convert(input: input, output: scratch + "/quiet\(index)" + (options.to == .gguf ? ".gguf" : ""),
                                      options: options, notify: { heard.append($0) })
            #expect(heard.isEmpty, "case \(index): \(heard)")
        }
    }

    @Test("GGUF → GGUF with --dtype and --outtype auto: the notice counts the ggml blocks kept")
    func ggufNotice() throws {
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // A GGUF is only written for a mapped architecture (GGUFRequirements); the blocks file says llama.
        let input = try Self.q4KFile(in: scratch, architecture: "llama")
        var notes: [String] = []
        var options = ConvertOptions(from: nil, to: .gguf, dtype: .f16)
        options.noTokenizer = true   // the blocks file has no tokenizer
        _ = try Converter.convert(input: input, output: scratch + "/f16.gguf", options: options, notify: { notes.append($0) })
        #expect(notes == ["--dtype f16 casts float tensors only: 1 quantized tensor stays packed (1 × Q4_K); "
                          + "add --dequantize to write them as f16 floats"])
        #expect(try GGUFFile(path: scratch + "/f16.gguf").requiredTensor("blk.0.ffn_down.weight").type == .q4_K)
    }
}
