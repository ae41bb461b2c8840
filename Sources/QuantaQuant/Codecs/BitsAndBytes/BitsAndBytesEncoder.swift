import QuantaCore
import QuantaGraph

/// Builds the graph's bitsandbytes `QuantizedTensor`s from f32 values, with the components transformers
/// saves (named by key suffix; see `BitsAndBytesLayout`).
public enum BitsAndBytesEncoder {
    /// `quantize_4bit(values, blocksize, compress_statistics: doubleQuant, quant_type: kind)`. `dtype` is
    /// the weight's dtype before quantization (recorded in the quant state; `values` are its exact f32).
    public static func fourBit(_ values: UnsafeBufferPointer<Float>, shape: [Int], kind: QuantScheme.Bnb4Kind, blockSize: Int,
                               doubleQuant: Bool, dtype: DType, computeDType: String) throws -> QuantizedTensor {
        let count = values.count
        guard try ShapeMath.elementCount(shape, context: "bitsandbytes 4-bit") == count else {
            throw BnbCodecError.sizeMismatch("shape \(shape) does not hold \(count) values")
        }
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
        let names = BitsAndBytesLayout.fourBitComponents
        var components: [(name: String, view: TensorView)] = [
            (names.weight, try TensorView(owned: packed, byteCount: bytes, dtype: .u8, shape: [bytes, 1])),
        ]
        var nested: BitsAndBytesLayout.QuantState.Nested?
        if doubleQuant {
            let compressed = BnbDoubleQuant.compress(absmax)
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
    public static func int8(_ values: UnsafeBufferPointer<Float>, shape: [Int], threshold: Double) throws -> QuantizedTensor {
        guard shape.count == 2, try ShapeMath.elementCount(shape, context: "bitsandbytes int8") == values.count else {
            throw BnbCodecError.sizeMismatch("LLM.int8 needs a 2-D [out, in] weight; shape \(shape) with \(values.count) values")
        }
        let rows = shape[0], columns = shape[1]
        let half = values.map { FloatBits.f16ToFloat(FloatBits.floatToF16($0)) }
        let weights = OwnedBytes(count: values.count)
        var scales = [Float](repeating: 0, count: rows)
        try half.withUnsafeBufferPointer { input in
            try scales.withUnsafeMutableBufferPointer { scb in
                try BnbInt8Codec.quantizeRows(input, rows: rows, columns: columns,
                                              weights: weights.buffer.bindMemory(to: Int8.self), scales: scb)
            }
        }
        let format: [UInt8] = [0]
        return QuantizedTensor(scheme: .bnbInt8(threshold: threshold), shape: shape, components: [
            ("weight", try TensorView(owned: weights, byteCount: values.count, dtype: .i8, shape: shape)),
            ("SCB", try TensorView.float32(scales, shape: [rows])),
            ("weight_format", try format.withUnsafeBytes { try TensorView.copying($0, dtype: .u8, shape: []) }),
        ])
    }
}
