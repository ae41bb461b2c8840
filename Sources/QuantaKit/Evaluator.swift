import Foundation
import QuantaCore
import QuantaEngine
import QuantaGraph

/// Options of `quanta eval`.
public struct EvalOptions: Sendable {
    public var textPath: String?
    /// Pre-tokenized input: raw little-endian int32 ids (skips the tokenizer).
    public var tokenIDsPath: String?
    public var evalProtocol: EvalProtocol = .llamaCpp
    public var contextLength: Int = 512
    public var chunks: Int?
    public var baseline: String?
    /// `--tokenizer`: take the tokenizer from this model directory, tokenizer.json or GGUF.
    public var tokenizerPath: String? = nil
    /// How activations meet the weights; nil: `.ggml` for GGUF models, `.exact` otherwise.
    public var numerics: Numerics? = nil
    /// Hidden: write the logits of the first window (f32 LE, [tokens × vocab]) here before evaluating.
    public var dumpLogitsPath: String? = nil

    public init(textPath: String? = nil, tokenIDsPath: String? = nil, evalProtocol: EvalProtocol = .llamaCpp,
                contextLength: Int = 512, chunks: Int? = nil, baseline: String? = nil) {
        self.textPath = textPath
        self.tokenIDsPath = tokenIDsPath
        self.evalProtocol = evalProtocol
        self.contextLength = contextLength
        self.chunks = chunks
        self.baseline = baseline
    }
}

/// What `quanta eval` measured.
public struct EvalReport: Sendable {
    public var model: String
    public var baseline: String?
    public var options: EvalOptions
    public var result: PerplexityResult
    public var weightBytes: Int
    public var loadSeconds: Double
    /// The numerics that ran and the weights' storage kinds ("Q4_K 61%, …").
    public var numerics: Numerics = .exact
    public var storage: String = ""
    /// What the user should know about how the run was set up (e.g. whose tokenizer it used).
    public var notes: [String] = []

    public init(model: String, baseline: String?, options: EvalOptions, result: PerplexityResult, weightBytes: Int, loadSeconds: Double) {
        self.model = model
        self.baseline = baseline
        self.options = options
        self.result = result
        self.weightBytes = weightBytes
        self.loadSeconds = loadSeconds
    }

    public func text() -> String {
        var lines: [String] = []
        lines.append(result.runningPerplexity.enumerated().map { String(format: "[%d]%.4f", $0.offset + 1, $0.element) }.joined(separator: ","))
        lines.append(String(format: "PPL = %.4f +/- %.5f  (%@ protocol, ctx %d, %d chunks, %d tokens scored)",
                            result.perplexity, result.standardError, options.evalProtocol.rawValue, options.contextLength,
                            result.chunkCount, result.tokensScored))
        if let c = result.comparison {
            lines.append(String(format: "baseline PPL = %.4f   PPL ratio = %.4f", c.baselinePerplexity, c.perplexityRatio))
            lines.append(String(format: "KL divergence: mean %.6f  median %.6f  p99 %.6f", c.klMean, c.klMedian, c.kl99))
            lines.append(String(format: "top-1 agreement %.2f%%   RMS Δp %.3f%%", c.top1Agreement * 100, c.rmsDeltaP * 100))
        }
        lines.append(String(format: "%.1f tokens/s (%.1f s eval, %.1f s load; weights %@ as stored: %@; numerics %@; OpenBLAS kernels %@)",
                            result.tokensPerSecond, result.seconds, loadSeconds, ProgressReporter.human(Double(weightBytes), "B"),
                            storage, numerics.rawValue, BLASKernels.coreName))
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        var object = JSONObject([
            ("model", .string(model)), ("protocol", .string(options.evalProtocol.rawValue)),
            ("ctx", .int(Int64(options.contextLength))), ("chunks", .int(Int64(result.chunkCount))),
            ("ppl", .double(result.perplexity)), ("ppl_stderr", .double(result.standardError)),
            ("tokens_scored", .int(Int64(result.tokensScored))), ("tokens_per_second", .double(result.tokensPerSecond)),
            ("seconds", .double(result.seconds)), ("blas_kernels", .string(BLASKernels.coreName)),
            ("numerics", .string(numerics.rawValue)), ("weight_bytes", .int(Int64(weightBytes))), ("storage", .string(storage)),
            ("running_ppl", .array(result.runningPerplexity.map { .double($0) })),
            ("chunk_ppl", .array(result.chunkPerplexity.map { .double($0) })),
        ])
        if let baseline, let c = result.comparison {
            object["baseline"] = .string(baseline)
            object["baseline_ppl"] = .double(c.baselinePerplexity)
            object["ppl_ratio"] = .double(c.perplexityRatio)
            object["kld_mean"] = .double(c.klMean)
            object["kld_median"] = .double(c.klMedian)
            object["kld_p99"] = .double(c.kl99)
            object["top1_agreement"] = .double(c.top1Agreement)
            object["rms_delta_p"] = .double(c.rmsDeltaP)
            object["baseline_chunk_ppl"] = .array((result.baselineChunkPerplexity ?? []).map { .double($0) })
        }
        return JSONWriter.pretty(.object(object))
    }
}

