import Dispatch
import Foundation
import QuantaCore
import QuantaEngine
import QuantaGraph
import QuantaQuant

/// Options of `quanta quantize --method gptq|rtn`.
public struct GPTQOptions: Sendable {
    public enum Method: String, Sendable, CaseIterable {
        /// Calibrated GPTQ (Frantar et al. 2022).
        case gptq
        /// Plain round-to-nearest in the same grid and layout: the baseline GPTQ must beat.
        case rtn
    }

    public var method: Method
    public var configuration: GPTQConfiguration
    public var calibration: CalibrationOptions
    public var maxShardSize: Int
    public var force: Bool
    /// Write even when the tokenizer.json made from a GGUF's vocabulary does not tokenize as it (`TokenizerFidelity`).
    public var skipTokenizerCheck = false
    /// When set, each quantized linear is packed as soon as it is solved and its components are
    /// appended to a scratch file in this folder (mapped back for the writer), so memory does not
    /// grow with the model; `GPTQResult.linears` then stays empty. `quantize(input:output:)` sets it
    /// to the output's folder.
    public var spillDirectory: String? = nil
    /// Write NaN/±Inf values of the tensors that stay in float as they are (`--allow-nonfinite`);
    /// a quantized linear can never hold them.
    public var allowNonFinite = false

    public init(method: Method = .gptq, configuration: GPTQConfiguration = GPTQConfiguration(),
                calibration: CalibrationOptions = CalibrationOptions(), maxShardSize: Int = 5_000_000_000, force: Bool = false) {
        self.method = method
        self.configuration = configuration
        self.calibration = calibration
        self.maxShardSize = maxShardSize
        self.force = force
    }
}

extension GPTQOptions {
    /// The options from plain values (what the CLI parses).
    public init(method: Method, bits: Int, groupSize: Int, sym: Bool, actOrder: Bool, staticGroups: Bool, dampPercent: Double,
                groupAwareOrder: Bool = false, mseNorm: Double = 0, refitScales: Bool = false, mseImportance: Bool = false,
                calibration: CalibrationOptions, maxShardSize: Int = 5_000_000_000, force: Bool = false) {
        self.init(method: method, configuration: GPTQConfiguration(bits: bits, groupSize: groupSize, sym: sym, actOrder: actOrder,
                                                                   staticGroups: staticGroups, dampPercent: dampPercent,
                                                                   groupAwareOrder: groupAwareOrder, mseNorm: mseNorm,
                                                                   refitScales: refitScales, mseImportance: mseImportance),
                  calibration: calibration, maxShardSize: maxShardSize, force: force)
    }

    /// Refuses values and combinations that cannot work, before any file is read.
    public func validate() throws {
        let c = configuration
        try c.validate()
        if c.staticGroups && c.groupSize == -1 {
            throw KitError.invalidOption("--static-groups needs groups (a --group-size other than -1)")
        }
        if method == .rtn && (c.actOrder || c.staticGroups || c.groupAwareOrder || c.refitScales || c.mseImportance) {
            throw KitError.invalidOption("--act-order, --act-group-aware, --static-groups, --refit-scales and --mse-importance need calibration; they do not apply to --method rtn")
        }
    }
}

/// The quantized graph and, for checks, every quantized linear as the pass produced it.
public struct GPTQResult: Sendable {
    public var graph: ModelGraph
    /// Keyed by the HF weight name (`model.layers.3.mlp.down_proj.weight`); empty when the options
    /// spill (large models).
    public var linears: [String: GPTQQuantizedLinear]
    /// Per quantized weight: rows × columns and bits per weight (always filled).
    public var sizes: [String: (weights: Int, bitsPerWeight: Double)] = [:]
    /// GPTQ only (empty for RTN).
    public var reports: [String: GPTQSolveReport]
    public var timings: GPTQTimings
    public var windows: Int
    public var seconds: Double
}

/// What `quanta quantize --method gptq|rtn` did.
public struct GPTQSummary: Sendable {
    public var output: String
    public var method: GPTQOptions.Method
    public var configuration: GPTQConfiguration
    public var quantizedTensors: Int
    public var quantizedWeights: Int
    /// Stored bits per quantized weight (codes, f16 scales, packed zeros, g_idx).
    public var bitsPerWeight: Double
    public var windows: Int
    /// Linears whose damp had to be raised for the Cholesky to succeed, with the damp used.
    public var dampRaised: [(name: String, damp: Double)]
    public var deadColumns: Int
    /// The scale refit summed over linears (nil when it did not run).
    public var refit: GPTQScaleRefit.Report?
    public var timings: GPTQTimings
    public var passSeconds: Double
    public var seconds: Double

