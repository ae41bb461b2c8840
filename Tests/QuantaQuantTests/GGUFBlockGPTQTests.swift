import Foundation
import QuantaCore
import QuantaFormats
import Testing
@testable import QuantaQuant

/// The block-GPTQ step on small random layers with a known, correlated Hessian.
@Suite("GGUF block GPTQ")
struct GGUFBlockGPTQTests {
    /// ggml's own encoding of the whole matrix (what llama-quantize writes), decoded.
    static func plain(_ p: GPTQProblem, type: GGMLType, importance: [Float]?) throws -> [Float] {
        let bytes = try #require(type.byteCount(elements: p.rows * p.columns))
        var out = [UInt8](repeating: 0, count: bytes)
        try p.weights.withUnsafeBufferPointer { w in
            try out.withUnsafeMutableBytes { o in
                if let importance {
                    try importance.withUnsafeBufferPointer {
                        try GGMLRowQuantizer.quantize(type, rows: p.rows, rowLength: p.columns, from: w, importance: $0, into: o)
                    }
                } else {
                    try GGMLRowQuantizer.quantize(type, rows: p.rows, rowLength: p.columns, from: w, importance: nil, into: o)
                }
            }
        }
        return try out.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: p.rows * p.columns) }
    }

    // Every case has several blocks along a row: the sweep only helps by pushing one block's error
    // onto later blocks, so a K-quant row of 256 (one super-block) would encode exactly as ggml does.
    @Test("lower output error than plain ggml encoding; the bytes decode to the sweep's Q",
          arguments: [(GGMLType.q5_0, 128), (.q4_K, 768), (.q6_K, 768), (.q8_0, 64), (.q4_0, 96)])
    func beatsPlainEncoding(type: GGMLType, columns: Int) throws {
        let p = GPTQProblem(rows: 48, columns: columns, samples: 300, seed: 7)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: columns, order: .natural, dampPercent: 0.01)
        let diagonal = inverse.diagonal.map { Float($0 / 2) }
        let importance: GGUFBlockGPTQ.Importance = type == .q8_0 ? .none : .weights(diagonal)
        let result = try p.weights.withUnsafeBufferPointer {
            try GGUFBlockGPTQ.solve(weights: try #require($0.baseAddress), rows: p.rows, columns: columns, type: type,
                                    inverse: inverse, importance: importance)
        }
        #expect(result.bytes.count == type.byteCount(elements: p.rows * columns))
        // The output bytes are valid blocks of the type and hold exactly the Q the sweep propagated.
        let decoded = try result.bytes.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: p.rows * columns) }
        #expect(decoded == result.dequantized)
        let calibrated = p.proxyLoss(result.dequantized)
        let reference = p.proxyLoss(try Self.plain(p, type: type, importance: type == .q8_0 ? nil : diagonal))
        #expect(calibrated < reference, "\(type.name): calibrated \(calibrated) vs plain \(reference)")
        // Conditional importance (1/U_ii²) is a valid variant too.
        if type != .q8_0 {
            let conditional = try p.weights.withUnsafeBufferPointer {
                try GGUFBlockGPTQ.solve(weights: try #require($0.baseAddress), rows: p.rows, columns: columns, type: type,
                                        inverse: inverse, importance: .conditional)
            }
            #expect(p.proxyLoss(conditional.dequantized) < reference)
        }
    }

    @Test("a row of one block has nothing to feed its error to: the bytes are ggml's own",
          arguments: [(GGMLType.q4_K, 256), (.q6_K, 256), (.q5_0, 32)])
    func singleBlockIsPlainEncoding(type: GGMLType, columns: Int) throws {
        let p = GPTQProblem(rows: 40, columns: columns, samples: 200, seed: 3)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: columns, order: .natural, dampPercent: 0.01)
        let diagonal = inverse.diagonal.map { Float($0 / 2) }
        let result = try p.weights.withUnsafeBufferPointer {
            try GGUFBlockGPTQ.solve(weights: try #require($0.baseAddress), rows: p.rows, columns: columns, type: type,
                                    inverse: inverse, importance: .weights(diagonal))
        }
        #expect(result.dequantized == (try Self.plain(p, type: type, importance: diagonal)))
    }

    @Test("refuses widths that are not whole blocks and non-finite weights, naming the tensor")
    func refusals() throws {
        let p = GPTQProblem(rows: 4, columns: 48, samples: 60)
        let inverse = try GPTQInverseHessian(hessian: p.hessian, columns: 48, order: .natural, dampPercent: 0.01)
        #expect(throws: GPTQError.self) {
            try p.weights.withUnsafeBufferPointer {
                _ = try GGUFBlockGPTQ.solve(weights: $0.baseAddress!, rows: 4, columns: 48, type: .q4_K, inverse: inverse,
                                            importance: .none, name: "blk.0.ffn_up.weight")
            }
        }
        var bad = p.weights
        bad[5] = .nan
        #expect(throws: GPTQError.self) {
            try bad.withUnsafeBufferPointer {
                _ = try GGUFBlockGPTQ.solve(weights: $0.baseAddress!, rows: 4, columns: 48, type: .q8_0, inverse: inverse,
                                            importance: .none, name: "blk.0.ffn_up.weight")
            }
        }
    }
}