public enum Evaluator {
    public static func run(model: String, options: EvalOptions) throws -> EvalReport {
        let start = DispatchTime.now().uptimeNanoseconds
        let graph = try ModelLoader.load(path: model)
        let weights = try LlamaWeights(graph: graph)
        let runner = LlamaRunner(weights: weights, maxTokens: options.contextLength, numerics: options.numerics)
        var baselineRunner: LlamaRunner?
        var baselineGraph: ModelGraph?
        if let baseline = options.baseline {
            // Both sides run with the same numerics: the model's (--numerics, or its format's default).
            let loaded = try ModelLoader.load(path: baseline)
            baselineRunner = LlamaRunner(weights: try LlamaWeights(graph: loaded), maxTokens: options.contextLength, numerics: runner.numerics)
            baselineGraph = loaded
        }
        let resolved = options.tokenIDsPath == nil
            ? try TokenizerSource.resolve(for: graph, override: options.tokenizerPath, fallback: baselineGraph) : nil
        let tokens = try tokenize(tokenizer: resolved?.tokenizer, options: options)
        if let path = options.dumpLogitsPath {
            let logits = try runner.logits(tokens: Array(tokens.prefix(options.contextLength)))
            try logits.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let tokenizer = resolved?.tokenizer
        let bos = tokenizer?.bosTokenID ?? graph.tokenizer?.bosTokenID.map { Int32($0) }
        let perplexityOptions = PerplexityOptions(evalProtocol: options.evalProtocol, contextLength: options.contextLength,
                                                  maxChunks: options.chunks,
                                                  addBOS: tokenizer?.addBOS ?? graph.tokenizer?.addBOS ?? false,
                                                  bosTokenID: bos)
        let result = try PerplexityEvaluator.evaluate(runner, tokens: tokens, options: perplexityOptions, baseline: baselineRunner)
        var report = EvalReport(model: model, baseline: options.baseline, options: options, result: result,
                                weightBytes: weights.storedBytes, loadSeconds: loadSeconds)
        report.numerics = runner.numerics
        report.storage = weights.storageSummary
        if let note = resolved?.note { report.notes.append(note) }
        return report
    }

    static func tokenize(tokenizer: BPETokenizer?, options: EvalOptions) throws -> [Int32] {
        if let path = options.tokenIDsPath {
            let file = try MappedFile(path: path)
            guard file.size % 4 == 0 else { throw KitError.invalidOption("\(path): \(file.size) bytes is not a whole number of int32 ids") }
            var reader = ByteReader(file.bytes, context: path)
            return try (0 ..< file.size / 4).map { _ in try reader.i32() }
        }
        guard let textPath = options.textPath, let tokenizer else { throw KitError.invalidOption("pass --text or --token-ids") }
        let text = try TextFile.read(textPath)
        // llama-perplexity tokenizes with add_special = true, parse_special = false.
        return tokenizer.encode(text, addSpecial: true, parseSpecial: false)
    }

    /// The model's tokenizer: the directory's tokenizer.json when present, else GGUF `tokenizer.ggml.*`.
    public static func makeTokenizer(_ graph: ModelGraph) throws -> BPETokenizer {
        guard let tokenizer = try makeTokenizer(sideFiles: graph.sideFiles, gguf: graph.tokenizer) else {
            throw KitError.invalidOption("\(graph.source) carries no tokenizer (no tokenizer.ggml.* metadata, no tokenizer.json); pass --token-ids")
        }
        return tokenizer
    }

    /// A tokenizer from a Hugging Face directory's side files (tokenizer.json, tokenizer_config.json),
    /// else from GGUF metadata; nil when neither holds one.
    static func makeTokenizer(sideFiles: [SideFile], gguf: TokenizerData?) throws -> BPETokenizer? {
        if let json = sideFiles.first(where: { $0.name == "tokenizer.json" }) {
            let root = try JSONParser.parse(json.contents, context: "tokenizer.json")
            let config = try sideFiles.first { $0.name == "tokenizer_config.json" }
                .map { try JSONParser.parse($0.contents, context: "tokenizer_config.json") }
            return try BPETokenizer.fromHuggingFace(tokenizerJSON: root, tokenizerConfig: config)
        }
        if let gguf { return try BPETokenizer.fromGGUFMetadata(gguf) }
        return nil
    }
}
