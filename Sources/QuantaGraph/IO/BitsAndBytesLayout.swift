import Foundation
import QuantaCore

/// How bitsandbytes-quantized linears sit in a Hugging Face safetensors checkpoint (transformers 5.23 +
/// bitsandbytes 0.50.2 `save_pretrained`), both ways.
///
/// 4-bit, for a weight `W` (e.g. `model.layers.0.mlp.down_proj.weight`): `W` (uint8 `[(n+1)/2, 1]`),
/// `W.absmax` (f32, or uint8 when double-quantized), `W.quant_map` (f32[16]), with double quant
/// `W.nested_absmax` (f32) and `W.nested_quant_map` (f32[256]), and `W.quant_state.bitsandbytes__nf4|fp4`
/// (uint8 bytes of `json.dumps` of quant_type, blocksize, dtype, shape [, nested_blocksize, nested_dtype,
/// nested_offset]) — bitsandbytes `QuantState.as_dict(packed=True)`.
///
/// LLM.int8, for a module `M`: `M.weight` (int8 `[out, in]`), `M.SCB` (f32 `[out]`) and `M.weight_format`
/// (uint8 scalar, 0 = "row") — bitsandbytes `Linear8bitLt._save_to_state_dict`.
///
/// In the graph a quantized linear is one `GraphTensor` named like the weight whose `QuantizedTensor`
/// components are named by key suffix after the module: `weight`, `weight.absmax`, `weight.quant_map`,
/// `weight.nested_absmax`, `weight.nested_quant_map`, `weight.quant_state.bitsandbytes__nf4` (4-bit);
/// `weight`, `SCB`, `weight_format` (int8).
public enum BitsAndBytesLayout {
    public static let quantStatePrefix = "quant_state.bitsandbytes__"
    /// Largest quant_state JSON we parse (bitsandbytes writes under 200 bytes).
    static let quantStateCap = 4096

    // MARK: export (the generic `QuantizedLayouts.exportTensors` writes `<module>.<component>`)

    /// Component names, relative to the module, as the keys transformers writes.
    public static let fourBitComponents = (weight: "weight", absmax: "weight.absmax", quantMap: "weight.quant_map",
                                           nestedAbsmax: "weight.nested_absmax", nestedQuantMap: "weight.nested_quant_map")

    public static func quantStateComponent(_ kind: QuantScheme.Bnb4Kind) -> String { "weight." + quantStatePrefix + kind.rawValue }

    /// The `quantization_config` transformers' `BitsAndBytesConfig.to_dict()` writes (keys sorted on output).
    public static func quantizationConfig(scheme: QuantScheme, skipModules: [String]?) -> JSONObject {
        var fourBit = false, quantType = "fp4", doubleQuant = false, computeDType = "float32", threshold = 6.0
        switch scheme {
        case let .bnb4(kind, _, dq, compute):
            fourBit = true; quantType = kind.rawValue; doubleQuant = dq; computeDType = compute
        case let .bnbInt8(t):
            threshold = t
        default:
            break
        }
        return JSONObject([
            ("_load_in_4bit", .bool(fourBit)), ("_load_in_8bit", .bool(!fourBit)),
            ("bnb_4bit_compute_dtype", .string(computeDType)), ("bnb_4bit_quant_storage", .string("uint8")),
            ("bnb_4bit_quant_type", .string(quantType)), ("bnb_4bit_use_double_quant", .bool(doubleQuant)),
            ("llm_int8_enable_fp32_cpu_offload", .bool(false)), ("llm_int8_has_fp16_weight", .bool(false)),
            ("llm_int8_skip_modules", skipModules.map { .array($0.map { .string($0) }) } ?? .null),
            ("llm_int8_threshold", .double(threshold)),
            ("load_in_4bit", .bool(fourBit)), ("load_in_8bit", .bool(!fourBit)),
            ("quant_method", .string("bitsandbytes")),
        ])
    }

    // MARK: quant_state

    /// The non-tensor part of a 4-bit quant state.
    public struct QuantState: Sendable, Equatable {
        public var quantType: QuantScheme.Bnb4Kind
        public var blockSize: Int
        /// torch dtype name of the quantized weight ("float32", "bfloat16", "float16"): the dtype
        /// `dequantize_4bit` returns.
        public var dtype: String
        public var shape: [Int]
        public var nested: Nested?

