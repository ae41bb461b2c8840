import QuantaCore

/// AutoAWQ's GEMM checkpoints (`quant_method: "awq"`, `version: "gemm"`): each quantized linear is
/// stored as `<module>.qweight` int32 [in, out/8], `<module>.qzeros` int32 [in/g, out/8] and
/// `<module>.scales` f16 [in/g, out] (awq/modules/linear/gemm.py). Import gathers the three into
/// one `QuantizedTensor` named `<module>.weight` with logical shape [out, in]; export is the
/// generic `<module>.<component>` rule of `QuantizedLayouts`.
public enum AWQLayout {
    /// The `quantization_config` AutoAWQ writes (quant_method, zero_point, group_size, bits, version,
    /// modules_to_not_convert: null when nothing inside the decoder layers is skipped).
    public static func quantizationConfig(bits: Int, groupSize: Int) -> JSONObject {
        JSONObject([
            ("bits", .int(Int64(bits))), ("group_size", .int(Int64(groupSize))),
            ("modules_to_not_convert", .null), ("quant_method", .string("awq")),
            ("version", .string("gemm")), ("zero_point", .bool(true)),
        ])
    }

    public static func importTensors(quantization: JSONObject, tensors: [GraphTensor], source: String) throws -> [GraphTensor] {
        let key = "quantization_config"
        let config = QuantizationConfigReader(object: quantization, source: source)
        let bits = try config.int("bits", default: 4)
        let groupSize = try config.int("group_size", default: nil)
        guard bits == 4 else {
            throw GraphError.unsupported("\(source): AWQ checkpoints with \(bits)-bit weights are not readable (the GEMM layout is 4-bit)")
        }
        guard groupSize > 0 else {
            throw GraphError.invalidConfig(path: source, key: "\(key).group_size", reason: "must be positive (got \(groupSize))")
        }
        // transformers writes the packing as `version`; newer configs may also say `format`.
        let version = (quantization["version"]?.stringValue ?? quantization["format"]?.stringValue ?? "gemm").lowercased()
        guard version == "gemm" else {
            throw GraphError.unsupported("\(source): AWQ '\(version)' packing is not readable; only the GEMM layout (version: gemm) is")
        }
        if quantization["zero_point"]?.boolValue == false {
            throw GraphError.unsupported("\(source): AWQ without zero points is not readable (the GEMM layout stores qzeros)")
        }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var consumed = Set<String>()
        var result: [GraphTensor] = []
        for tensor in tensors where tensor.name.hasSuffix(".qweight") {
            let module = String(tensor.name.dropLast(".qweight".count))
            consumed.formUnion([module + ".qweight", module + ".qzeros", module + ".scales"])
        }
        for tensor in tensors {
            guard tensor.name.hasSuffix(".qweight") else {
                if !consumed.contains(tensor.name) { result.append(tensor) }
                continue
            }
            let module = String(tensor.name.dropLast(".qweight".count))
            func view(_ component: String) throws -> TensorView {
                guard let t = byName[module + "." + component] else {
                    throw GraphError.missingTensor(name: module + "." + component, context: "\(source) (AWQ linear '\(module)')")
                }
                guard case let .dense(v) = t.value else {
                    throw GraphError.unsupported("\(source): tensor '\(t.name)' is not a plain tensor")
                }
                return v
            }
            let qweight = try view("qweight"), qzeros = try view("qzeros"), scales = try view("scales")
            guard qweight.dtype == .i32, qweight.shape.count == 2 else {
                throw GraphError.unsupported("\(source): '\(module).qweight' must be a 2-D int32 tensor, got \(qweight.dtype.rawValue) \(qweight.shape)")
            }
            let inputs = qweight.shape[0]
            let outputs = try ShapeMath.multiply(qweight.shape[1], 8, context: module + ".qweight")
            guard inputs > 0, outputs > 0, inputs % groupSize == 0 else {
                throw GraphError.unsupported("\(source): '\(module)' has \(inputs) inputs, not a positive multiple of group_size \(groupSize)")
            }
            let groups = inputs / groupSize
            guard qzeros.dtype == .i32, qzeros.shape == [groups, outputs / 8] else {
                throw GraphError.shapeMismatch(name: module + ".qzeros", expected: [groups, outputs / 8], found: qzeros.shape)
            }
            guard scales.dtype.isFloatingPoint, scales.shape == [groups, outputs] else {
                throw GraphError.shapeMismatch(name: module + ".scales", expected: [groups, outputs], found: scales.shape)
            }
            let quantized = QuantizedTensor(scheme: .awq(bits: bits, groupSize: groupSize), shape: [outputs, inputs],
                                            components: [("qweight", qweight), ("qzeros", qzeros), ("scales", scales)])
            result.append(GraphTensor(name: module + ".weight", value: .quantized(quantized)))
        }
        return result
    }
}
