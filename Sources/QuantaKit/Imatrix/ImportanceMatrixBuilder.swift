import Dispatch
import Foundation
import QuantaCore
import QuantaEngine
import QuantaGraph

/// How to compute an importance matrix: llama-imatrix's settings (tools/imatrix/imatrix.cpp).
public struct ImatrixOptions: Sendable {
    /// The calibration text (UTF-8).
    public var calibrationPath: String
    /// Tokens per chunk (llama-imatrix `-c`, default 512).
    public var contextLength: Int
    /// Chunks to run (`--chunks`); nil: every whole chunk of the text.
    public var chunks: Int?
    /// Also collect the lm_head's input as `output.weight` when the model has a separate one
    /// (`--process-output`; off by default in llama-imatrix, and a tied head is never collected:
    /// its weight is `token_embd.weight`, which is not a `blk.*` name).
    public var processOutput: Bool
    /// Tokenize with this tokenizer (a model directory, tokenizer.json or GGUF) instead of the model's.
    public var tokenizerPath: String?
    /// How activations meet the weights; nil: the model's default (`.ggml` for GGUF, as llama.cpp runs it).
    public var numerics: Numerics?
    /// What `imatrix.datasets` records; nil: `calibrationPath` as given (llama-imatrix records `-f` as given).
    public var datasetName: String?

    public init(calibrationPath: String, contextLength: Int = 512, chunks: Int? = nil, processOutput: Bool = false) {
        self.calibrationPath = calibrationPath
        self.contextLength = contextLength
        self.chunks = chunks
        self.processOutput = processOutput
    }
}

/// Computes importance matrices with the engine, the way llama-imatrix does: the text is
/// tokenized once (with BOS when the tokenizer adds one), cut into consecutive chunks of
/// `contextLength` tokens whose first token is replaced by BOS (`compute_imatrix`: `tokens[seq_start]
/// = llama_vocab_bos` for the first batch of each chunk), every token of every chunk runs through
/// the model, and every linear weight's input rows are squared and summed per column. The linears
/// collected are those llama-imatrix collects for a dense Llama-family model: every `blk.*` weight
/// of a MUL_MAT (attn_q/k/v/output, ffn_gate/up/down) and, with `processOutput`, `output.weight`.
/// Streaming: one chunk's activations at a time, plus one f32 sum per input column per weight.
public enum ImportanceMatrixBuilder {
    /// Loads the model (any format the engine runs) and computes its importance matrix.
    public static func compute(model: String, options: ImatrixOptions) throws -> ImportanceMatrix {
        try compute(graph: try ModelLoader.load(path: model), options: options)
    }

    /// The convenience form: `compute(model:options:)` with llama-imatrix's main settings.
    public static func compute(model: String, calibrationPath: String, contextLength: Int = 512, chunks: Int? = nil,
                               processOutput: Bool = false) throws -> ImportanceMatrix {
        try compute(model: model, options: ImatrixOptions(calibrationPath: calibrationPath, contextLength: contextLength,
                                                          chunks: chunks, processOutput: processOutput))
    }

    /// Computes the importance matrix of an already loaded model graph.
    public static func compute(graph: ModelGraph, options: ImatrixOptions) throws -> ImportanceMatrix {
        let ctx = options.contextLength
        guard ctx >= 16, ctx <= 1 << 20 else {
            // llama-imatrix ignores products over fewer than 16 rows (`src1->ne[1] < 16`), so shorter
            // chunks would be counted differently there.
            throw ImatrixError.invalidInput("--ctx must be between 16 and \(1 << 20), not \(ctx) (llama-imatrix skips products of fewer than 16 tokens)")
        }
        if let chunks = options.chunks, chunks < 1 { throw ImatrixError.invalidInput("--chunks must be at least 1, not \(chunks)") }
        guard let spec = graph.architecture.spec else {
            throw ImatrixError.invalidInput("\(graph.source): importance matrices need a Llama-family model the engine runs; this is '\(graph.architecture.rawValue)'")
        }
        let text = try calibrationText(options.calibrationPath)
        let tokenizer = try TokenizerSource.resolve(for: graph, override: options.tokenizerPath).tokenizer
        // llama-imatrix asserts !add_eos: an EOS appended to the text would be one more token it never sees.
        guard !tokenizer.addEOS else {
            throw ImatrixError.invalidInput("\(graph.source): the tokenizer appends EOS; llama-imatrix refuses such models (GGML_ASSERT(!llama_vocab_get_add_eos))")
        }
        // common_tokenize(ctx, prompt, add_special = true, parse_special = false).
        let tokens = tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        guard tokens.count >= 2 * ctx else {
            throw ImatrixError.invalidInput("\(options.calibrationPath): the text tokenizes to \(tokens.count) tokens; a context of \(ctx) needs at least \(2 * ctx) (llama-imatrix's rule)")
        }
        let weights = try LlamaWeights(graph: graph)
        let runner = LlamaRunner(weights: weights, maxTokens: ctx, numerics: options.numerics)
        let bos = tokenizer.addBOS ? tokenizer.bosTokenID : nil
        if tokenizer.addBOS && bos == nil {
            throw ImatrixError.invalidInput("\(graph.source): the tokenizer adds BOS but names no BOS token")
        }
        let names = try LinearNames(spec: spec, layers: weights.hyperparameters.layerCount)
        return try compute(runner: runner, tokens: tokens, bos: bos, contextLength: ctx, chunks: options.chunks,
                           processOutput: options.processOutput && runner.hasSeparateHead, names: names,
                           dataset: options.datasetName ?? options.calibrationPath)
    }