    public func text() -> String {
        let c = configuration
        let order = c.actOrder ? ", act-order" : (c.groupAwareOrder && method == .gptq ? ", group-aware order" : "")
        var lines = [String(format: "wrote %@: %@ %d-bit, group size %d%@%@%@, %@ (%.3f bits per weight over %d tensors, %d weights)",
                            output, method.rawValue.uppercased(), c.bits, c.groupSize, order,
                            c.staticGroups ? ", static groups" : "", c.mseNorm > 0 ? String(format: ", mse %g%@", c.mseNorm, c.mseImportance ? " importance-weighted" : "") : "", c.sym ? "sym" : "asym", bitsPerWeight, quantizedTensors, quantizedWeights)]
        if method == .gptq {
            let t = timings
            lines.append(String(format: "%d calibration windows; time %.1f s: forward %.1f s, Hessians %.1f s, factorizations %.1f s, solves %.1f s; total with load and write %.1f s",
                                windows, passSeconds, t.forward, t.hessian, t.factor, t.solve, seconds))
            if !dampRaised.isEmpty {
                lines.append("damp raised for \(dampRaised.count) linear(s): " + dampRaised.map { String(format: "%@ → %.4g", $0.name, $0.damp) }.joined(separator: ", "))
            }
            if let refit, let reduction = refit.errorReduction {
                lines.append(String(format: "scale refit: %d of %d rows changed, calibration output error %.2f %% lower",
                                    refit.rowsChanged, refit.rows, 100 * reduction))
            }
            if deadColumns > 0 { lines.append("\(deadColumns) dead input column(s) (never active in calibration) were zeroed") }
        } else {
            lines.append(String(format: "time %.1f s (quantization %.2f s)", seconds, passSeconds))
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        let c = configuration, t = timings
        return JSONWriter.pretty(.object(JSONObject([
            ("output", .string(output)), ("method", .string(method.rawValue)), ("bits", .int(Int64(c.bits))),
            ("group_size", .int(Int64(c.groupSize))), ("act_order", .bool(c.actOrder)), ("static_groups", .bool(c.staticGroups)),
            ("sym", .bool(c.sym)), ("damp_percent", .double(c.dampPercent)), ("act_group_aware", .bool(c.groupAwareOrder)),
            ("mse", .double(c.mseNorm)), ("mse_importance", .bool(c.mseImportance)), ("refit_scales", .bool(c.refitScales)),
            ("refit_error_reduction", refit?.errorReduction.map { .double($0) } ?? .null),
            ("bits_per_weight", .double(bitsPerWeight)),
            ("quantized_tensors", .int(Int64(quantizedTensors))), ("quantized_weights", .int(Int64(quantizedWeights))),
            ("windows", .int(Int64(windows))), ("dead_columns", .int(Int64(deadColumns))),
            ("damp_raised", .object(JSONObject(dampRaised.map { ($0.name, .double($0.damp)) }))),
            ("timings", .object(JSONObject([("forward", .double(t.forward)), ("hessian", .double(t.hessian)),
                                           ("factor", .double(t.factor)), ("solve", .double(t.solve))]))),
            ("pass_seconds", .double(passSeconds)), ("seconds", .double(seconds)),
        ])))
    }
}

/// GPTQ and round-to-nearest over a Llama-family model, written in the GPTQ checkpoint layout
/// (`quant_method: gptq`, `checkpoint_format: gptq`). Every decoder-layer linear is quantized;
/// embeddings, norms and lm_head keep their values (ggml block tensors are dequantized to f32).
public enum GPTQQuantizer {
    /// The linears of one decoder layer with their [out, in] shapes.
    static func linearShapes(_ h: Hyperparameters) -> [(module: String, rows: Int, columns: Int)] {
        let d = h.hiddenSize, f = h.intermediateSize, q = h.headCount * h.headDimension, kv = h.kvHeadCount * h.headDimension
        return [("self_attn.q_proj", q, d), ("self_attn.k_proj", kv, d), ("self_attn.v_proj", kv, d), ("self_attn.o_proj", d, q),
                ("mlp.gate_proj", f, d), ("mlp.up_proj", f, d), ("mlp.down_proj", d, f)]
    }

