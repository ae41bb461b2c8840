import Foundation
import QuantaCore
import QuantaEngine
import QuantaFormats
import QuantaGraph
@testable import QuantaKit
import QuantaQuant
import Testing

/// AWQ on tiny-llama (hidden 64, intermediate 160, 8 heads / 2 KV heads): folding through the engine,
/// quantize → write → read back, group-size rules on a real config.
@Suite("AWQ end to end")
struct AWQEndToEndTests {
    static let source = FixturePaths.fixture("engine/tiny-llama")

    static func windows() throws -> CalibrationSet {
        let tokens = (0 ..< 2000).map { Int32(($0 * 37 + 11) % 320) }
        return try CalibrationSet(tokens: tokens, count: 6, length: 32, seed: 3)
    }

    static func logits(_ weights: LlamaWeights, _ tokens: [Int32]) throws -> [Float] {
        try LlamaRunner(weights: weights, maxTokens: tokens.count).logits(tokens: tokens)
    }

    @Test("folding arbitrary scales into norm → q/k/v, norm → gate/up and up → down leaves the engine's logits unchanged")
    func foldingKeepsLogits() throws {
        let graph = try ModelLoader.load(path: Self.source)
        let weights = try LlamaWeights(graph: graph)
        let h = weights.hyperparameters
        let tokens = try Self.windows().windows[0]
        let before = try Self.logits(weights, tokens)
        var generator = SplitMix64(seed: 42)
        func scales(_ n: Int) -> [Float] { (0 ..< n).map { _ in Float(0.2 + Double(generator.next() % 1000) / 200) } }
        let d = h.hiddenSize, f = h.intermediateSize
        let qkvRows = (h.headCount + 2 * h.kvHeadCount) * h.headDimension
        for layer in 0 ..< h.layerCount {
            let q = try weights.linear(layer: layer, module: "self_attn.q_proj")
            let gate = try weights.linear(layer: layer, module: "mlp.gate_proj")
            let up = try weights.linear(layer: layer, module: "mlp.up_proj")
            let down = try weights.linear(layer: layer, module: "mlp.down_proj")
            let attentionNorm = try #require(weights.normWeight(layer: layer, group: .qkv))
            let mlpNorm = try #require(weights.normWeight(layer: layer, group: .gateUp))
            AWQScaleFolding.foldIntoNorm(attentionNorm, linears: [(q.pointer, qkvRows)], scales: scales(d))
            AWQScaleFolding.foldIntoNorm(mlpNorm, linears: [(gate.pointer, 2 * f)], scales: scales(d))
            AWQScaleFolding.foldIntoLinear(previous: up.pointer, previousColumns: d, next: down.pointer, nextRows: d, scales: scales(f))
        }
        let after = try Self.logits(weights, tokens)
        let worst = zip(before, after).map { abs($0 - $1) }.max() ?? .infinity
        let peak = before.map(abs).max() ?? 1
        #expect(worst <= 1e-4 * max(1, peak))
        #expect(worst > 0 || before == after)
    }

    static func quantize(_ options: AWQOptions = AWQOptions(groupSize: nil, searchWindows: 2, searchTokens: 64)) throws -> (AWQResult, ModelGraph) {
        let graph = try ModelLoader.load(path: Self.source)
        return (try AWQQuantizer.quantize(graph: graph, options: options, windows: try Self.windows()), graph)
    }

    @Test("quantize → write → read back: every linear decodes to the pass's values; config, norms and embeddings as expected")
    func roundTrip() throws {
        let (result, source) = try Self.quantize()
        #expect(result.groupSize == 32)   // auto: 160 (intermediate) rules out 128 and 64
        #expect(result.linears.count == 7 * 3)
        let directory = try FixturePaths.scratchDirectory("awq") + "/out"
        _ = try SafetensorsExport.write(result.graph, to: directory, maxShardSize: 5_000_000_000, force: false)
        let back = try ModelLoader.load(path: directory)
        for (name, q) in result.linears {
            let tensor = try #require(back.tensor(named: name))
            guard case let .quantized(stored) = tensor.value, case .awq(4, 32) = stored.scheme else {
                Issue.record("\(name) was not read back as AWQ"); continue
            }
            #expect(tensor.shape == [q.rows, q.columns])
            #expect(try Dequantizer.floats(tensor).map(\.bitPattern) == q.dequantized().map(\.bitPattern))
        }
        let config = try #require(back.config?["quantization_config"]?.objectValue)
        #expect(config["quant_method"]?.stringValue == "awq" && config["version"]?.stringValue == "gemm")
        #expect(config["bits"]?.intValue == 4 && config["group_size"]?.intValue == 32 && config["zero_point"]?.boolValue == true)
        // Embeddings stay as they were; the folded norms are dense and differ from the source's.
        let embedding = try #require(back.tensor(named: "model.embed_tokens.weight"))
        #expect(try Dequantizer.floats(embedding) == Dequantizer.floats(try #require(source.tensor(named: "model.embed_tokens.weight"))))
        let norm = try #require(back.tensor(named: "model.layers.1.input_layernorm.weight"))
        guard case .dense = norm.value else { Issue.record("norm must stay dense"); return }
        #expect(try Dequantizer.floats(norm) != Dequantizer.floats(try #require(source.tensor(named: "model.layers.1.input_layernorm.weight"))))
        // The written model runs and stays close to the float one.
        let tokens = try Self.windows().windows[1]
        let float = try Self.logits(try LlamaWeights(graph: source), tokens)
        let quantized = try Self.logits(try LlamaWeights(graph: back), tokens)
        let meanError = zip(float, quantized).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(float.count)
        let meanMagnitude = float.map { Double(abs($0)) }.reduce(0, +) / Double(float.count)
        #expect(meanError < 0.25 * meanMagnitude)
    }