        public struct Nested: Sendable, Equatable {
            public var blockSize: Int
            public var dtype: String
            public var offset: Float
            public init(blockSize: Int, dtype: String, offset: Float) {
                self.blockSize = blockSize; self.dtype = dtype; self.offset = offset
            }
        }

        public init(quantType: QuantScheme.Bnb4Kind, blockSize: Int, dtype: String, shape: [Int], nested: Nested?) {
            self.quantType = quantType; self.blockSize = blockSize; self.dtype = dtype; self.shape = shape; self.nested = nested
        }

        /// The DType of `dtype`.
        public var dataType: DType? { QuantState.dtype(named: dtype) }

        static func dtype(named name: String) -> DType? {
            switch name {
            case "float32": return .f32
            case "float16": return .f16
            case "bfloat16": return .bf16
            default: return nil
            }
        }

        /// The bytes bitsandbytes packs: `json.dumps(dict)` (", " and ": " separators, Python float repr).
        public func encoded() -> [UInt8] {
            var parts = [
                "\"quant_type\": \"\(quantType.rawValue)\"", "\"blocksize\": \(blockSize)", "\"dtype\": \"\(dtype)\"",
                "\"shape\": [\(shape.map(String.init).joined(separator: ", "))]",
            ]
            if let nested {
                parts += ["\"nested_blocksize\": \(nested.blockSize)", "\"nested_dtype\": \"\(nested.dtype)\"",
                          "\"nested_offset\": \(pythonFloatRepr(Double(nested.offset)))"]
            }
            return Array(("{" + parts.joined(separator: ", ") + "}").utf8)
        }

        /// Parses and validates a packed quant_state (`tensor` names it in errors).
        public init(bytes: [UInt8], tensor: String) throws {
            func bad(_ reason: String) -> BnbLayoutError { .invalidQuantState(tensor: tensor, reason: reason) }
            guard bytes.count <= quantStateCap else { throw bad("\(bytes.count) bytes is more than the \(quantStateCap)-byte cap") }
            guard let object = try JSONParser.parse(bytes, context: tensor).objectValue else { throw bad("not a JSON object") }
            guard let type = object["quant_type"]?.stringValue, let kind = QuantScheme.Bnb4Kind(rawValue: type) else {
                throw bad("quant_type must be \"nf4\" or \"fp4\"")
            }
            guard let block = object["blocksize"]?.intValue, [32, 64, 128, 256, 512, 1024, 2048, 4096].contains(block) else {
                throw bad("blocksize must be one of 32…4096 (a power of two)")
            }
            guard let dtype = object["dtype"]?.stringValue, QuantState.dtype(named: dtype) != nil else {
                throw bad("dtype must be float32, float16 or bfloat16")
            }
            guard let dims = object["shape"]?.arrayValue?.compactMap(\.intValue), dims.count == object["shape"]?.arrayValue?.count,
                  !dims.isEmpty, dims.allSatisfy({ $0 >= 0 }) else {
                throw bad("shape must be a list of non-negative integers")
            }
            _ = try ShapeMath.elementCount(dims, context: tensor)
            var nested: Nested?
            if object["nested_blocksize"] != nil || object["nested_offset"] != nil {
                guard let nb = object["nested_blocksize"]?.intValue, nb > 0, nb <= 1 << 20 else { throw bad("nested_blocksize must be a positive integer") }
                guard let nd = object["nested_dtype"]?.stringValue, nd == "float32" else { throw bad("nested_dtype must be float32") }
                guard let offset = object["nested_offset"]?.doubleValue, offset.isFinite else { throw bad("nested_offset must be a finite number") }
                nested = Nested(blockSize: nb, dtype: nd, offset: Float(offset))
            }
            self.init(quantType: kind, blockSize: block, dtype: dtype, shape: dims, nested: nested)
        }
    }

