import QuantaCore
import QuantaGraph

/// Decodes a bitsandbytes `QuantizedTensor` of the graph to f32, as bitsandbytes dequantizes it:
/// 4-bit gives `dequantize_4bit`'s values (the f32 product rounded to the quant state's dtype),
/// int8 gives `int8_vectorwise_dequant`'s.
public enum BnbTensorDecoder {
    public static func decode(_ q: QuantizedTensor, name: String) throws -> [Float] {
        switch q.scheme {
        case let .bnb4(kind, _, _, _):
            return try decodeFourBit(q, kind: kind, name: name)
        case .bnbInt8:
            return try decodeInt8(q, name: name)
        default:
            throw GraphError.unsupported("tensor '\(name)': \(q.scheme) is not a bitsandbytes scheme")
        }
    }

    /// The quant state of a 4-bit tensor (from its `quant_state.bitsandbytes__*` component).
    public static func quantState(_ q: QuantizedTensor, kind: QuantScheme.Bnb4Kind, name: String) throws -> BitsAndBytesLayout.QuantState {
        let key = BitsAndBytesLayout.quantStateComponent(kind)
        guard let view = q.component(key) else { throw BnbLayoutError.missingComponent(tensor: name, key: key) }
        return try BitsAndBytesLayout.QuantState(bytes: view.withUnsafeBytes { Array($0) }, tensor: name)
    }

    /// The per-block absmax as f32, expanding double quantization.
    static func absmax(_ q: QuantizedTensor, state: BitsAndBytesLayout.QuantState, blocks: Int, name: String) throws -> [Float] {
        let names = BitsAndBytesLayout.fourBitComponents
        guard let absmax = q.component(names.absmax) else { throw BnbLayoutError.missingComponent(tensor: name, key: names.absmax) }
        guard let nested = state.nested else {
            guard absmax.dtype == .f32, absmax.elementCount == blocks else {
                throw BnbLayoutError.invalidComponent(tensor: name, key: name + ".absmax", reason: "expected \(blocks) F32 values")
            }
            return absmax.floats()
        }
        guard let nestedAbsmax = q.component(names.nestedAbsmax), let nestedMap = q.component(names.nestedQuantMap) else {
            throw BnbLayoutError.missingComponent(tensor: name, key: name + ".nested_absmax / .nested_quant_map")
        }
        let nestedBlocks = (blocks + nested.blockSize - 1) / nested.blockSize
        guard absmax.dtype == .u8, absmax.elementCount == blocks, nestedAbsmax.dtype == .f32, nestedAbsmax.elementCount == nestedBlocks,
              nestedMap.dtype == .f32, nestedMap.elementCount == 256 else {
            throw BnbLayoutError.invalidComponent(tensor: name, key: name + ".absmax", reason: "double-quant components do not fit \(blocks) blocks")
        }
        let codes = nestedMap.floats(), scales = nestedAbsmax.floats()
        return try absmax.withUnsafeBytes { raw in
            try codes.withUnsafeBufferPointer { code in
                try scales.withUnsafeBufferPointer { scale in
                    try BnbDoubleQuant.expand(quantized: raw.bindMemory(to: UInt8.self), nestedAbsmax: scale, nestedCode: code,
                                              nestedBlockSize: nested.blockSize, offset: nested.offset)
                }
            }
        }
    }

    static func decodeFourBit(_ q: QuantizedTensor, kind: QuantScheme.Bnb4Kind, name: String) throws -> [Float] {
        let rows = try Bnb4RowDecoder(q, kind: kind, name: name, computeDType: nil)
        var values = [Float](repeating: 0, count: rows.count)
        values.withUnsafeMutableBufferPointer { rows.decodeElements(0, rows.count, into: $0.baseAddress!) }
        return values
    }

