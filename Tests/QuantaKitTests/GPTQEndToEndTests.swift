import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
import QuantaKit
import QuantaQuant
import Testing

/// GPTQ and RTN end to end on fixtures/engine/tiny-llama (random weights: perplexity says nothing
/// there, so these tests check properties): the staged layer pass against runLayer, the GPTQ
/// runner against an independent orchestration over LayerwiseCalibrator, quantize → write →
/// read back → dequantized weights equal what the pass produced.
@Suite("GPTQ end to end (tiny-llama)")
struct GPTQEndToEndTests {
    static let source = FixturePaths.fixture("engine/tiny-llama")
    static let modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                          "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    /// Seeded calibration windows over the tiny vocabulary (320 ids).
    static func windows(count: Int = 6, length: Int = 24, seed: UInt64 = 3) throws -> CalibrationSet {
        var generator = SplitMix64(seed: 99)
        let tokens = (0 ..< 2000).map { _ in Int32(generator.next() % 320) }
        return try CalibrationSet(tokens: tokens, count: count, length: length, seed: seed)
    }

    static func quantize(_ options: GPTQOptions, windows: CalibrationSet? = nil) throws -> GPTQResult {
        let graph = try ModelLoader.load(path: source)
        return try GPTQQuantizer.quantize(graph: graph, options: options, windows: windows ?? Self.windows())
    }