    @Test("every group's chosen scales score no worse than round-to-nearest (α = 0 is on the grid); grid 1 is plain RTN")
    func searchNeverWorseThanRTN() throws {
        let (awq, _) = try Self.quantize(AWQOptions(groupSize: 32, searchWindows: 3, searchTokens: 96))
        #expect(awq.searches.count == 3)
        for layer in awq.searches {
            #expect(Set(layer.keys) == ["qkv", "gate_up", "down"])   // GQA: no v → o scaling
            for search in layer.values { #expect(search.loss <= search.roundToNearestLoss && search.loss.isFinite) }
        }
        #expect(awq.searches.contains { $0.values.contains { $0.loss < $0.roundToNearestLoss } })
        let (rtn, _) = try Self.quantize(AWQOptions(groupSize: 32, grid: 1, searchWindows: 3, searchTokens: 96, clip: false))
        #expect(rtn.ratios.allSatisfy { $0.values.allSatisfy { $0 == 0 } })
        // α = 0 and no clipping: exactly round-to-nearest of the source weights.
        let source = try LlamaWeights(graph: try ModelLoader.load(path: Self.source))
        let slot = try source.linear(layer: 1, module: "mlp.down_proj")
        let expected = AWQGroupQuantizer.quantize(slot.pointer, rows: slot.rows, columns: slot.columns, groupSize: 32)
        #expect(rtn.linears["model.layers.1.mlp.down_proj.weight"] == expected)
    }

    @Test("the default scores all 20 grid points per group; --awq-grid-stride 4 at most 9 and never beats the exhaustive loss")
    func gridPlans() throws {
        let (exhaustive, _) = try Self.quantize(AWQOptions(groupSize: 32, searchWindows: 3, searchTokens: 96))
        var coarse = AWQOptions(groupSize: 32, searchWindows: 3, searchTokens: 96)
        coarse.gridStride = 4
        let (fast, _) = try Self.quantize(coarse)
        for (a, b) in zip(exhaustive.searches, fast.searches) {
            for (key, search) in a {
                let other = try #require(b[key])
                #expect(search.evaluations == 20 && other.evaluations <= 9)
                #expect(search.loss <= other.loss * (1 + 1e-6))
                #expect(search.roundToNearestLoss == other.roundToNearestLoss)
            }
        }
    }

    @Test("token samples stride coprime to the window length, so they walk every position instead of the first token's")
    func coprimeStride() {
        #expect(AWQLayerPass.stride(128, windowLength: 512) == 129)
        #expect(AWQLayerPass.stride(16, windowLength: 512) == 17)
        #expect(AWQLayerPass.stride(7, windowLength: 512) == 7)
        #expect(AWQLayerPass.stride(0, windowLength: 512) == 1)
        #expect(AWQLayerPass.stride(6, windowLength: 30) == 7)
        let positions = Set(stride(from: 0, to: 128 * 512, by: AWQLayerPass.stride(128, windowLength: 512)).map { $0 % 512 })
        #expect(positions.count > 500)
    }

    @Test("group size 64 is refused for tiny-llama's 160-wide down_proj with a suggestion; bits other than 4 are refused")
    func refusals() throws {
        do {
            _ = try Self.quantize(AWQOptions(groupSize: 64))
            Issue.record("64 must be refused")
        } catch let error as AWQError {
            #expect(error.description.contains("down_proj") && error.description.contains("--group-size 32"))
        }
        #expect(throws: AWQError.unsupportedBits(3)) { _ = try Self.quantize(AWQOptions(bits: 3, groupSize: 32)) }
    }
}