    static func decodeInt8(_ q: QuantizedTensor, name: String) throws -> [Float] {
        guard q.shape.count == 2, let weights = q.component("weight"), weights.dtype == .i8, weights.shape == q.shape,
              let scb = q.component("SCB"), scb.dtype == .f32, scb.elementCount == q.shape[0] else {
            throw BnbLayoutError.invalidComponent(tensor: name, key: name, reason: "LLM.int8 needs an int8 [out, in] weight and F32 SCB [out]")
        }
        let scales = scb.floats()
        var values = [Float](repeating: 0, count: weights.elementCount)
        try weights.withUnsafeBytes { raw in
            try scales.withUnsafeBufferPointer { s in
                try values.withUnsafeMutableBufferPointer { out in
                    try BnbInt8Codec.dequantizeRows(weights: raw.bindMemory(to: Int8.self), scales: s,
                                                    rows: q.shape[0], columns: q.shape[1], into: out)
                }
            }
        }
        return values
    }

    /// Rounds f32 values to `dtype` (torch's round-to-nearest-even) and back, in place.
    public static func round(_ values: inout [Float], to dtype: DType) {
        switch dtype {
        case .bf16: for i in values.indices { values[i] = FloatBits.bf16ToFloat(FloatBits.floatToBF16(values[i])) }
        case .f16: for i in values.indices { values[i] = FloatBits.f16ToFloat(FloatBits.floatToF16(values[i])) }
        default: break
        }
    }

    /// The DType a `bnb_4bit_compute_dtype` name stands for (f32 when unknown).
    public static func computeDType(_ name: String) -> DType {
        BitsAndBytesLayout.QuantState(quantType: .nf4, blockSize: 64, dtype: name, shape: [], nested: nil).dataType ?? .f32
    }
}

/// Decoding of a bitsandbytes 4-bit tensor by element ranges (so by rows of a [out, in] weight)
/// straight from its packed bytes; the absmax is expanded once (one float per block of 64).
/// Values are `dequantize_4bit`'s (rounded to the state's dtype), then to `computeDType` when
/// given — what `matmul_4bit` multiplies.
public struct Bnb4RowDecoder: Sendable {
    public let count: Int
    let packed: TensorView
    let absmax: [Float]
    let code: [Float]
    let blockSize: Int
    let rounding: [DType]

    public init(_ q: QuantizedTensor, kind: QuantScheme.Bnb4Kind, name: String, computeDType: DType?) throws {
        let state = try BnbTensorDecoder.quantState(q, kind: kind, name: name)
        let count = try ShapeMath.elementCount(state.shape, context: name)
        guard try ShapeMath.elementCount(q.shape, context: name) == count else {
            throw BnbLayoutError.invalidQuantState(tensor: name, reason: "shape \(state.shape) does not match the tensor's \(q.shape)")
        }
        guard let packed = q.component("weight"), packed.dtype == .u8, packed.elementCount == Bnb4BitCodec.packedByteCount(count) else {
            throw BnbLayoutError.invalidComponent(tensor: name, key: name, reason: "expected \(Bnb4BitCodec.packedByteCount(count)) packed U8 bytes")
        }
        guard state.blockSize > 0, state.blockSize % 2 == 0 else { throw BnbCodecError.invalidBlockSize(state.blockSize) }
        let blocks = Bnb4BitCodec.blockCount(count, blockSize: state.blockSize)
        absmax = try BnbTensorDecoder.absmax(q, state: state, blocks: blocks, name: name)
        self.count = count
        self.packed = packed
        self.code = Bnb4BitCodec.code(kind)
        self.blockSize = state.blockSize
        rounding = [state.dataType, computeDType].compactMap { $0 }.filter { $0 == .bf16 || $0 == .f16 }
    }

    /// Elements `start ..< start + length` into `output`.
    public func decodeElements(_ start: Int, _ length: Int, into output: UnsafeMutablePointer<Float>) {
        packed.withUnsafeBytes { raw in
            guard let bytes = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
            for e in start ..< start + length {
                let byte = bytes[e >> 1]
                let nibble = e & 1 == 0 ? byte >> 4 : byte & 0x0F
                output[e - start] = code[Int(nibble)] * absmax[e / blockSize]
            }
        }
        for dtype in rounding {
            for i in 0 ..< length {
                output[i] = dtype == .bf16 ? FloatBits.bf16ToFloat(FloatBits.floatToBF16(output[i]))
                                           : FloatBits.f16ToFloat(FloatBits.floatToF16(output[i]))
            }
        }
    }
}
