import QuantaCore
import QuantaGraph

/// Builds the graph's bitsandbytes `QuantizedTensor`s from f32 values, with the components transformers
/// saves (named by key suffix; see `BitsAndBytesLayout`).
public enum BitsAndBytesEncoder {
    /// `quantize_4bit(values, blocksize, compress_statistics: doubleQuant, quant_type: kind)`. `dtype` is
    /// the weight's dtype before quantization (recorded in the quant state; `values` are its exact f32).
    /// NaN/±Inf values are refused (a block's absmax would be NaN/±Inf), and so is any absmax or
    /// double-quant statistic that is not finite; errors name `tensor`.
    public static func fourBit(_ values: UnsafeBufferPointer<Float>, shape: [Int], kind: QuantScheme.Bnb4Kind, blockSize: Int,
                               doubleQuant: Bool, dtype: DType, computeDType: String, tensor: String = "tensor") throws -> QuantizedTensor {
        let count = values.count
        guard try ShapeMath.elementCount(shape, context: "bitsandbytes 4-bit") == count else {
            throw BnbCodecError.sizeMismatch("shape \(shape) does not hold \(count) values")
        }
        try refuseNonFinite(values, tensor: tensor, method: "a 4-bit block's absmax")
        guard let dtypeName = HuggingFaceDirectory.torchDTypeName(dtype), dtype != .f64 else {
            throw GraphError.unsupported("bitsandbytes 4-bit quantizes f32, f16 or bf16 weights, not \(dtype.rawValue)")
        }
        let bytes = Bnb4BitCodec.packedByteCount(count)
        let blocks = Bnb4BitCodec.blockCount(count, blockSize: blockSize)
        let packed = OwnedBytes(count: bytes)
        var absmax = [Float](repeating: 0, count: blocks)
        try absmax.withUnsafeMutableBufferPointer { scales in
            try Bnb4BitCodec.quantize(values, kind: kind, blockSize: blockSize,
                                      packed: packed.buffer.bindMemory(to: UInt8.self), absmax: scales)
        }
        try refuseNonFinite(absmax, tensor: tensor, what: "absmax")
        let names = BitsAndBytesLayout.fourBitComponents
        var components: [(name: String, view: TensorView)] = [
            (names.weight, try TensorView(owned: packed, byteCount: bytes, dtype: .u8, shape: [bytes, 1])),
        ]
        var nested: BitsAndBytesLayout.QuantState.Nested?
        if doubleQuant {
            let compressed = BnbDoubleQuant.compress(absmax)
            // The mean of huge absmax values can overflow even when each is finite.
            try refuseNonFinite([compressed.offset] + compressed.nestedAbsmax, tensor: tensor, what: "double-quant statistic (nested_offset, nested_absmax)")
            components.append((names.absmax, try compressed.quantized.withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: [blocks]) }))
            components.append((names.quantMap, try TensorView.float32(Bnb4BitCodec.code(kind), shape: [16])))
            components.append((names.nestedAbsmax, try TensorView.float32(compressed.nestedAbsmax, shape: [compressed.nestedAbsmax.count])))
            components.append((names.nestedQuantMap, try TensorView.float32(BnbCodeTables.dynamic, shape: [256])))
            nested = .init(blockSize: BnbDoubleQuant.nestedBlockSize, dtype: "float32", offset: compressed.offset)
        } else {
            components.append((names.absmax, try TensorView.float32(absmax, shape: [blocks])))
            components.append((names.quantMap, try TensorView.float32(Bnb4BitCodec.code(kind), shape: [16])))
        }
        let state = BitsAndBytesLayout.QuantState(quantType: kind, blockSize: blockSize, dtype: dtypeName, shape: shape, nested: nested)
        let json = state.encoded()
        components.append((BitsAndBytesLayout.quantStateComponent(kind),
                           try json.withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: [json.count]) }))
        return QuantizedTensor(scheme: .bnb4(kind: kind, blockSize: blockSize, doubleQuant: doubleQuant, computeDType: computeDType),
                               shape: shape, components: components)
    }

    /// `Int8Params._quantize`: the weight is cast to f16 (round to nearest even), then
    /// `int8_vectorwise_quant`. Components: `weight` (int8), `SCB` (f32), `weight_format` (uint8 0 = "row").
    /// NaN/±Inf values, and finite values the f16 cast turns into ±Inf (|w| ≥ 65520), are refused:
    /// a row's SCB would not be finite. Errors name `tensor`.
    public static func int8(_ values: UnsafeBufferPointer<Float>, shape: [Int], threshold: Double,
                            tensor: String = "tensor") throws -> QuantizedTensor {
        guard shape.count == 2, try ShapeMath.elementCount(shape, context: "bitsandbytes int8") == values.count else {
            throw BnbCodecError.sizeMismatch("LLM.int8 needs a 2-D [out, in] weight; shape \(shape) with \(values.count) values")
        }
        try refuseNonFinite(values, tensor: tensor, method: "a row's SCB")
        let rows = shape[0], columns = shape[1]
        let half = values.map { FloatBits.f16ToFloat(FloatBits.floatToF16($0)) }
        if let first = half.firstIndex(where: { !$0.isFinite }) {
            let overflows = half.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
            throw BnbCodecError.nonFinite(tensor: tensor, what: "\(overflows) value\(overflows == 1 ? "" : "s") beyond float16's range (first at element \(first): \(values[first])), which LLM.int8 casts the weight to before quantizing (bitsandbytes Int8Params)")
        }
        let weights = OwnedBytes(count: values.count)
        var scales = [Float](repeating: 0, count: rows)
        try half.withUnsafeBufferPointer { input in
            try scales.withUnsafeMutableBufferPointer { scb in
                try BnbInt8Codec.quantizeRows(input, rows: rows, columns: columns,
                                              weights: weights.buffer.bindMemory(to: Int8.self), scales: scb)
            }
        }
        try refuseNonFinite(scales, tensor: tensor, what: "SCB")
        let format: [UInt8] = [0]
        return QuantizedTensor(scheme: .bnbInt8(threshold: threshold), shape: shape, components: [
            ("weight", try TensorView(owned: weights, byteCount: values.count, dtype: .i8, shape: shape)),
            ("SCB", try TensorView.float32(scales, shape: [rows])),
            ("weight_format", try format.withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: []) }),
        ])
    }

    /// Input values: NaN/±Inf cannot be quantized; `method` says which statistic it would poison.
    static func refuseNonFinite(_ values: UnsafeBufferPointer<Float>, tensor: String, method: String) throws {
        let stats = ValueScan.scan(values)
        guard stats.nonFinite > 0 else { return }
        throw BnbCodecError.nonFinite(tensor: tensor, what: "\(stats.nonFiniteDescription) (first at element \(stats.firstNonFinite ?? 0)); \(method) would not be finite (--allow-nonfinite only lets such values through tensors that stay in float)")
    }

    /// Output statistics: refuse to write any that is NaN/±Inf.
    static func refuseNonFinite(_ values: [Float], tensor: String, what: String) throws {
        guard let first = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw BnbCodecError.nonFinite(tensor: tensor, what: "a non-finite \(what) (\(values[first]) at index \(first))")
    }
}