    /// The loop itself, on an engine runner and a tokenized text.
    static func compute(runner: LlamaRunner, tokens: [Int32], bos: Int32?, contextLength ctx: Int, chunks: Int?,
                        processOutput: Bool, names: LinearNames, dataset: String) throws -> ImportanceMatrix {
        let h = runner.weights.hyperparameters
        let available = tokens.count / ctx
        let chunkCount = min(chunks ?? available, available)
        // One accumulator per distinct input: q/k/v share the attention norm's output, gate/up the MLP norm's.
        let attentionWidth = h.headCount * h.headDimension
        let widths: [LinearGroup: Int] = [.qkv: h.hiddenSize, .output: attentionWidth, .gateUp: h.hiddenSize, .down: h.intermediateSize]
        let sums: [[SquareSums]] = (0 ..< h.layerCount).map { _ in
            LinearGroup.allCases.map { SquareSums(columns: widths[$0] ?? 0) }
        }
        let head = processOutput ? SquareSums(columns: h.hiddenSize) : nil
        let progress = ProgressReporter(label: "imatrix", total: Int64(chunkCount * ctx), unit: "tok")
        for chunk in 0 ..< chunkCount {
            var window = Array(tokens[chunk * ctx ..< (chunk + 1) * ctx])
            if let bos { window[0] = bos }
            try runner.observeInputs(tokens: window, layerInput: { layer, input in
                sums[layer][input.group.rawValue].add(input.values, rows: input.rows, rowStride: input.rowStride)
            }, headInput: head.map { head in { values, rows, columns in head.add(values, rows: rows, rowStride: columns) } })
            progress.advance(by: Int64(ctx))
        }
        progress.finish()

        var entries: [String: ImportanceMatrix.Entry] = [:]
        func store(_ name: String, _ accumulated: SquareSums) throws {
            let values = accumulated.values
            // llama-imatrix stops on non-finite sums ("non-finite values detected in …").
            if values.contains(where: { !$0.isFinite }) {
                throw ImatrixError.invalidInput("non-finite values in the inputs of \(name): the model's activations overflow f32 on this text")
            }
            entries[name] = ImportanceMatrix.Entry(sums: values, counts: [Double(accumulated.rows)])
        }
        for layer in 0 ..< h.layerCount {
            for group in LinearGroup.allCases {
                for name in names.names(layer: layer, group: group) { try store(name, sums[layer][group.rawValue]) }
            }
        }
        if let head { try store(names.head, head) }
        // llama-imatrix's chunk count: the largest count divided by the chunk size (`m_last_chunk`).
        let rows = entries.values.map { Int($0.counts.first ?? 0) }.max() ?? 0
        return try ImportanceMatrix(entries: entries, datasets: [dataset], chunkCount: rows / ctx, chunkSize: ctx)
    }

    static func calibrationText(_ path: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ImatrixError.invalidInput("calibration text \(path) not found; pass --calib FILE")
        }
        return try TextFile.read(path, what: "the calibration text")
    }
}

/// The GGUF names of each decoder layer's linears, by the input they share, from the
/// architecture's name table (names in the imatrix are the GGUF ones llama-imatrix records).
struct LinearNames {
    private let byLayer: [[[String]]]
    let head: String

    init(spec: ArchitectureSpec, layers: Int) throws {
        func gguf(_ huggingFace: String) throws -> String {
            guard let name = spec.ggufName(forHuggingFace: huggingFace)?.name else {
                throw ImatrixError.invalidInput("the \(spec.ggufName) name table has no GGUF name for \(huggingFace)")
            }
            return name
        }
        byLayer = try (0 ..< layers).map { layer in
            try LinearGroup.allCases.map { group in try group.modules.map { try gguf("model.layers.\(layer).\($0).weight") } }
        }
        head = try gguf("lm_head.weight")
    }

    func names(layer: Int, group: LinearGroup) -> [String] { byLayer[layer][group.rawValue] }
}
