import QuantaCore
import QuantaGraph
import QuantaQuant

/// An LLM.int8 linear (bitsandbytes `MatMul8bitLt` forward with `threshold > 0`, as transformers runs a
/// `Linear8bitLt` on CPU):
///  1. the activations are cast to f16; every element with |x| ≥ threshold is an outlier, and its column
///     an outlier column;
///  2. each row is quantized to int8 by its absmax over the non-outlier elements (`int8_vectorwise_quant`),
///     outlier columns zeroed;
///  3. int8 × int8 → int32 for all columns, dequantized as `i32 · (rowmax · SCB) · 1/127²`;
///  4. the outlier columns of the original (f32) activations are multiplied in float by the dequantized
///     weight columns (`CB · SCB · 1/127`) and added.
/// The int32 products are exact: the int8 values are widened to f32 one chunk of at most 1024 inputs at a
/// time and multiplied by OpenBLAS, where every partial sum is an integer below 2²⁴ (1024 · 127² < 2²⁴).
/// The weights stay int8 (their stored size); only one chunk is ever widened.
public final class Int8Linear: @unchecked Sendable {
    public let outputs: Int
    public let inputs: Int
    public let threshold: Float
    /// CB, [outputs × inputs].
    let weights: [Int8]
    /// SCB, [outputs].
    let scales: [Float]

    /// bitsandbytes' `int8_mm_dequant` constant (1/127², as written in backends/default/ops.py).
    static let productScale = Float(6.200124e-05)
    static let chunk = 1024

    public init(weights int8: [Int8], scales: [Float], outputs: Int, inputs: Int, threshold: Float) throws {
        guard int8.count == outputs * inputs, scales.count == outputs else {
            throw EngineError.invalidInput("LLM.int8 weight: \(int8.count) values and \(scales.count) scales for [\(outputs) × \(inputs)]")
        }
        self.outputs = outputs
        self.inputs = inputs
        self.threshold = threshold
        self.weights = int8
        self.scales = scales
    }

    /// Builds the linear of a graph tensor stored as `.bnbInt8`; nil for any other tensor.
    public convenience init?(tensor: GraphTensor) throws {
        guard case let .quantized(q) = tensor.value, case let .bnbInt8(threshold) = q.scheme else { return nil }
        guard q.shape.count == 2, let cb = q.component("weight"), cb.dtype == .i8, cb.shape == q.shape,
              let scb = q.component("SCB"), scb.dtype == .f32, scb.elementCount == q.shape[0] else {
            throw EngineError.unsupportedModel("tensor '\(tensor.name)': LLM.int8 needs an int8 [out, in] weight and an F32 SCB [out]")
        }
        let values = cb.withUnsafeBytes { Array($0.bindMemory(to: Int8.self)) }
        try self.init(weights: values, scales: scb.floats(), outputs: q.shape[0], inputs: q.shape[1], threshold: Float(threshold))
    }

    /// Stacks linears that read the same input (q/k/v, gate/up) into one: rows concatenate, each keeps its SCB.
    public init(stacking parts: [Int8Linear]) throws {
        guard let first = parts.first, parts.allSatisfy({ $0.inputs == first.inputs && $0.threshold == first.threshold }) else {
            throw EngineError.invalidInput("LLM.int8 linears stacked together must share their input size and threshold")
        }
        outputs = parts.reduce(0) { $0 + $1.outputs }
        inputs = first.inputs
        threshold = first.threshold
        weights = parts.flatMap(\.weights)
        scales = parts.flatMap(\.scales)
    }

    /// The activations' int8 side: CA (f32 integers, [t × inputs]), the row absmax, the outlier columns.
    struct QuantizedActivations {
        var values: [Float]
        var rowMax: [Float]
        var outlierColumns: [Int]
    }

    /// `int8_vectorwise_quant(A.to(float16), threshold)`.
    func quantizeActivations(_ input: UnsafePointer<Float>, rows t: Int, stride: Int) -> QuantizedActivations {
        let n = inputs
        var half = [Float](repeating: 0, count: t * n)
        var isOutlierColumn = [Bool](repeating: false, count: n)
        for r in 0 ..< t {
            for c in 0 ..< n {
                let v = FloatBits.f16ToFloat(FloatBits.floatToF16(input[r * stride + c]))
                half[r * n + c] = v
                if threshold > 0 && abs(v) >= threshold { isOutlierColumn[c] = true }
            }
        }
        var rowMax = [Float](repeating: 0, count: t)
        var values = [Float](repeating: 0, count: t * n)
        let threshold = self.threshold
        half.withUnsafeBufferPointer { h in
            values.withUnsafeMutableBufferPointer { q in
                rowMax.withUnsafeMutableBufferPointer { m in
                    Parallel.forRanges(t, minimumPerTask: 8) { range in
                        for r in range {
                            // Outlier elements are zeroed before the absmax (bitsandbytes keeps a copy to restore).
                            var peak: Float = 0
                            for c in 0 ..< n {
                                let v = abs(h[r * n + c])
                                if threshold > 0 && v >= threshold { continue }
                                peak = max(peak, v)
                            }
                            m[r] = peak
                            let scale = (1 / peak) * 127
                            for c in 0 ..< n {
                                let v = h[r * n + c]
                                let x = threshold > 0 && abs(v) >= threshold ? 0 : v
                                q[r * n + c] = Float(BnbInt8Codec.roundToInt8(x * scale))
                            }
                        }
                    }
                }
            }
        }
        let outliers = isOutlierColumn.indices.filter { isOutlierColumn[$0] }
        if t > 1 {
            for c in outliers { for r in 0 ..< t { values[r * n + c] = 0 } }
        }
        return QuantizedActivations(values: values, rowMax: rowMax, outlierColumns: outliers)
    }

