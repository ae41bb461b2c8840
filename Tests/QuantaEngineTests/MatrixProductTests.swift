import CQuantaKernels
import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant
import Testing
@testable import QuantaEngine

/// `MatrixProduct` against a double-precision product of the decoded weights, for every path:
/// f32 rows straight from storage, tile decode + sgemm (exact numerics, and ggml numerics with
/// activations rounded / fake-quantized), the int8 GEMM (ggml numerics for types with an int8 form),
/// llama.cpp's interleaved Q/K rows, strided inputs and outputs, accumulation.
@Suite("MatrixProduct")
struct MatrixProductTests {
    static let types: [GGMLType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
                                    .iq4_nl, .iq4_xs, .iq1_s, .iq1_m, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s]

    static func matrix(_ type: GGMLType, rows: Int, columns: Int, heads: Int? = nil, seed: UInt64) throws -> BlockMatrix {
        let blocks = rows * columns / type.blockSize
        let bytes = type == .f16 || type == .bf16
            ? randomHalves(type, count: rows * columns, seed: seed)
            : moderateBlocks(type, blocks: blocks, seed: seed)
        let view = try bytes.withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: [bytes.count]) }
        return try BlockMatrix(view: view, type: type, rows: rows, columns: columns, interleavedHeads: heads, name: "w")
    }

    /// Random blocks whose f16 scale fields hold moderate values (0.001 … 0.06), so products have no
    /// huge cancellations and a relative tolerance is meaningful.
    static func moderateBlocks(_ type: GGMLType, blocks: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var bytes = (0 ..< blocks * type.blockBytes).map { _ in UInt8(truncatingIfNeeded: g.next() >> 24) }
        for block in 0 ..< blocks {
            for offset in WeightKernelTests.halfOffsets(type) {
                let value = Float(1 + g.next() % 60) / 1000
                let bits = FloatBits.floatToF16(value)
                bytes[block * type.blockBytes + offset] = UInt8(bits & 0xFF)
                bytes[block * type.blockBytes + offset + 1] = UInt8(bits >> 8)
            }
            if type == .iq1_m {
                // IQ1_M's f16 d: bits 4w ..< 4w + 4 in the top nibble of scales u16[w] (block bytes 48 ..< 56).
                let bits = FloatBits.floatToF16(Float(1 + g.next() % 60) / 1000)
                for w in 0 ..< 4 {
                    let at = block * type.blockBytes + 49 + 2 * w
                    bytes[at] = bytes[at] & 0x0F | UInt8((bits >> UInt16(4 * w)) & 0xF) << 4
                }
            }
        }
        return bytes
    }

    /// Finite f16 / bf16 values of moderate size.
    static func randomHalves(_ type: GGMLType, count: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var out: [UInt8] = []
        for _ in 0 ..< count {
            let value = Float(Int(g.next() % 2001) - 1000) / 997
            let bits = type == .f16 ? FloatBits.floatToF16(value) : FloatBits.floatToBF16(value)
            out.append(UInt8(bits & 0xFF)); out.append(UInt8(bits >> 8))
        }
        return out
    }

    static func activations(rows: Int, stride: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0 ..< rows * stride).map { i in Float(Int(g.next() % 20001) - 10000) / 5000 * (i % 11 == 0 ? 4 : 1) }
    }

    /// y[r][j] = Σ_i x[r][i]·w[j][i] in double, x read with `stride`.
    static func reference(_ x: [Float], stride: Int, rows t: Int, weights w: [Float], n: Int, k: Int) -> [Double] {
        var y = [Double](repeating: 0, count: t * n)
        for r in 0 ..< t { for j in 0 ..< n { var s = 0.0; for i in 0 ..< k { s += Double(x[r * stride + i]) * Double(w[j * k + i]) }; y[r * n + j] = s } }
        return y
    }

    static func run(_ w: WeightMatrix, _ x: [Float], rows t: Int, stride: Int, numerics: Numerics, outputStride: Int, accumulate: Bool,
                    initial: Float = 0) -> [Float] {
        var y = [Float](repeating: initial, count: t * outputStride)
        let scratch = ProductScratch()
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                MatrixProduct.multiply(w, xp.baseAddress!, rows: t, inputStride: stride, into: yp.baseAddress!, outputStride: outputStride,
                                       accumulate: accumulate, numerics: numerics, scratch: scratch)
            }
        }
        return y
    }

    static func worst(_ y: [Float], _ reference: [Double], rows t: Int, n: Int, outputStride: Int, offset: Double = 0) -> (Double, Double) {
        var worst = 0.0, scale = 0.0
        for r in 0 ..< t { for j in 0 ..< n {
            worst = max(worst, abs(Double(y[r * outputStride + j]) - offset - reference[r * n + j]))
            scale = max(scale, abs(reference[r * n + j]))
        } }
        return (worst, scale)
    }

    @Test("exact numerics: the decoded weights' product, strided in and out, accumulating", arguments: types)
    func exact(type: GGMLType) throws {
        let n = 40, k = 512, t = 7, stride = k + 3, outputStride = n + 5
        let w = try Self.matrix(type, rows: n, columns: k, seed: 3)
        let decoded = w.decodedFloats().array
        let x = Self.activations(rows: t, stride: stride, seed: 5)
        let reference = Self.reference(x, stride: stride, rows: t, weights: decoded, n: n, k: k)
        let y = Self.run(w, x, rows: t, stride: stride, numerics: .exact, outputStride: outputStride, accumulate: true, initial: 0.5)
        let (worst, scale) = Self.worst(y, reference, rows: t, n: n, outputStride: outputStride, offset: 0.5)
        #expect(worst <= 1e-5 * max(scale, 1), "\(type.name): \(worst) of \(scale)")
        // Columns past n are never written.
        #expect(y[n] == 0.5 && y[outputStride - 1] == 0.5)
    }

    @Test("ggml numerics: the decoded weights times the activations as ggml converts them (int8 GEMM or fake-quantized tile)",
          arguments: types)
    func ggml(type: GGMLType) throws {
        let n = 40, k = 512, t = 9, stride = k
        let w = try Self.matrix(type, rows: n, columns: k, seed: 11)
        let decoded = w.decodedFloats().array
        let x = Self.activations(rows: t, stride: stride, seed: 13)
        var converted = [Float](repeating: 0, count: t * k)
        let scratch = ProductScratch()
        x.withUnsafeBufferPointer { xp in
            converted.withUnsafeMutableBufferPointer { cp in
                ActivationConversion.fakeQuantize(xp.baseAddress!, rows: t, k: k, stride: stride, format: w.activationFormat,
                                                  into: cp.baseAddress!, scratch: scratch)
            }
        }
        let reference = Self.reference(converted, stride: k, rows: t, weights: decoded, n: n, k: k)
        let y = Self.run(w, x, rows: t, stride: stride, numerics: .ggml, outputStride: n, accumulate: false)
        let (worst, scale) = Self.worst(y, reference, rows: t, n: n, outputStride: n)
        #expect(worst <= 2e-5 * max(scale, 1), "\(type.name): \(worst) of \(scale)")
        // And the conversion did something for quantized types: the exact product differs.
        if w.activationFormat != .f32 {
            let plain = Self.reference(x, stride: stride, rows: t, weights: decoded, n: n, k: k)
            #expect(zip(plain, reference).contains { $0 != $1 })
        }
    }

    @Test("llama.cpp's interleaved Q/K rows decode in Hugging Face order, in every path (tile, int8, bf16)",
          arguments: [GGMLType.q4_K, .bf16])
    func interleavedRows(type: GGMLType) throws {
        let heads = 4, n = 64, k = 256
        let stored = try Self.matrix(type, rows: n, columns: k, seed: 17)
        let permuted = try Self.matrix(type, rows: n, columns: k, heads: heads, seed: 17)
        let plain = stored.decodedFloats().array, hf = permuted.decodedFloats().array
        for storedRow in 0 ..< n {
            let row = RowPermutation.huggingFaceRow(forGGUFRow: storedRow, headRows: n / heads)
            #expect(Array(hf[(row * k) ..< ((row + 1) * k)]) == Array(plain[(storedRow * k) ..< ((storedRow + 1) * k)]))
        }
        let x = Self.activations(rows: 3, stride: k, seed: 19)
        let a = Self.run(stored, x, rows: 3, stride: k, numerics: .ggml, outputStride: n, accumulate: false)
        let b = Self.run(permuted, x, rows: 3, stride: k, numerics: .ggml, outputStride: n, accumulate: false)
        for r in 0 ..< 3 { for storedRow in 0 ..< n {
            let row = RowPermutation.huggingFaceRow(forGGUFRow: storedRow, headRows: n / heads)
            #expect(abs(b[r * n + row] - a[r * n + storedRow]) <= 1e-4 * max(1, abs(a[r * n + storedRow])))
        } }
    }

    @Test("f32 storage: sgemm on the stored rows, no copy")
    func floatRows() throws {
        let n = 300, k = 64, t = 5
        let values = Self.activations(rows: n, stride: k, seed: 23)
        let view = try TensorView.float32(values, shape: [n, k])
        let w = try FloatMatrix(view: view, rows: n, columns: k)
        #expect(w.denseFloats != nil)
        let x = Self.activations(rows: t, stride: k, seed: 29)
        let reference = Self.reference(x, stride: k, rows: t, weights: values, n: n, k: k)
        for numerics in Numerics.allCases {
            let y = Self.run(w, x, rows: t, stride: k, numerics: numerics, outputStride: n, accumulate: false)
            let (worst, scale) = Self.worst(y, reference, rows: t, n: n, outputStride: n)
            #expect(worst <= 1e-5 * max(scale, 1))
        }
    }

    @Test("panel plans cover every row once and balance the workers")
    func panelPlans() {
        for (n, k) in [(1, 32), (17, 576), (576, 576), (1536, 576), (49152, 576), (4096, 11008), (11008, 4096)] {
            let plan = PanelPlan(rows: n, columns: k)
            #expect(plan.panels * plan.panelRows >= n && (plan.panels - 1) * plan.panelRows < n, "\(n)×\(k)")
            #expect(plan.panelRows % 16 == 0)
        }
    }
}
