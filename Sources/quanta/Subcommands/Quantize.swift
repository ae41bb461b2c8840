import ArgumentParser
import QuantaKit

extension QuantizeOptions.Method: ExpressibleByArgument {}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a model's linear weights and write a Hugging Face directory its consumers load.",
        discussion: """
        Methods: nf4, fp4 (bitsandbytes 4-bit, Linear4bit) and int8 (bitsandbytes LLM.int8, Linear8bitLt).
        Examples:
          quanta quantize --method nf4 --double-quant model.gguf out-nf4/
          quanta quantize --method fp4 --blocksize 128 --compute-dtype bf16 hf-model/ out-fp4/
          quanta quantize --method int8 --skip mlp.down_proj hf-model/ out-int8/
        GPTQ (calibrated) and rtn (round to nearest), both in the GPTQ checkpoint layout:
          quanta quantize --method gptq --bits 4 --group-size 64 --act-order model.gguf out-gptq/
          quanta quantize --method rtn --bits 4 --group-size 64 model.gguf out-rtn/
        AWQ (calibrated, activation-aware), in AutoAWQ's GEMM layout:
          quanta quantize --method awq --bits 4 --group-size auto model.gguf out-awq/
        GGUF block types with llama-quantize's mixes, byte-identical to llama-quantize (output: a .gguf file):
          quanta quantize --method gguf --type q4_k_m model-f32.gguf model-q4_k_m.gguf
          quanta quantize --method gguf --type q4_k_m --imatrix imatrix.gguf hf-model/ model-q4_k_m.gguf
          quanta quantize --method gguf --type iq4_xs --calib data/wikitext-2-calibration.txt model.gguf out.gguf
        Fails closed: NaN/Inf in a weight is refused by name; --allow-nonfinite writes those of tensors that \
        stay in float as they are (a quantized linear can never hold them, nor a NaN/Inf scale).
        """)

    @Option(name: .long, help: "Quantization method.") var method: QuantizeOptions.Method
    @Flag(name: .customLong("double-quant"), help: "Quantize the 4-bit absmax again (bnb_4bit_use_double_quant): SmolLM2 NF4 linears 4.502 → 4.147 bits/weight at no measured cost (PPL 29.15 → 29.10, KLD 0.2574 → 0.2573; docs/quantization.md).")
    var doubleQuant = false
    @Option(name: .long, help: "4-bit block size: 32, 64, 128, 256, 512, 1024, 2048 or 4096 (one f32 absmax per block). SmolLM2 NF4, shared protocol: 32 → 5.00 bits/weight, PPL 28.21 (KLD 0.219); 64 → 4.50, 29.15 (0.257); 128 → 4.25, 30.99 (0.315).") var blocksize: Int = 64
    @Option(name: .customLong("compute-dtype"), help: "bnb_4bit_compute_dtype: f32, bf16 or f16 — what transformers computes in (and the dtype our eval rounds the decoded weights to); no effect on the stored bytes.") var computeDType: String = "f32"
    @Option(name: .long, help: "Keep modules matching this pattern in float (repeatable or comma-separated; transformers' llm_int8_skip_modules rule). lm_head always stays. SmolLM2 NF4 with --skip down_proj: PPL 26.83 against 29.15 (KLD 0.193 vs 0.257) for a quarter of the linears in f32 (file 268 vs 177 MB).")
    var skip: [String] = []
    @Option(name: .customLong("int8-threshold"), help: "LLM.int8 outlier threshold (llm_int8_threshold): input columns with any |x| ≥ it run in f16/f32 instead of int8. SmolLM2, shared protocol: 6.0 gives PPL 23.48 (KLD 0.0170, top-1 91.8 %), 0 (no outlier columns, all int8) 23.66 (KLD 0.0279, 89.3 %); F32 22.94.") var int8Threshold: Double = 6.0
    @Option(name: .long, help: "Largest safetensors shard (e.g. 5GB, 500MB).") var maxShardSize: ByteSize = ByteSize(argument: "5GB")!
    @Flag(name: .long, help: "Overwrite an existing output.") var force = false
    @Flag(name: .customLong("allow-nonfinite"),
          help: "Write NaN/Inf values of tensors that stay in float (norms, embeddings, skipped modules) as they are instead of refusing them.")
    var allowNonFinite = false
    @Flag(name: .customLong("skip-tokenizer-check"),
          help: "Write even when the output's tokenizer, run as its consumer runs it (llama.cpp for a GGUF, Hugging Face tokenizers for a tokenizer.json made from a GGUF), tokenizes the probe text differently from the source's.")
    var skipTokenizerCheck = false
    @Argument(help: "The model: a GGUF file, a safetensors file or a Hugging Face directory.") var input: String
    @Argument(help: "Output Hugging Face directory (a .gguf file for --method gguf).") var outputPath: String
    @OptionGroup(title: "GPTQ / RTN") var gptq: GPTQFlags
    @OptionGroup(title: "AWQ") var awq: AWQFlags
    @OptionGroup(title: "GGUF") var gguf: GGUFFlags
    @OptionGroup var output: OutputOptions

    static let computeDTypes = ["f32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
                                "f16": "float16", "float16": "float16"]

    func validate() throws {
        guard Self.computeDTypes[computeDType.lowercased()] != nil else { throw ValidationError("--compute-dtype must be f32, bf16 or f16") }
        guard [32, 64, 128, 256, 512, 1024, 2048, 4096].contains(blocksize) else {
            throw ValidationError("--blocksize must be one of 32, 64, 128, 256, 512, 1024, 2048, 4096")
        }
        guard int8Threshold.isFinite, int8Threshold >= 0 else { throw ValidationError("--int8-threshold must be a number ≥ 0") }
        if method == .int8 && doubleQuant { throw ValidationError("--double-quant applies to nf4 and fp4 only") }
    }

    func run() throws {
        output.apply()
        if method == .gguf {
            return try GGUFCommand.run(flags: gguf, calib: gptq.calib, tokenizer: gptq.tokenizer, input: input, output: outputPath,
                                       force: force, skipTokenizerCheck: skipTokenizerCheck, json: output.json, note: output.note,
                                       calibration: gptq.calibration, damp: gptq.damp)
        }
        if method == .awq {
            return try AWQCommand.run(flags: gptq, awq: awq, input: input, output: outputPath, force: force,
                                      allowNonFinite: allowNonFinite, skipTokenizerCheck: skipTokenizerCheck, json: output.json)
        }
        if let gptqMethod = GPTQCommand.method(method.rawValue) {
            return try GPTQCommand.run(method: gptqMethod, flags: gptq, input: input, output: outputPath,
                                       maxShardSize: maxShardSize.bytes, force: force, allowNonFinite: allowNonFinite,
                                       skipTokenizerCheck: skipTokenizerCheck, json: output.json)
        }
        let patterns = skip.flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
        var options = QuantizeOptions(method: method, blockSize: blocksize, doubleQuant: doubleQuant,
                                      computeDType: Self.computeDTypes[computeDType.lowercased()] ?? "float32",
                                      skip: patterns.isEmpty ? nil : patterns, int8Threshold: int8Threshold,
                                      maxShardSize: maxShardSize.bytes, force: force)
        options.allowNonFinite = allowNonFinite
        options.skipTokenizerCheck = skipTokenizerCheck
        let summary = try Quantizer.quantize(input: input, output: outputPath, options: options)
        print(output.json ? summary.json() : summary.text())
    }
}
