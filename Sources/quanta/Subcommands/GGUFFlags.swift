import ArgumentParser
import QuantaFormats
import QuantaKit

extension LlamaFileType: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public var defaultValueDescription: String { name }
}

/// A ggml tensor type by name (`q8_0`, `Q6_K`, `f16` …).
struct GGMLTypeArgument: ExpressibleByArgument {
    let type: GGMLType
    init?(argument: String) {
        guard let type = GGMLType(name: argument) else { return nil }
        self.type = type
    }
}

/// The flags of `quanta quantize --method gguf`: llama-quantize's, with the same meanings.
struct GGUFFlags: ParsableArguments {
    @Option(name: .long, help: "GGUF: the mix, as llama-quantize names it: \(LlamaFileType.names) (q3_k, q4_k, q5_k = the _m mixes).")
    var type: LlamaFileType?
    @Option(name: .long, help: "GGUF: an importance matrix (llama-imatrix's GGUF or legacy .dat, or `quanta imatrix`'s output).")
    var imatrix: String?
    @Option(name: .customLong("imatrix-chunks"), help: "GGUF with --calib: calibration windows of 512 tokens for the importance matrix (llama-imatrix --chunks).")
    var imatrixChunks: Int = 128
    @Flag(name: .customLong("no-gptq"), help: "GGUF with --calib: only compute an importance matrix from it and quantize as llama-quantize --imatrix would (no calibrated error feedback; SmolLM2 Q4_K_M: PPL 23.65 vs 23.55 calibrated).")
    var noGPTQ = false
    @Option(name: .customLong("calib-importance"), help: .hidden)
    var calibImportance: String = GGUFCalibratedOptions.Importance.diagonal.rawValue
    @Flag(name: .long, help: "GGUF: every quantizable tensor in the mix's base type (no per-tensor rules; the 256-column fallback still applies).")
    var pure = false
    @Option(name: .customLong("output-tensor-type"), help: "GGUF: the type of output.weight (and of tied token embeddings).")
    var outputTensorType: GGMLTypeArgument?
    @Option(name: .customLong("token-embedding-type"), help: "GGUF: the type of token_embd.weight.")
    var tokenEmbeddingType: GGMLTypeArgument?
    @Flag(name: .customLong("leave-output-tensor"), help: "GGUF: keep output.weight as it is.")
    var leaveOutputTensor = false
    @Option(name: .customLong("tensor-type"), help: "GGUF: REGEX=TYPE, the type of every tensor whose name the pattern is found in (first match wins; repeatable), e.g. attn_v=q8_0.")
    var tensorType: [String] = []

    func mixOptions(_ fileType: LlamaFileType) throws -> MixOptions {
        var mix = MixOptions(fileType: fileType)
        mix.pure = pure
        mix.outputTensorType = outputTensorType?.type
        mix.tokenEmbeddingType = tokenEmbeddingType?.type
        mix.leaveOutputTensor = leaveOutputTensor
        mix.overrides = try tensorType.map { try TensorTypeOverride(argument: $0) }
        return mix
    }
}

/// What `quanta quantize --method gguf` runs.
enum GGUFCommand {
    static func run(flags: GGUFFlags, calib: String?, tokenizer: String?, input: String, output: String, force: Bool,
                    skipTokenizerCheck: Bool = false,
                    json: Bool, note: (String) -> Void, calibration: CalibrationOptions? = nil, damp: Double = 0.01) throws {
        guard let fileType = flags.type else {
            throw ValidationError("--method gguf needs --type (\(LlamaFileType.names))")
        }
        if flags.imatrix != nil && calib != nil { throw ValidationError("give --imatrix or --calib, not both") }
        var options = GGUFQuantizeOptions(mix: try flags.mixOptions(fileType))
        options.force = force
        options.skipTokenizerCheck = skipTokenizerCheck
        if let path = flags.imatrix {
            options.importance = try GGUFImportance(loading: path)
        } else if let calib, !flags.noGPTQ {
            // --calib alone: the best calibrated variant (GPTQ error feedback inside ggml's blocks).
            guard let importance = GGUFCalibratedOptions.Importance(rawValue: flags.calibImportance) else {
                throw ValidationError("--calib-importance: one of \(GGUFCalibratedOptions.Importance.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var calibrated = GGUFCalibratedOptions(quantize: options,
                                                   calibration: calibration ?? CalibrationOptions(textPath: calib))
            calibrated.calibration.textPath = calib
            calibrated.calibration.tokenizerPath = tokenizer
            calibrated.dampPercent = damp
            calibrated.importance = importance
            let c = calibrated.calibration
            note("calibrated \(fileType.name): GPTQ error feedback inside ggml's blocks, \(c.samples) × \(c.sequenceLength) tokens of \(calib)")
            let (summary, report) = try GGUFCalibratedQuantizer.quantize(input: input, output: output, options: calibrated, notify: note)
            note(String(format: "%d linears solved on %d windows; loss %.4g; forward %.1f s, Hessians %.1f s, solves %.1f s",
                        report.solvedTensors, report.windows, report.loss, report.timings.forward, report.timings.hessian, report.timings.solve))
            print(json ? summary.json() : summary.text())
            return
        } else if let calib {
            note("computing an importance matrix from \(calib) (\(flags.imatrixChunks) × 512 tokens, as llama-imatrix)")
            options.importance = try GGUFImportance(computingFor: input, calibration: calib, chunks: flags.imatrixChunks,
                                                    tokenizer: tokenizer)
        }
        let summary = try GGUFQuantizer.quantize(input: input, output: output, options: options, notify: note)
        print(json ? summary.json() : summary.text())
    }
}
