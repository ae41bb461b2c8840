import QuantaCore

/// GPTQ checkpoints (`quant_method: "gptq"`, AutoGPTQ / GPTQModel / optimum): each quantized
/// linear is stored as `<module>.qweight` int32 [in·bits/32, out], `<module>.qzeros` int32
/// [groups, out·bits/32] (zero − 1, "v1"), `<module>.scales` f16 [groups, out] and
/// `<module>.g_idx` int32 [in]. Import gathers them into one `QuantizedTensor` named
/// `<module>.weight` with logical shape [out, in]; export is the generic `<module>.<component>`
/// rule of `QuantizedLayouts`. The codec (packing, decode) lives in QuantaQuant's `GPTQPacking`.
public enum GPTQLayout {
    /// The `quantization_config` written with a GPTQ-layout checkpoint (the keys GPTQModel's
    /// `QuantizeConfig` and transformers' `GPTQConfig` read; `checkpoint_format` is the legacy
    /// spelling of `format` both accept).
    public static func quantizationConfig(bits: Int, groupSize: Int, descAct: Bool, sym: Bool, dampPercent: Double,
                                          staticGroups: Bool, trueSequential: Bool, method: String,
                                          calibration: JSONObject? = nil, meta extra: JSONObject = JSONObject([])) -> JSONObject {
        var meta = JSONObject([("quantizer", .array([.string("quanta:\(BuildInfo.version)")])), ("method", .string(method))])
        for (key, value) in extra.entries { meta[key] = value }
        if let calibration { meta["calibration"] = .object(calibration) }
        return JSONObject([
            ("bits", .int(Int64(bits))), ("checkpoint_format", .string("gptq")), ("damp_percent", .double(dampPercent)),
            ("desc_act", .bool(descAct)), ("group_size", .int(Int64(groupSize))), ("lm_head", .bool(false)),
            ("meta", .object(meta)), ("pack_dtype", .string("int32")), ("quant_method", .string("gptq")),
            ("static_groups", .bool(staticGroups)), ("sym", .bool(sym)), ("true_sequential", .bool(trueSequential)),
        ])
    }

