import Dispatch
import Foundation
import QuantaCore

/// How windows are cut and scored.
public enum EvalProtocol: String, Sendable, CaseIterable {
    /// llama.cpp `llama-perplexity`: consecutive windows of ctx tokens, the first replaced by BOS
    /// when the model adds one, and only the second half of each window scored.
    case llamaCpp = "llama.cpp"
    /// GPTQ's evaluation: non-overlapping windows, every next-token prediction in each scored.
    case gptq
}

public struct PerplexityOptions: Sendable {
    public var evalProtocol: EvalProtocol
    public var contextLength: Int
    public var maxChunks: Int?
    public var addBOS: Bool
    public var bosTokenID: Int32?

    public init(evalProtocol: EvalProtocol = .llamaCpp, contextLength: Int = 512, maxChunks: Int? = nil,
                addBOS: Bool = false, bosTokenID: Int32? = nil) {
        self.evalProtocol = evalProtocol
        self.contextLength = contextLength
        self.maxChunks = maxChunks
        self.addBOS = addBOS
        self.bosTokenID = bosTokenID
    }
}

/// Side-by-side statistics of a model against its baseline on the same scored tokens.
public struct BaselineComparison: Sendable {
    public var baselinePerplexity: Double
    public var klMean: Double
    public var klMedian: Double
    public var kl99: Double
    public var top1Agreement: Double
    public var rmsDeltaP: Double
    public var perplexityRatio: Double
}

public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var standardError: Double
    public var tokensScored: Int
    public var tokensEvaluated: Int
    public var chunkCount: Int
    /// Running PPL after each chunk (what llama-perplexity prints as [i]x.xxxx).
    public var runningPerplexity: [Double]
    /// Each chunk's own PPL.
    public var chunkPerplexity: [Double]
    public var baselineChunkPerplexity: [Double]?
    public var seconds: Double
    public var comparison: BaselineComparison?

    public var tokensPerSecond: Double { seconds > 0 ? Double(tokensEvaluated) / seconds : 0 }
}