    /// Reads `input`, quantizes it and writes a Hugging Face directory at `output` (atomically).
    public static func quantize(input: String, output: String, options: GPTQOptions) throws -> GPTQSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        let graph = try ModelLoader.load(path: input)
        var options = options
        if options.spillDirectory == nil {
            let parent = (output as NSString).deletingLastPathComponent
            options.spillDirectory = parent.isEmpty ? "." : parent
        }
        var result = try quantize(graph: graph, options: options)
        // transformers' save_pretrained marks its files so; some loaders check it.
        if result.graph.metadata.isEmpty { result.graph.metadata = [("format", "pt")] }
        try Converter.attachTokenizerFiles(&result.graph, skipCheck: options.skipTokenizerCheck)
        _ = try SafetensorsExport.write(result.graph, to: output, maxShardSize: options.maxShardSize, force: options.force,
                                        nonFinite: options.allowNonFinite ? .allow : .refuse)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let weights = result.sizes.values.reduce(0) { $0 + $1.weights }
        let storedBits = result.sizes.values.reduce(0.0) { $0 + $1.bitsPerWeight * Double($1.weights) }
        let raised = result.reports.filter(\.value.dampRaised).map { ($0.key, $0.value.dampPercent) }.sorted { $0.0 < $1.0 }
        return GPTQSummary(output: output, method: options.method, configuration: options.configuration,
                           quantizedTensors: result.sizes.count, quantizedWeights: weights,
                           bitsPerWeight: storedBits / Double(max(weights, 1)), windows: result.windows,
                           dampRaised: raised.map { (name: $0.0, damp: $0.1) },
                           deadColumns: result.reports.values.reduce(0) { $0 + $1.deadColumns },
                           refit: GPTQScaleRefit.Report.total(result.reports.values.compactMap(\.refit)),
                           timings: result.timings, passSeconds: result.seconds, seconds: seconds)
    }

    /// Quantizes `graph`; GPTQ draws its calibration windows from `options.calibration` with the
    /// model's tokenizer.
    public static func quantize(graph: ModelGraph, options: GPTQOptions) throws -> GPTQResult {
        try check(graph, options: options)
        let set = options.method == .gptq ? try CalibrationInput.windows(for: graph, options: options.calibration) : nil
        return try quantize(graph: graph, options: options, windows: set)
    }

