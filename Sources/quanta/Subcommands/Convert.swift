import ArgumentParser
import QuantaCore
import QuantaGraph
import QuantaKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model between formats (and float dtypes).",
        discussion: """
        Examples:
          quanta convert --to safetensors --dtype bf16 model/ out/
          quanta convert --to safetensors --max-shard-size 2GB model.safetensors out/
          quanta convert --from gguf --to safetensors --dtype f32 model.gguf out/
          quanta convert --to gguf --outtype q8_0 hf-model/ model-q8_0.gguf
          quanta convert --to gguf --outtype q4_k_m hf-model/ model-q4_k_m.gguf
          quanta convert --to safetensors --dequantize --dtype bf16 gptq/ plain/

        --dequantize decodes every quantized tensor (GPTQ, AWQ, bitsandbytes NF4/FP4/int8, GGUF block \
        types such as Q4_K) to one plain <module>.weight per linear and drops quantization_config from \
        config.json, so transformers loads the result as an ordinary model. The floats are --dtype \
        (default f32: the decoded values exactly); for --to gguf, a float --outtype (f32, f16, bf16), \
        else --dtype, else f32. Tensors are decoded one at a time as they are written.

        Without --dequantize, --dtype casts float tensors only: GPTQ/AWQ/bitsandbytes components (and, \
        in a GGUF output with --outtype auto, ggml blocks) are written packed, and a note on stderr \
        says how many.

        Fails closed: a GGUF is written only for an architecture whose llama.cpp tensor names Quanta \
        knows (llama, mistral, qwen2) and with a tokenizer (tokenizer.ggml.*), or with --no-tokenizer; \
        tensors with NaN/Inf values are refused unless --allow-nonfinite. Nothing is written when refused.
        """)

    @Option(name: .long, help: "Input format (inferred when omitted).")
    var from: ModelFormat?

    @Option(name: .long, help: "Output format.")
    var to: ModelFormat

    @Option(name: .long, help: "Cast floating-point tensors to f32, f16 or bf16 (with --dequantize, also the decoded ones).")
    var dtype: FloatDType?

    @Option(name: .long, help: "GGUF tensor type for ≥2-D weights: auto (keep), f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1; or a llama-quantize mix (q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k, iq4_nl, iq4_xs) with its per-tensor types, byte-identical to llama-quantize.")
    var outtype: GGUFOutType = .auto

    @Option(name: .long, help: "Largest weights shard of a directory output (e.g. 5GB, 500MB, 2GiB; default 5GB).")
    var maxShardSize: ByteSize?

    @Flag(name: .long, help: "Decode quantized tensors (GPTQ, AWQ, bitsandbytes, GGUF blocks) to plain floats and drop quantization_config.")
    var dequantize = false

    @Flag(name: .long, help: "Overwrite an existing output.")
    var force = false

    @Flag(name: .customLong("no-tokenizer"),
          help: "GGUF output: write it without a tokenizer (tokenizer.ggml.model = \"none\") instead of refusing a model whose tokenizer is missing or cannot be converted.")
    var noTokenizer = false

    @Flag(name: .customLong("skip-tokenizer-check"),
          help: "Write even when the output's tokenizer, run as its consumer runs it (llama.cpp for GGUF, Hugging Face tokenizers for tokenizer.json), tokenizes the probe text differently from the source's.")
    var skipTokenizerCheck = false

    @Flag(name: .customLong("allow-nonfinite"),
          help: "Write NaN/Inf weights as they are instead of refusing them (a block-quantized --outtype still cannot hold them).")
    var allowNonFinite = false

    @Argument(help: "Input path.")
    var input: String

    @Argument(help: "Output path: a directory (Hugging Face layout) or a single file.")
    var outputPath: String

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if outtype != .auto && to != .gguf { throw ValidationError("--outtype applies to --to gguf only") }
        if noTokenizer && to != .gguf { throw ValidationError("--no-tokenizer applies to --to gguf only") }
        let singleFile = [".safetensors", ".bin", ".pt", ".gguf"].contains { outputPath.hasSuffix($0) }
        if maxShardSize != nil && (to == .gguf || singleFile) {
            throw ValidationError("--max-shard-size applies to a directory output; \(outputPath) is a single file")
        }
    }

    func run() throws {
        output.apply()
        var options = ConvertOptions(from: from, to: to, dtype: dtype?.dtype,
                                     maxShardSize: maxShardSize?.bytes ?? 5_000_000_000, force: force, outType: outtype,
                                     dequantize: dequantize)
        options.noTokenizer = noTokenizer
        options.skipTokenizerCheck = skipTokenizerCheck
        options.allowNonFinite = allowNonFinite
        let summary = try Converter.convert(input: input, output: outputPath, options: options, notify: output.note)
        print(output.json ? summary.json() : summary.text())
    }
}