    /// Python's `repr(float)`: the shortest string that reads back to the same double, in positional
    /// notation for 1e-4 ≤ |x| < 1e16 and as `d.ddde±XX` otherwise.
    public static func pythonFloatRepr(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Infinity" : "Infinity") }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also the shortest round-trip digits; only the layout differs.
        let swift = "\(value)"
        let magnitude = abs(value)
        let exponential = magnitude < 1e-4 || magnitude >= 1e16
        let (digits, exponent) = decimalDigits(swift)
        let sign = value < 0 ? "-" : ""
        if exponential {
            let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
            let e = exponent
            return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        // Positional: digits d1 d2 … with the decimal point after (exponent + 1) digits.
        let point = exponent + 1
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }

    /// Significant digits (no leading/trailing zeros) and the decimal exponent of the first one.
    static func decimalDigits(_ text: String) -> (String, Int) {
        var body = text.hasPrefix("-") ? String(text.dropFirst()) : text
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(body[body.index(after: e)...]) ?? 0
            body = String(body[..<e])
        }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var all = integer + fraction
        var firstExponent = integer.count - 1 + exponent
        while all.hasPrefix("0") && all.count > 1 { all.removeFirst(); firstExponent -= 1 }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (all, firstExponent)
    }

    // MARK: import

    /// Rebuilds bitsandbytes-quantized linears from a checkpoint's tensors (`quantization_config.quant_method
    /// == "bitsandbytes"`); other tensors pass through. The config supplies the compute dtype and threshold.
    public static func importTensors(quantization: JSONObject, tensors: [GraphTensor], source: String) throws -> [GraphTensor] {
        var byName: [String: TensorView] = [:]
        for tensor in tensors { if case let .dense(view) = tensor.value { byName[tensor.name] = view } }
        let computeDType = quantization["bnb_4bit_compute_dtype"]?.stringValue ?? "float32"
        let threshold = quantization["llm_int8_threshold"]?.doubleValue ?? 6.0

        var consumed = Set<String>()
        var rebuilt: [String: GraphTensor] = [:]
        for tensor in tensors {
            if let marker = tensor.name.range(of: "." + quantStatePrefix) {
                let weightName = String(tensor.name[..<marker.lowerBound])
                let rebuiltTensor = try importFourBit(weightName: weightName, stateKey: tensor.name, byName: byName, computeDType: computeDType)
                rebuilt[weightName] = rebuiltTensor
                if case let .quantized(q) = rebuiltTensor.value {
                    let module = QuantizedLayouts.module(of: weightName)
                    for component in q.components { consumed.insert(module + "." + component.name) }
                }
            } else if tensor.name.hasSuffix(".SCB") {
                let module = String(tensor.name.dropLast(".SCB".count))
                rebuilt[module + ".weight"] = try importInt8(module: module, byName: byName, threshold: threshold)
                consumed.formUnion([module + ".weight", module + ".SCB", module + ".weight_format"])
            }
        }
        guard !rebuilt.isEmpty else {
            throw GraphError.unsupported("\(source): quantization_config says bitsandbytes but no tensor carries a bitsandbytes quant_state or SCB")
        }
        var result: [GraphTensor] = []
        for tensor in tensors {
            if let quantized = rebuilt[tensor.name] { result.append(quantized); continue }
            if consumed.contains(tensor.name) { continue }
            result.append(tensor)
        }
        return result
    }