    /// `output[r, j] (+)= (input · Wᵀ)[r, j]` for `t` rows; strides in elements.
    public func apply(_ input: UnsafePointer<Float>, rows t: Int, inputStride: Int,
                      into output: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool) {
        guard t > 0 else { return }
        let activations = quantizeActivations(input, rows: t, stride: inputStride)
        let m = outputs, n = inputs
        // 1. Exact int32 products, chunk by chunk over the inputs.
        var products = [Int32](repeating: 0, count: t * m)
        let partial = FloatBuffer(count: t * m)
        let widened = FloatBuffer(count: m * min(Self.chunk, n))
        activations.values.withUnsafeBufferPointer { a in
            guard let a = a.baseAddress else { return }
            var k0 = 0
            while k0 < n {
                let k = min(Self.chunk, n - k0)
                weights.withUnsafeBufferPointer { cb in
                    let base = cb.baseAddress!, out = widened.pointer
                    Parallel.forRanges(m, minimumPerTask: 64) { rows in
                        for j in rows { for i in 0 ..< k { out[j * k + i] = Float(base[j * n + k0 + i]) } }
                    }
                }
                Gemm.sgemm(transA: false, transB: true, m: t, n: m, k: k, alpha: 1, a: a + k0, lda: n,
                           b: widened.pointer, ldb: k, beta: 0, c: partial.pointer, ldc: m)
                for i in 0 ..< t * m { products[i] &+= Int32(partial.pointer[i]) }
                k0 += k
            }
        }
        // 2. Dequantize: i32 · (rowmax · SCB) · 1/127².
        let result = FloatBuffer(count: t * m)
        for r in 0 ..< t {
            let rowMax = activations.rowMax[r]
            for j in 0 ..< m {
                result.pointer[r * m + j] = Float(products[r * m + j]) * (rowMax * scales[j]) * Self.productScale
            }
        }
        // 3. Outlier columns in float: A[:, cols] · (CB[:, cols] · SCB · 1/127)ᵀ.
        let columns = activations.outlierColumns
        if !columns.isEmpty {
            let c = columns.count
            let subA = FloatBuffer(count: t * c), subB = FloatBuffer(count: m * c)
            for r in 0 ..< t { for (i, col) in columns.enumerated() { subA.pointer[r * c + i] = input[r * inputStride + col] } }
            for j in 0 ..< m {
                for (i, col) in columns.enumerated() {
                    subB.pointer[j * c + i] = Float(weights[j * n + col]) * scales[j] * BnbInt8Codec.inverse127
                }
            }
            Gemm.sgemm(transA: false, transB: true, m: t, n: m, k: c, alpha: 1, a: subA.pointer, lda: c,
                       b: subB.pointer, ldb: c, beta: 1, c: result.pointer, ldc: m)
        }
        for r in 0 ..< t {
            let target = output + r * outputStride, source = result.pointer + r * m
            if accumulate { for j in 0 ..< m { target[j] += source[j] } } else { target.update(from: source, count: m) }
        }
    }
}

/// The LLM.int8 linears of one decoder layer, grouped as the runner's fused GEMMs (nil where a group
/// is not entirely LLM.int8, e.g. a module left in float by `--skip`).
public struct LlamaInt8Linears: Sendable {
    public var qkv: Int8Linear?
    public var output: Int8Linear?
    public var gateUp: Int8Linear?
    public var down: Int8Linear?

    /// The LLM.int8 linears of the layer at `prefix`, nil when it has none.
    public static func make(tensors: [String: GraphTensor], prefix p: String) throws -> LlamaInt8Linears? {
        func linear(_ module: String) throws -> Int8Linear? {
            guard let tensor = tensors[p + module + ".weight"] else { return nil }
            return try Int8Linear(tensor: tensor)
        }
        func stack(_ modules: [String]) throws -> Int8Linear? {
            let parts = try modules.map(linear)
            guard parts.allSatisfy({ $0 != nil }) else { return nil }
            return try Int8Linear(stacking: parts.compactMap { $0 })
        }
        let linears = LlamaInt8Linears(qkv: try stack(["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]),
                                       output: try linear("self_attn.o_proj"),
                                       gateUp: try stack(["mlp.gate_proj", "mlp.up_proj"]),
                                       down: try linear("mlp.down_proj"))
        guard linears.qkv != nil || linears.output != nil || linears.gateUp != nil || linears.down != nil else { return nil }
        return linears
    }

    /// A weight's f32 values for the engine: bitsandbytes 4-bit weights are rounded to their compute dtype
    /// (`dequantize_4bit(...).to(compute_dtype)` in `matmul_4bit`); everything else as `Dequantizer.floats`.
    public static func engineFloats(_ tensor: GraphTensor) throws -> [Float] {
        var values = try Dequantizer.floats(tensor)
        if case let .quantized(q) = tensor.value, case let .bnb4(_, _, _, compute) = q.scheme {
            BnbTensorDecoder.round(&values, to: BnbTensorDecoder.computeDType(compute))
        }
        return values
    }
}