    /// As above with explicit calibration windows (tests; models without a tokenizer). RTN ignores them.
    public static func quantize(graph source: ModelGraph, options: GPTQOptions, windows set: CalibrationSet?) throws -> GPTQResult {
        try check(source, options: options)
        let start = DispatchTime.now().uptimeNanoseconds
        let sink = try GPTQResultSink(spillDirectory: options.spillDirectory)
        var reports: [String: GPTQSolveReport] = [:]
        var timings = GPTQTimings()
        switch options.method {
        case .rtn:
            try roundToNearest(source, configuration: options.configuration) { name, linear in try sink.receive(name, linear) }
        case .gptq:
            guard let set else { throw KitError.invalidOption("GPTQ needs calibration windows") }
            let weights = try LlamaWeights(graph: source)
            weights.adviseSequentialRead()
            let maxTokens = set.windows.map(\.count).max() ?? options.calibration.sequenceLength
            let runner = LlamaRunner(weights: weights, maxTokens: maxTokens, numerics: .exact)
            let gptq = try GPTQRunner(runner: runner, windows: set.windows, configuration: options.configuration)
            let progress = ProgressReporter(label: "GPTQ", total: Int64(weights.hyperparameters.layerCount), unit: " layers")
            try gptq.run(progress: progress) { layer, module, linear, report in
                let name = "model.layers.\(layer).\(module).weight"
                try sink.receive(name, linear)
                reports[name] = report
            }
            timings = gptq.timings
        }
        let graph = try rewrite(source, components: try sink.components(), options: options)
        var result = GPTQResult(graph: graph, linears: sink.linears, reports: reports, timings: timings, windows: set?.windows.count ?? 0,
                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        result.sizes = sink.sizes
        return result
    }

    /// Everything that can be refused before any work: options, architecture, packable shapes.
    static func check(_ graph: ModelGraph, options: GPTQOptions) throws {
        try options.validate()
        let c = options.configuration
        guard graph.architecture.spec != nil, let h = graph.hyperparameters else {
            throw KitError.invalidOption("\(graph.source): GPTQ needs a known Llama-family architecture (config.json or GGUF metadata); this is '\(graph.architecture.rawValue)'")
        }
        guard graph.config != nil else {
            throw KitError.invalidOption("\(graph.source) has no config.json (or GGUF metadata to build one): transformers could not load the result")
        }
        for tensor in graph.tensors {
            guard case let .quantized(q) = tensor.value else { continue }
            if case .ggml = q.scheme { continue }
            throw KitError.invalidOption("\(graph.source): '\(tensor.name)' is already quantized (\(tensor.typeName)); GPTQ starts from float weights (or GGUF block types)")
        }
        for (module, rows, columns) in linearShapes(h) {
            try GPTQPacking.checkPackable(rows: rows, columns: columns, bits: c.bits, name: "model.layers.0.\(module).weight")
        }
    }

    /// RTN: one linear at a time, straight from the graph's values, each handed to `receive`.
    static func roundToNearest(_ graph: ModelGraph, configuration: GPTQConfiguration,
                               receive: (String, GPTQQuantizedLinear) throws -> Void) throws {
        guard let h = graph.hyperparameters else { return }
        for layer in 0 ..< h.layerCount {
            for (module, rows, columns) in linearShapes(h) {
                let name = "model.layers.\(layer).\(module).weight"
                guard let tensor = graph.tensor(named: name) else { throw GraphError.missingTensor(name: name, context: graph.source) }
                guard tensor.shape == [rows, columns] else { throw GraphError.shapeMismatch(name: name, expected: [rows, columns], found: tensor.shape) }
                let values = try Dequantizer.floats(tensor)
                let (linear, _) = try values.withUnsafeBufferPointer {
                    try GPTQSolver.roundToNearest(weights: $0.baseAddress!, rows: rows, columns: columns,
                                                  configuration: configuration, name: name)
                }
                try receive(name, linear)
            }
        }
    }

    /// The output graph: quantized linears in the GPTQ layout, everything else as it was, and
    /// config.json's `quantization_config`.
    static func rewrite(_ source: ModelGraph, components: [String: GPTQResultSink.Packed], options: GPTQOptions) throws -> ModelGraph {
        var graph = source
        let c = options.configuration
        graph.mapTensors { tensor in
            guard let q = components[tensor.name] else { return tensor }
            var copy = tensor
            copy.value = .quantized(QuantizedTensor(scheme: .gptq(bits: c.bits, groupSize: c.groupSize, sym: c.sym, descAct: q.actOrder),
                                                    shape: q.shape, components: q.components))
            copy.rowOrder = .huggingFace
            copy.castTo = nil
            return copy
        }
        try Converter.dequantizeGGML(&graph, to: .f32)
        var calibration: JSONObject?
        if options.method == .gptq {
            let path = options.calibration.textPath
            calibration = JSONObject([("text", .string(String(path.split(separator: "/").last ?? Substring(path)))),
                                      ("samples", .int(Int64(options.calibration.samples))),
                                      ("seqlen", .int(Int64(options.calibration.sequenceLength))),
                                      ("seed", .int(Int64(truncatingIfNeeded: options.calibration.seed)))])
        }
        var extra = JSONObject([])
        if options.method == .gptq { extra["act_group_aware"] = .bool(c.ordering == .groupAware(groupSize: c.groupSize)) }
        if c.mseNorm > 0 { extra["mse"] = .double(c.mseNorm) }
        if c.mseImportance { extra["mse_importance"] = .bool(true) }
        if c.refitScales { extra["refit_scales"] = .bool(true) }
        let config = GPTQLayout.quantizationConfig(bits: c.bits, groupSize: c.groupSize, descAct: options.method == .gptq && c.actOrder,
                                                   sym: c.sym, dampPercent: c.dampPercent, staticGroups: c.staticGroups,
                                                   trueSequential: options.method == .gptq, method: options.method.rawValue,
                                                   calibration: calibration, meta: extra)
        HuggingFaceDirectory.updateConfig(&graph) { $0["quantization_config"] = .object(config) }
        return graph
    }
}