    static func importFourBit(weightName: String, stateKey: String, byName: [String: TensorView],
                              computeDType: String) throws -> GraphTensor {
        func component(_ suffix: String) throws -> TensorView {
            let key = weightName + "." + suffix
            guard let view = byName[key] else { throw BnbLayoutError.missingComponent(tensor: weightName, key: key) }
            return view
        }
        guard let packed = byName[weightName] else { throw BnbLayoutError.missingComponent(tensor: weightName, key: weightName) }
        guard let stateView = byName[stateKey] else { throw BnbLayoutError.missingComponent(tensor: weightName, key: stateKey) }
        guard stateView.dtype == .u8, stateView.shape.count == 1 else {
            throw BnbLayoutError.invalidComponent(tensor: weightName, key: stateKey, reason: "must be a 1-D uint8 tensor")
        }
        let state = try QuantState(bytes: stateView.withUnsafeBytes { Array($0) }, tensor: weightName)
        guard stateKey.hasSuffix(state.quantType.rawValue) else {
            throw BnbLayoutError.invalidComponent(tensor: weightName, key: stateKey, reason: "names \(stateKey.split(separator: "_").last ?? "") but its quant_type is \(state.quantType.rawValue)")
        }
        let count = try ShapeMath.elementCount(state.shape, context: weightName)
        let blocks = (count + state.blockSize - 1) / state.blockSize
        try expect(packed, dtype: .u8, elements: (count + 1) / 2, tensor: weightName, key: weightName)
        let absmax = try component("absmax")
        let quantMap = try component("quant_map")
        try expect(quantMap, dtype: .f32, elements: 16, tensor: weightName, key: weightName + ".quant_map")
        let names = fourBitComponents
        var components: [(name: String, view: TensorView)] = [(names.weight, packed), (names.absmax, absmax), (names.quantMap, quantMap)]
        if let nested = state.nested {
            try expect(absmax, dtype: .u8, elements: blocks, tensor: weightName, key: weightName + ".absmax")
            let nestedAbsmax = try component("nested_absmax")
            try expect(nestedAbsmax, dtype: .f32, elements: (blocks + nested.blockSize - 1) / nested.blockSize,
                       tensor: weightName, key: weightName + ".nested_absmax")
            let nestedMap = try component("nested_quant_map")
            try expect(nestedMap, dtype: .f32, elements: 256, tensor: weightName, key: weightName + ".nested_quant_map")
            components += [(names.nestedAbsmax, nestedAbsmax), (names.nestedQuantMap, nestedMap)]
        } else {
            try expect(absmax, dtype: .f32, elements: blocks, tensor: weightName, key: weightName + ".absmax")
        }
        components.append((quantStateComponent(state.quantType), stateView))
        let scheme = QuantScheme.bnb4(kind: state.quantType, blockSize: state.blockSize, doubleQuant: state.nested != nil,
                                      computeDType: computeDType)
        return GraphTensor(name: weightName, value: .quantized(QuantizedTensor(scheme: scheme, shape: state.shape, components: components)))
    }

    static func importInt8(module: String, byName: [String: TensorView], threshold: Double) throws -> GraphTensor {
        let weightName = module + ".weight"
        guard let weight = byName[weightName] else { throw BnbLayoutError.missingComponent(tensor: weightName, key: weightName) }
        guard weight.dtype == .i8, weight.shape.count == 2 else {
            throw BnbLayoutError.invalidComponent(tensor: weightName, key: weightName, reason: "must be a 2-D int8 tensor, found \(weight.dtype.rawValue) \(weight.shape)")
        }
        guard let scale = byName[module + ".SCB"] else { throw BnbLayoutError.missingComponent(tensor: weightName, key: module + ".SCB") }
        try expect(scale, dtype: .f32, elements: weight.shape[0], tensor: weightName, key: module + ".SCB")
        var components: [(name: String, view: TensorView)] = [("weight", weight), ("SCB", scale)]
        if let format = byName[module + ".weight_format"] {
            try expect(format, dtype: .u8, elements: 1, tensor: weightName, key: module + ".weight_format")
            let value = format.withUnsafeBytes { $0.first ?? 255 }
            guard value == 0 else {
                throw BnbLayoutError.invalidComponent(tensor: weightName, key: module + ".weight_format", reason: "is \(value); only 0 (\"row\") exists in bitsandbytes 0.50")
            }
            components.append(("weight_format", format))
        }
        return GraphTensor(name: weightName, value: .quantized(QuantizedTensor(scheme: .bnbInt8(threshold: threshold),
                                                                               shape: weight.shape, components: components)))
    }

    static func expect(_ view: TensorView, dtype: DType, elements: Int, tensor: String, key: String) throws {
        guard view.dtype == dtype, view.elementCount == elements else {
            throw BnbLayoutError.invalidComponent(tensor: tensor, key: key,
                                                  reason: "expected \(elements) \(dtype.rawValue) values, found \(view.elementCount) \(view.dtype.rawValue) \(view.shape)")
        }
    }
}

/// Errors reading or writing the bitsandbytes layout.
public enum BnbLayoutError: Error, CustomStringConvertible, Sendable {
    case missingComponent(tensor: String, key: String)
    case invalidComponent(tensor: String, key: String, reason: String)
    case invalidQuantState(tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .missingComponent(tensor, key):
            return "bitsandbytes tensor '\(tensor)': key '\(key)' is missing from the checkpoint (was it saved by transformers with bitsandbytes?)"
        case let .invalidComponent(tensor, key, reason):
            return "bitsandbytes tensor '\(tensor)': '\(key)' \(reason)"
        case let .invalidQuantState(tensor, reason):
            return "bitsandbytes tensor '\(tensor)': quant_state \(reason)"
        }
    }
}