    public static func importTensors(quantization: JSONObject, tensors: [GraphTensor], source: String) throws -> [GraphTensor] {
        let key = "quantization_config"
        let config = QuantizationConfigReader(object: quantization, source: source)
        let bits = try config.int("bits", default: nil)
        let groupSize = try config.int("group_size", default: 128)
        let descAct = try config.bool("desc_act", default: false)
        let sym = try config.bool("sym", default: true)
        guard [2, 3, 4, 8].contains(bits) else {
            throw GraphError.unsupported("\(source): GPTQ checkpoints with \(bits)-bit weights are not readable (2, 3, 4 and 8 are)")
        }
        guard groupSize == -1 || groupSize > 0 else {
            throw GraphError.invalidConfig(path: source, key: "\(key).group_size", reason: "must be -1 or positive (got \(groupSize))")
        }
        // transformers 5 writes both `format` and the legacy `checkpoint_format`.
        let format = (quantization["checkpoint_format"]?.stringValue ?? quantization["format"]?.stringValue ?? "gptq").lowercased()
        guard format == "gptq" || format == "gptq_v2" else {
            throw GraphError.unsupported("\(source): GPTQ checkpoint_format '\(format)' is not readable (gptq and gptq_v2 are)")
        }
        if format == "gptq_v2" && bits == 3 {
            throw GraphError.unsupported("\(source): 3-bit gptq_v2 checkpoints are not readable; save them with checkpoint_format gptq")
        }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var consumed = Set<String>()
        for tensor in tensors where tensor.name.hasSuffix(".qweight") {
            let module = String(tensor.name.dropLast(".qweight".count))
            consumed.formUnion(["qweight", "qzeros", "scales", "g_idx"].map { module + "." + $0 })
        }
        var result: [GraphTensor] = []
        for tensor in tensors {
            guard tensor.name.hasSuffix(".qweight") else {
                if !consumed.contains(tensor.name) { result.append(tensor) }
                continue
            }
            let module = String(tensor.name.dropLast(".qweight".count))
            func view(_ component: String) throws -> TensorView? {
                guard let t = byName[module + "." + component] else { return nil }
                guard case let .dense(v) = t.value else {
                    throw GraphError.unsupported("\(source): tensor '\(t.name)' is not a plain tensor")
                }
                return v
            }
            func required(_ component: String) throws -> TensorView {
                guard let v = try view(component) else {
                    throw GraphError.missingTensor(name: module + "." + component, context: "\(source) (GPTQ linear '\(module)')")
                }
                return v
            }
            let qweight = try required("qweight"), qzeros = try required("qzeros"), scales = try required("scales")
            guard qweight.dtype == .i32, qweight.shape.count == 2, qweight.shape[0] > 0, qweight.shape[1] > 0 else {
                throw GraphError.unsupported("\(source): '\(module).qweight' must be a 2-D int32 tensor, got \(qweight.dtype.rawValue) \(qweight.shape)")
            }
            guard (qweight.shape[0] * 32) % bits == 0 else {
                throw GraphError.unsupported("\(source): '\(module).qweight' has \(qweight.shape[0]) rows, not a whole number of \(bits)-bit runs of 32 inputs")
            }
            let inputs = try ShapeMath.multiply(qweight.shape[0], 32, context: module + ".qweight") / bits
            let outputs = qweight.shape[1]
            let groups = groupSize == -1 ? 1 : (inputs + groupSize - 1) / groupSize
            guard scales.dtype.isFloatingPoint, scales.shape.count == 2, scales.shape[1] == outputs, scales.shape[0] >= 1 else {
                throw GraphError.shapeMismatch(name: module + ".scales", expected: [groups, outputs], found: scales.shape)
            }
            // act-order checkpoints may carry any number of groups; g_idx says which is used where.
            let storedGroups = scales.shape[0]
            guard qzeros.dtype == .i32, qzeros.shape == [storedGroups, outputs * bits / 32], (outputs * bits) % 32 == 0 else {
                throw GraphError.shapeMismatch(name: module + ".qzeros", expected: [storedGroups, outputs * bits / 32], found: qzeros.shape)
            }
            let gIdx: TensorView
            if let stored = try view("g_idx") {
                guard stored.dtype == .i32 || stored.dtype == .i64, stored.shape == [inputs] else {
                    throw GraphError.shapeMismatch(name: module + ".g_idx", expected: [inputs], found: stored.shape)
                }
                gIdx = stored
            } else {
                // Old AutoGPTQ files without g_idx: input i is in group i / group_size.
                let natural = (0 ..< inputs).map { Int32(groupSize == -1 ? 0 : $0 / groupSize) }
                gIdx = try natural.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: [inputs]) }
            }
            let zeros = format == "gptq_v2" ? try v2ToV1(qzeros, bits: bits) : qzeros
            let quantized = QuantizedTensor(scheme: .gptq(bits: bits, groupSize: groupSize, sym: sym, descAct: descAct),
                                            shape: [outputs, inputs],
                                            components: [("qweight", qweight), ("qzeros", zeros), ("scales", scales), ("g_idx", gIdx)])
            result.append(GraphTensor(name: module + ".weight", value: .quantized(quantized)))
        }
        return result
    }

    /// gptq_v2 stores the zero points themselves; v1 stores zero − 1. GPTQModel converts by
    /// subtracting a 1 in every field from the whole word (`convert_gptq_v2_to_v1_format_module`).
    static func v2ToV1(_ qzeros: TensorView, bits: Int) throws -> TensorView {
        var pattern: UInt32 = 0
        for j in 0 ..< 32 / bits { pattern |= 1 << (UInt32(bits) * UInt32(j)) }
        let words: [UInt32] = qzeros.withUnsafeBytes { raw in
            (0 ..< qzeros.elementCount).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian &- pattern }
        }
        return try words.withUnsafeBytes { try TensorView.copying($0, dtype: .i32, shape: qzeros.shape) }
    }
}