/// The perplexity / KL harness.
public enum PerplexityEvaluator {
    public static func evaluate(_ runner: LlamaRunner, tokens input: [Int32], options: PerplexityOptions,
                                baseline: LlamaRunner? = nil) throws -> PerplexityResult {
        let ctx = options.contextLength
        guard ctx >= 4, ctx <= runner.maxTokens else {
            throw EngineError.invalidInput("context \(ctx) must be between 4 and the runner's \(runner.maxTokens)")
        }
        if let baseline, baseline.weights.hyperparameters.vocabSize != runner.weights.hyperparameters.vocabSize {
            throw EngineError.invalidInput("the baseline's vocabulary (\(baseline.weights.hyperparameters.vocabSize)) differs from the model's (\(runner.weights.hyperparameters.vocabSize))")
        }
        var tokens = input
        let available = tokens.count / ctx
        guard available >= 1, options.evalProtocol != .llamaCpp || tokens.count >= 2 * ctx else {
            throw EngineError.invalidInput("the text has \(tokens.count) tokens; at least \(2 * ctx) are needed for ctx \(ctx)")
        }
        let chunks = min(options.maxChunks ?? available, available)
        let vocab = runner.weights.hyperparameters.vocabSize
        let first = options.evalProtocol == .llamaCpp ? ctx / 2 : 0
        let scoredPerChunk = ctx - 1 - first

        var nll = 0.0, nll2 = 0.0, count = 0
        var running: [Double] = [], perChunk: [Double] = [], basePerChunk: [Double] = []
        var klValues: [Double] = []
        var agree = 0, deltaP2 = 0.0, baseNLL = 0.0
        let progress = ProgressReporter(label: "eval", total: Int64(chunks * ctx), unit: "tok")
        let start = DispatchTime.now().uptimeNanoseconds

        for chunk in 0 ..< chunks {
            let begin = chunk * ctx
            var window = Array(tokens[begin ..< begin + ctx])
            if options.evalProtocol == .llamaCpp, options.addBOS, let bos = options.bosTokenID { window[0] = bos }
            let logits = try runner.forward(tokens: window, outputFrom: first)
            let baseLogits = try baseline?.forward(tokens: window, outputFrom: first)
            var chunkNLL = 0.0, chunkBaseNLL = 0.0
            let scored = scoreRows(logits: logits, baseLogits: baseLogits, vocab: vocab,
                                   targets: Array(tokens[(begin + first + 1) ..< (begin + ctx)]))
            for row in scored {
                nll += row.nll; nll2 += row.nll * row.nll; chunkNLL += row.nll
                if let b = row.base {
                    klValues.append(b.kl); chunkBaseNLL += b.nll; baseNLL += b.nll
                    if b.sameTop { agree += 1 }
                    deltaP2 += b.deltaP * b.deltaP
                }
            }
            count += scoredPerChunk
            running.append(exp(nll / Double(count)))
            perChunk.append(exp(chunkNLL / Double(scoredPerChunk)))
            if baseline != nil { basePerChunk.append(exp(chunkBaseNLL / Double(scoredPerChunk))) }
            progress.advance(by: Int64(ctx))
            tokens[begin] = input[begin]
        }
        progress.finish()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // GPTQ's exp(Σ_i mean_loss_i·seqlen / (n·seqlen)) equals exp(nll / count) here because every
        // window scores the same number of tokens; llama.cpp's is exp(nll / count) by definition.
        let ppl = exp(nll / Double(count))
        var stderr = 0.0
        // llama.cpp: σ of the mean NLL, propagated to PPL.
        let meanNLL = nll / Double(count)
        let variance = nll2 / Double(count) - meanNLL * meanNLL
        if variance > 0, count > 1 { stderr = (variance / Double(count - 1)).squareRoot() * ppl }
        var comparison: BaselineComparison?
        if baseline != nil, !klValues.isEmpty {
            let sorted = klValues.sorted()
            let basePPL = exp(baseNLL / Double(count))
            comparison = BaselineComparison(
                baselinePerplexity: basePPL, klMean: klValues.reduce(0, +) / Double(klValues.count),
                klMedian: percentile(sorted, 0.5), kl99: percentile(sorted, 0.99),
                top1Agreement: Double(agree) / Double(klValues.count),
                rmsDeltaP: (deltaP2 / Double(klValues.count)).squareRoot(), perplexityRatio: ppl / basePPL)
        }
        return PerplexityResult(perplexity: ppl, standardError: stderr, tokensScored: count, tokensEvaluated: chunks * ctx,
                                chunkCount: chunks, runningPerplexity: running, chunkPerplexity: perChunk,
                                baselineChunkPerplexity: baseline == nil ? nil : basePerChunk,
                                seconds: seconds, comparison: comparison)
    }

    struct ScoredRow {
        var nll: Double
        var base: (nll: Double, kl: Double, sameTop: Bool, deltaP: Double)?
    }

    /// Row i of `logits` predicts `targets[i]`; rows beyond the targets are ignored.
    static func scoreRows(logits lp: UnsafeBufferPointer<Float>, baseLogits base: UnsafeBufferPointer<Float>?,
                          vocab: Int, targets: [Int32]) -> [ScoredRow] {
        var rows = [ScoredRow](repeating: ScoredRow(nll: 0, base: nil), count: targets.count)
        do {
            rows.withUnsafeMutableBufferPointer { out in
                Parallel.forRanges(targets.count, minimumPerTask: 16) { range in
                    for i in range {
                        let row = lp.baseAddress! + i * vocab
                        let target = Int(targets[i])
                        let lse = Elementwise.logSumExp(row, count: vocab)
                        let logP = Double(row[target]) - lse
                        var result = ScoredRow(nll: -logP, base: nil)
                        if let bp = base {
                            do {
                                let b = bp.baseAddress! + i * vocab
                                let baseLSE = Elementwise.logSumExp(b, count: vocab)
                                var kl = 0.0
                                var topModel = 0, topBase = 0
                                for v in 0 ..< vocab {
                                    let lq = Double(row[v]) - lse
                                    let lb = Double(b[v]) - baseLSE
                                    kl += exp(lb) * (lb - lq)
                                    if row[v] > row[topModel] { topModel = v }
                                    if b[v] > b[topBase] { topBase = v }
                                }
                                let baseLogP = Double(b[target]) - baseLSE
                                result.base = (-baseLogP, max(kl, 0), topModel == topBase, exp(logP) - exp(baseLogP))
                            }
                        }
                        out[i] = result
                    }
                }
            }
        }
        return rows
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(sorted.count - 1, low + 1)
        let fraction = position - Double(low)
        return sorted[low] * (1 - fraction) + sorted[high] * fraction
    }
}
