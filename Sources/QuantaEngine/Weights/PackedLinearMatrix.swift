import QuantaCore
import QuantaGraph
import QuantaQuant

/// A weight in one of the Hugging Face quantized layouts — GPTQ (2/3/4/8 bits, any g_idx), AWQ
/// GEMM, bitsandbytes NF4/FP4 (± double quant) and LLM.int8 — decoded by row panels on demand.
/// AWQ, bitsandbytes 4-bit and int8 decode straight from the mapped components; GPTQ keeps its
/// unpacked codes (one byte per weight, from `GPTQTensorDecoder.unpack`, which validates every
/// index) because its input-major packing makes a row panel touch every word of the tensor.
public final class PackedLinearMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let storageName: String
    public let storedBytes: Int
    private let decode: @Sendable (Int, Int, UnsafeMutablePointer<Float>) -> Void
    private let views: [TensorView]

    public init(tensor: GraphTensor, quantized q: QuantizedTensor) throws {
        guard q.shape.count == 2 else { throw EngineError.unsupportedModel("tensor '\(tensor.name)': a linear weight must be 2-D, got \(q.shape)") }
        rows = q.shape[0]
        columns = q.shape[1]
        storedBytes = q.storedBytes
        views = q.components.map(\.view)
        let columns = self.columns
        switch q.scheme {
        case let .gptq(bits, _, _, _):
            storageName = "GPTQ \(bits)-bit"
            let linear = try GPTQTensorDecoder.unpack(q, name: tensor.name)
            decode = { start, count, output in
                // w = scale · Float(code − zero), GPTQGrid.value's arithmetic, over raw buffers.
                let m = linear.rows
                linear.codes.withUnsafeBufferPointer { codes in
                    linear.scales.withUnsafeBufferPointer { scales in
                        linear.zeros.withUnsafeBufferPointer { zeros in
                            linear.groupIndex.withUnsafeBufferPointer { groups in
                                for r in start ..< start + count {
                                    let out = output + (r - start) * columns, row = codes.baseAddress! + r * columns
                                    for c in 0 ..< columns {
                                        let g = Int(groups[c]) * m + r
                                        out[c] = scales[g] * Float(Int(row[c]) - Int(zeros[g]))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        case .awq:
            storageName = "AWQ 4-bit"
            let decoder = try AWQRowDecoder(q, name: tensor.name)
            decode = { start, count, output in decoder.decode(start, count, into: output) }
        case let .bnb4(kind, _, _, compute):
            storageName = "bitsandbytes \(kind)"
            // matmul_4bit multiplies `dequantize_4bit(...).to(compute_dtype)`.
            let decoder = try Bnb4RowDecoder(q, kind: kind, name: tensor.name, computeDType: BnbTensorDecoder.computeDType(compute))
            decode = { start, count, output in decoder.decodeElements(start * columns, count * columns, into: output) }
        case .bnbInt8:
            storageName = "LLM.int8"
            guard let cb = q.component("weight"), cb.dtype == .i8, cb.shape == q.shape,
                  let scb = q.component("SCB"), scb.dtype == .f32, scb.elementCount == q.shape[0] else {
                throw EngineError.unsupportedModel("tensor '\(tensor.name)': LLM.int8 needs an int8 [out, in] weight and an F32 SCB [out]")
            }
            let scales = scb.floats()
            decode = { start, count, output in
                // int8_vectorwise_dequant on the row range, through the codec (shapes were checked above, so it cannot throw).
                cb.withUnsafeBytes { raw in
                    let values = raw.bindMemory(to: Int8.self)
                    scales.withUnsafeBufferPointer { s in
                        try? BnbInt8Codec.dequantizeRows(weights: UnsafeBufferPointer(rebasing: values[(start * columns) ..< ((start + count) * columns)]),
                                                         scales: UnsafeBufferPointer(rebasing: s[start ..< start + count]),
                                                         rows: count, columns: columns,
                                                         into: UnsafeMutableBufferPointer(start: output, count: count * columns))
                    }
                }
            }
        case .ggml:
            throw EngineError.unsupportedModel("tensor '\(tensor.name)': ggml blocks belong in a BlockMatrix")
        }
    }

    public func decodeRows(_ start: Int, _ count: Int, into output: UnsafeMutablePointer<Float>) {
        decode(start, count, output)
    }

    public func releasePages() { for view in views { view.releasePages() } }
    public func adviseSequential() { for view in views { view.adviseSequential() } }
}
