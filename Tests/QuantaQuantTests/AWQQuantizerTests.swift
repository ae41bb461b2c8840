import QuantaCore
import QuantaQuant
import Testing

/// AWQ's group quantizer, group-size rules, scale/clip search kernels and scale folding.
@Suite("AWQ quantizer math")
struct AWQQuantizerTests {
    @Test("asymmetric RTN with a zero point: f16 scale = (max − min)/15, zero = round(−min/scale), ends map to 0 and 15")
    func zeroPoints() {
        // 16 values from −1 to 2 in steps of 0.2: range 3, scale 0.2 (as f16), zero 5.
        let values = (0 ..< 16).map { Float(-1) + Float($0) * 0.2 }
        let q = values.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 1, columns: 16, groupSize: 16) }
        let scale = Float(Float16(Float(3) / 15))
        #expect(q.scales == [Float16(Float(3) / 15).bitPattern])
        #expect(q.zeros == [UInt8((1 / scale).rounded(.toNearestOrEven))])
        #expect(q.zeros == [5])
        #expect(q.codes.first == 0 && q.codes.last == 15)
        let back = q.dequantized()
        for (w, v) in zip(values, back) { #expect(abs(w - v) <= scale / 2 + 1e-6) }
        // Decoding is f32(code − zero) · f32(scale16), exactly.
        for i in 0 ..< 16 { #expect(back[i] == Float(Int(q.codes[i]) - 5) * scale) }
    }

    @Test("zero clamps to 0 for an all-positive group and to 15 for an all-negative one; a constant group stays finite")
    func zeroClamps() {
        let positive: [Float] = (0 ..< 8).map { 1 + Float($0) }
        let negative: [Float] = (0 ..< 8).map { -1 - Float($0) }
        let constant = [Float](repeating: 0.25, count: 8)
        for (values, zero) in [(positive, UInt8(0)), (negative, UInt8(15))] {
            let q = values.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 1, columns: 8, groupSize: 8) }
            #expect(q.zeros == [zero])
        }
        let q = constant.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 1, columns: 8, groupSize: 8) }
        #expect(q.dequantized().allSatisfy { $0.isFinite })
        // A NaN weight never traps; its code is 0.
        let withNaN: [Float] = [0.5, .nan, -0.5, 1, 0, 0, 0, 0]
        let n = withNaN.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 1, columns: 8, groupSize: 8) }
        #expect(n.codes[1] == 0)
    }

    @Test("fake quantization equals quantize → dequantize")
    func fakeQuantizeMatches() {
        var generator = SplitMix64(seed: 11)
        let weights = (0 ..< 8 * 64).map { _ in Float(Int(generator.next() % 2001) - 1000) / 333 }
        let q = weights.withUnsafeBufferPointer { AWQGroupQuantizer.quantize($0.baseAddress!, rows: 8, columns: 64, groupSize: 32) }
        var fake = [Float](repeating: 0, count: weights.count)
        weights.withUnsafeBufferPointer { src in
            fake.withUnsafeMutableBufferPointer { AWQGroupQuantizer.fakeQuantize(src.baseAddress!, into: $0.baseAddress!, rows: 8, columns: 64, groupSize: 32) }
        }
        #expect(fake.map(\.bitPattern) == q.dequantized().map(\.bitPattern))
    }

    static let smolLM2: [AWQGroupSize.Linear] = [
        .init(name: "model.layers.0.self_attn.q_proj.weight", inputWidth: 576, outputWidth: 576),
        .init(name: "model.layers.0.self_attn.k_proj.weight", inputWidth: 576, outputWidth: 192),
        .init(name: "model.layers.0.mlp.down_proj.weight", inputWidth: 1536, outputWidth: 576),
    ]

    @Test("group size: 128 does not divide SmolLM2's 576 inputs → an error naming the tensor and suggesting 64; auto picks 64")
    func groupSizeRules() throws {
        #expect(try AWQGroupSize.resolve(requested: nil, linears: Self.smolLM2) == 64)
        #expect(try AWQGroupSize.resolve(requested: 64, linears: Self.smolLM2) == 64)
        #expect(try AWQGroupSize.resolve(requested: 32, linears: Self.smolLM2) == 32)
        do {
            _ = try AWQGroupSize.resolve(requested: 128, linears: Self.smolLM2)
            Issue.record("128 must be refused")
        } catch let error as AWQError {
            #expect(error == .groupSizeDoesNotDivide(groupSize: 128, tensor: "model.layers.0.self_attn.q_proj.weight", inputWidth: 576, suggestion: 64))
            #expect(error.description.contains("--group-size 64") && error.description.contains("576"))
        }
        #expect(throws: AWQError.self) { _ = try AWQGroupSize.resolve(requested: 0, linears: Self.smolLM2) }
        let unpackable = [AWQGroupSize.Linear(name: "w", inputWidth: 64, outputWidth: 12)]
        #expect(throws: AWQError.outputNotPackable(tensor: "w", outputWidth: 12)) { _ = try AWQGroupSize.resolve(requested: 64, linears: unpackable) }
        let odd = [AWQGroupSize.Linear(name: "w", inputWidth: 72, outputWidth: 8)]
        #expect(throws: AWQError.self) { _ = try AWQGroupSize.resolve(requested: nil, linears: odd) }
    }

    @Test("scales: α = 0 gives all ones (plain RTN is on the grid); normalised so max·min = 1")
    func scaleGrid() {
        let mean: [Float] = [0.1, 2, 0.5, 8]
        #expect(AWQScaleSearch.scales(activationMean: mean, weightMean: nil, ratio: 0) == [1, 1, 1, 1])
        for ratio: Float in [0.25, 0.5, 0.95] {
            let s = AWQScaleSearch.scales(activationMean: mean, weightMean: nil, ratio: ratio)
            #expect(abs((s.max()! * s.min()!) - 1) < 1e-5)
            // Order follows the activation means.
            #expect(s[3] > s[1] && s[1] > s[2] && s[2] > s[0])
        }
        let zeroMean = AWQScaleSearch.scales(activationMean: [0, 1], weightMean: nil, ratio: 0.5)
        #expect(zeroMean.allSatisfy { $0.isFinite })
    }

    @Test("scaled fake quantization: Q(W·s)/s, and s = 1 is plain fake quantization")
    func scaledFakeQuantize() {
        var generator = SplitMix64(seed: 5)
        let w = (0 ..< 4 * 32).map { _ in Float(Int(generator.next() % 2001) - 1000) / 500 }
        var plain = [Float](repeating: 0, count: w.count), scaled = plain
        w.withUnsafeBufferPointer { src in
            plain.withUnsafeMutableBufferPointer { AWQGroupQuantizer.fakeQuantize(src.baseAddress!, into: $0.baseAddress!, rows: 4, columns: 32, groupSize: 16) }
            scaled.withUnsafeMutableBufferPointer {
                AWQScaleSearch.scaledFakeQuantize(src.baseAddress!, into: $0.baseAddress!, rows: 4, columns: 32,
                                                  scales: [Float](repeating: 1, count: 32), groupSize: 16)
            }
        }
        #expect(plain == scaled)
    }

    @Test("clip search: never worse than no clipping on its own samples; an outlier gets clipped")
    func clipSearch() {
        var generator = SplitMix64(seed: 9)
        let rows = 8, columns = 32, n = 64
        var w = (0 ..< rows * columns).map { _ in Float(Int(generator.next() % 2001) - 1000) / 1000 }
        w[3] = 12   // one huge weight in row 0, group 0
        let x = (0 ..< n * columns).map { _ in Float(Int(generator.next() % 2001) - 1000) / 1000 }
        let limits = w.withUnsafeBufferPointer { wp in
            x.withUnsafeBufferPointer { xp in
                AWQClipSearch.bestMaxValues(weights: wp.baseAddress!, rows: rows, columns: columns, groupSize: 16,
                                            samples: xp.baseAddress!, sampleCount: n)
            }
        }
        #expect(limits.count == rows * 2)
        // Every limit is one of max|w|·(1 − i/20), i < 10.
        for r in 0 ..< rows {
            for g in 0 ..< 2 {
                let peak = (0 ..< 16).map { abs(w[r * columns + g * 16 + $0]) }.max()!
                let ratio = limits[r * 2 + g] / peak
                #expect(ratio <= 1 && ratio > 0.5 - 1e-6)
            }
        }
        var clipped = w
        clipped.withUnsafeMutableBufferPointer { AWQClipSearch.apply(limits, to: $0.baseAddress!, rows: rows, columns: columns, groupSize: 16) }
        #expect(clipped.enumerated().allSatisfy { abs($0.element) <= limits[($0.offset / columns) * 2 + ($0.offset % columns) / 16] })
    }

    @Test("folding scales into a norm and a linear leaves norm → linear unchanged; linear → linear likewise")
    func folding() {
        var generator = SplitMix64(seed: 21)
        func random(_ n: Int) -> [Float] { (0 ..< n).map { _ in Float(Int(generator.next() % 2001) - 1000) / 700 } }
        let d = 8, rows = 4
        let x = random(d), s = (0 ..< d).map { _ in Float(0.25 + Double(generator.next() % 100) / 25) }
        var norm = random(d), w = random(rows * d), next = random(3 * rows)
        func forward(_ norm: [Float], _ w: [Float], _ next: [Float]) -> [Float] {
            let h = (0 ..< d).map { x[$0] * norm[$0] }
            let y = (0 ..< rows).map { r in (0 ..< d).reduce(Float(0)) { $0 + w[r * d + $1] * h[$1] } }
            return (0 ..< 3).map { o in (0 ..< rows).reduce(Float(0)) { $0 + next[o * rows + $1] * y[$1] } }
        }
        let before = forward(norm, w, next)
        let originalWeights = w
        norm.withUnsafeMutableBufferPointer { n in
            w.withUnsafeMutableBufferPointer { AWQScaleFolding.foldIntoNorm(n.baseAddress!, linears: [($0.baseAddress!, rows)], scales: s) }
        }
        let s2 = Array(s.prefix(rows))
        w.withUnsafeMutableBufferPointer { p in
            next.withUnsafeMutableBufferPointer {
                AWQScaleFolding.foldIntoLinear(previous: p.baseAddress!, previousColumns: d, next: $0.baseAddress!, nextRows: 3, scales: s2)
            }
        }
        let after = forward(norm, w, next)
        for (a, b) in zip(before, after) { #expect(abs(a - b) <= 1e-4 * max(1, abs(a))) }
        #expect(w != originalWeights)   // the weights did change
    }
}