    @Test("the staged layer pass reproduces runLayer bit for bit")
    func stagesMatchRunLayer() throws {
        let graph = try ModelLoader.load(path: Self.source)
        let set = try Self.windows(count: 3)
        let reference = LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 24)
        let staged = LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 24)
        let d = staged.weights.hyperparameters.hiddenSize
        for window in set.windows {
            let t = window.count
            try reference.embedTokens(window)
            for layer in 0 ..< reference.weights.hyperparameters.layerCount { reference.runLayer(layer, tokens: t) }
            var expected = [Float](repeating: 0, count: t * d)
            expected.withUnsafeMutableBufferPointer { reference.storeHidden($0.baseAddress!, rows: t) }

            var state = [Float](repeating: 0, count: t * d)
            var carry = [Float](repeating: 0, count: t * staged.stageCarryWidth)
            try staged.embedTokens(window)
            state.withUnsafeMutableBufferPointer { staged.storeHidden($0.baseAddress!, rows: t) }
            try state.withUnsafeMutableBufferPointer { s in
                try carry.withUnsafeMutableBufferPointer { c in
                    let sp = try #require(s.baseAddress), cp = try #require(c.baseAddress)
                    for layer in 0 ..< staged.weights.hyperparameters.layerCount {
                        _ = staged.stageAttentionInput(layer: layer, state: sp, tokens: t)
                        _ = staged.stageOutputInput(layer: layer, state: sp, carry: cp, tokens: t)
                        _ = staged.stageGateUpInput(layer: layer, state: sp, carry: cp, tokens: t)
                        _ = staged.stageDownInput(layer: layer, state: sp, carry: cp, tokens: t)
                        staged.stageFinish(layer: layer, state: sp, carry: cp, tokens: t)
                    }
                }
            }
            #expect(state.map(\.bitPattern) == expected.map(\.bitPattern))
        }
    }

    /// GPTQ orchestrated the plain way — `LayerwiseCalibrator.observe` re-runs each layer from its
    /// start for every group — with the same Hessian, solve and write-back.
    static func referenceRun(configuration: GPTQConfiguration, set: CalibrationSet) throws -> [String: GPTQQuantizedLinear] {
        let graph = try ModelLoader.load(path: source)
        let runner = LlamaRunner(weights: try LlamaWeights(graph: graph), maxTokens: 24)
        let calibrator = try LayerwiseCalibrator(runner: runner, set: set)
        var result: [String: GPTQQuantizedLinear] = [:]
        for layer in 0 ..< calibrator.layerCount {
            for group in LinearGroup.allCases {
                var hessian: GPTQHessian?
                try calibrator.observe(layer: layer, group: group) { input in
                    let h = hessian ?? GPTQHessian(columns: input.columns)
                    h.add(input.values, rows: input.rows, rowStride: input.rowStride)
                    hessian = h
                }
                let h = try #require(hessian)
                let inverse = try GPTQInverseHessian(hessian: h.matrix(), columns: h.columns, actOrder: configuration.actOrder,
                                                     dampPercent: configuration.dampPercent)
                for module in group.modules {
                    let slot = try runner.weights.linear(layer: layer, module: module)
                    let solved = try GPTQSolver.solve(weights: UnsafePointer(slot.pointer), rows: slot.rows, columns: slot.columns,
                                                      inverse: inverse, configuration: configuration)
                    solved.dequantized.withUnsafeBufferPointer { slot.pointer.update(from: $0.baseAddress!, count: slot.rows * slot.columns) }
                    result["model.layers.\(layer).\(module).weight"] = solved.linear
                }
            }
            calibrator.advance(layer: layer)
        }
        return result
    }

    @Test("true-sequential: the staged runner equals GPTQ over LayerwiseCalibrator, linear for linear",
          arguments: [GPTQConfiguration(bits: 4, groupSize: 32), GPTQConfiguration(bits: 2, groupSize: 16, sym: false, actOrder: true)])
    func runnerMatchesCalibratorOrchestration(configuration: GPTQConfiguration) throws {
        let set = try Self.windows()
        let result = try Self.quantize(GPTQOptions(method: .gptq, configuration: configuration), windows: set)
        let reference = try Self.referenceRun(configuration: configuration, set: set)
        #expect(result.linears.count == 21 && reference.count == 21)
        for (name, linear) in reference { #expect(result.linears[name] == linear, "\(name)") }
        #expect(result.reports.values.allSatisfy { $0.loss.isFinite && $0.loss > 0 && !$0.dampRaised })
    }

    @Test("quantize → write → read back: every linear decodes to what the pass produced; config says gptq",
          arguments: [GPTQOptions.Method.gptq, .rtn])
    func writeReadBack(method: GPTQOptions.Method) throws {
        let configuration = GPTQConfiguration(bits: 4, groupSize: 32, actOrder: method == .gptq)
        let result = try Self.quantize(GPTQOptions(method: method, configuration: configuration))
        let scratch = try FixturePaths.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        _ = try SafetensorsExport.write(result.graph, to: scratch + "/out", maxShardSize: 5_000_000_000, force: false)

        let file = try SafetensorsFile(path: scratch + "/out/model.safetensors")
        let qweight = try #require(file.tensor(named: "model.layers.1.mlp.down_proj.qweight"))
        #expect(qweight.dtype == .i32 && qweight.shape == [160 * 4 / 32, 64])
        #expect(file.tensor(named: "model.layers.1.mlp.down_proj.qzeros")?.shape == [5, 64 * 4 / 32])
        #expect(file.tensor(named: "model.layers.1.mlp.down_proj.scales")?.dtype == .f16)
        #expect(file.tensor(named: "model.layers.1.mlp.down_proj.g_idx")?.shape == [160])
        #expect(file.tensor(named: "model.layers.1.mlp.down_proj.weight") == nil)
        #expect(file.tensor(named: "model.embed_tokens.weight")?.dtype == .f32)

        let loaded = try ModelLoader.load(path: scratch + "/out")
        let quantization = try #require(loaded.config?["quantization_config"]?.objectValue)
        #expect(quantization["quant_method"]?.stringValue == "gptq" && quantization["checkpoint_format"]?.stringValue == "gptq")
        #expect(quantization["bits"]?.intValue == 4 && quantization["group_size"]?.intValue == 32)
        #expect(quantization["desc_act"]?.boolValue == (method == .gptq) && quantization["sym"]?.boolValue == true)
        #expect(quantization["damp_percent"]?.doubleValue == 0.01 && quantization["static_groups"]?.boolValue == false)
        #expect(quantization["true_sequential"]?.boolValue == (method == .gptq))
        for layer in 0 ..< 3 {
            for module in Self.modules {
                let name = "model.layers.\(layer).\(module).weight"
                let tensor = try #require(loaded.tensor(named: name))
                guard case let .quantized(q) = tensor.value else { Issue.record("\(name) is not quantized"); continue }
                #expect(q.scheme == .gptq(bits: 4, groupSize: 32, sym: true, descAct: method == .gptq))
                let produced = try #require(result.linears[name])
                #expect(try GPTQTensorDecoder.unpack(q, name: name) == produced)
                #expect(try Dequantizer.floats(tensor) == produced.dequantized())
            }
        }
        // The engine runs the read-back model through the same decode.
        let weights = try LlamaWeights(graph: loaded)
        let slot = try weights.linear(layer: 2, module: "self_attn.k_proj")
        let expected = try #require(result.linears["model.layers.2.self_attn.k_proj.weight"]).dequantized()
        #expect((0 ..< expected.count).allSatisfy { slot.pointer[$0] == expected[$0] })
        // A same-format copy keeps the components byte for byte.
        let copy = scratch + "/copy"
        _ = try SafetensorsExport.write(loaded, to: copy, maxShardSize: 5_000_000_000, force: false)
        let again = try SafetensorsFile(path: copy + "/model.safetensors")
        for name in ["qweight", "qzeros", "scales", "g_idx"] {
            let a = try #require(file.tensor(named: "model.layers.0.self_attn.q_proj.\(name)")).view
            let b = try #require(again.tensor(named: "model.layers.0.self_attn.q_proj.\(name)")).view
            #expect(a.withUnsafeBytes { Array($0) } == b.withUnsafeBytes { Array($0) })
        }
    }

    @Test("--refit-scales moves only scales, lowers every linear's calibration error, and is recorded in meta")
    func refitScales() throws {
        let base = GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true, mseNorm: 2, mseImportance: true)
        var refitting = base
        refitting.refitScales = true
        let plain = try Self.quantize(GPTQOptions(method: .gptq, configuration: base))
        let refit = try Self.quantize(GPTQOptions(method: .gptq, configuration: refitting))
        #expect(plain.reports.values.allSatisfy { $0.refit == nil })
        for (name, report) in refit.reports {
            let r = try #require(report.refit, "\(name) has no refit report")
            #expect(r.errorAfter <= r.errorBefore && r.errorBefore > 0)
        }
        #expect(refit.reports.values.contains { ($0.refit?.rowsChanged ?? 0) > 0 })
        // The first stage sees the same inputs either way: same codes, different scales.
        let first = "model.layers.0.self_attn.q_proj.weight"
        let a = try #require(plain.linears[first]), b = try #require(refit.linears[first])
        #expect(a.codes == b.codes && a.groupIndex == b.groupIndex && a.scales != b.scales)
        let meta = try #require(refit.graph.config?["quantization_config"]?.objectValue?["meta"]?.objectValue)
        #expect(meta["refit_scales"]?.boolValue == true && meta["mse_importance"]?.boolValue == true)
        #expect(throws: (any Error).self) {
            try GPTQOptions(method: .rtn, configuration: GPTQConfiguration(refitScales: true)).validate()
        }
        #expect(throws: (any Error).self) { try GPTQConfiguration(mseImportance: true).validate() }
    }

    @Test("act-order: g_idx cuts the sweep order into groups of group_size; static groups keep the natural order")
    func actOrderGroups() throws {
        let dynamic = try Self.quantize(GPTQOptions(method: .gptq, configuration: GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true)))
        let down = try #require(dynamic.linears["model.layers.0.mlp.down_proj.weight"])
        #expect((0 ..< 5).map { g in down.groupIndex.filter { $0 == g }.count } == [32, 32, 32, 32, 32])
        #expect(down.groupIndex != (0 ..< 160).map { Int32($0 / 32) })
        let fixed = try Self.quantize(GPTQOptions(method: .gptq, configuration: GPTQConfiguration(bits: 4, groupSize: 32, actOrder: true, staticGroups: true)))
        #expect(fixed.linears.values.allSatisfy { $0.groupIndex == (0 ..< $0.columns).map { Int32($0 / 32) } })
    }

    @Test("round-to-nearest stays within half a step of every weight", arguments: [2, 4, 8])
    func roundToNearestBound(bits: Int) throws {
        let graph = try ModelLoader.load(path: Self.source)
        let result = try GPTQQuantizer.quantize(graph: graph, options: GPTQOptions(method: .rtn, configuration: GPTQConfiguration(bits: bits, groupSize: -1, sym: false)), windows: nil)
        for (name, linear) in result.linears {
            let original = try Dequantizer.floats(try #require(graph.tensor(named: name)))
            let values = linear.dequantized()
            for r in 0 ..< linear.rows {
                let step = linear.scales[r]
                for c in 0 ..< linear.columns {
                    // The f16-rounded scale may shift the grid by a relative 2⁻¹¹ over maxq steps.
                    #expect(abs(values[r * linear.columns + c] - original[r * linear.columns + c]) <= step * (0.5 + Float(1 << bits) / 2048) + 1e-7)
                }
            }
        }
    }

    @Test("options and shapes that cannot work are refused before any work")
    func refusals() throws {
        let graph = try ModelLoader.load(path: Self.source)
        // k/v have 16 outputs: 3-bit qzeros pack 32 zero points per three words.
        #expect(throws: GPTQError.self) {
            _ = try GPTQQuantizer.quantize(graph: graph, options: GPTQOptions(method: .gptq, configuration: GPTQConfiguration(bits: 3, groupSize: 32)), windows: Self.windows())
        }
        #expect(throws: KitError.self) {
            _ = try GPTQQuantizer.quantize(graph: graph, options: GPTQOptions(method: .rtn, configuration: GPTQConfiguration(actOrder: true)), windows: nil)
        }
        #expect(throws: KitError.self) {
            _ = try GPTQQuantizer.quantize(graph: graph, options: GPTQOptions(method: .gptq, configuration: GPTQConfiguration(groupSize: -1, staticGroups: true)), windows: Self.windows())
        }
        #expect(throws: KitError.self) {
            _ = try GPTQQuantizer.quantize(graph: graph, options: GPTQOptions(method: .gptq), windows: nil)
        }
    }
}
