import QuantaCore
import QuantaFormats
import QuantaGraph

/// One kind of bad scale in one quantized tensor: how many, out of how many, and the first.
public struct ScaleFinding: Sendable, Equatable {
    public enum Problem: String, Sendable { case nonFinite = "NaN/inf", negative, zero, huge }

    /// The component or block field holding the scales ("absmax", "SCB", "scales", "d", "dmin", …).
    public var component: String
    public var problem: Problem
    public var count: Int
    public var total: Int
    /// What one scale covers ("block", "row", "group").
    public var unit: String
    public var firstIndex: Int
    public var firstValue: Float
}

/// Scales no correct checkpoint stores: NaN/±Inf; negative or zero where the layout's scales are
/// magnitudes (bitsandbytes absmax and SCB, GPTQ and AWQ scales); huge, meaning the values a scale
/// decodes exceed ±65504, float16's largest — the compute dtype those layouts' kernels commonly run
/// in would overflow. ggml block scales are signed (Q4_0's d takes the sign of the block's largest
/// value) and zero for an all-zero block, so only their finiteness is checked.
public enum QuantizedScaleCheck {
    /// float16's largest finite value.
    public static let float16Limit: Float = 65504

    public static func check(_ q: QuantizedTensor, name: String) throws -> [ScaleFinding] {
        switch q.scheme {
        case let .ggml(type):
            guard let blocks = q.component("weight") else { return [] }
            defer { blocks.releasePages() }
            guard let scan = blocks.withUnsafeBytes({ GGMLBlockScales.scan(type, $0) }), scan.nonFiniteBlocks > 0 else { return [] }
            return [ScaleFinding(component: scan.firstField ?? "d", problem: .nonFinite, count: scan.nonFiniteBlocks, total: scan.blocks,
                                 unit: "block", firstIndex: scan.firstBlock ?? 0, firstValue: scan.firstValue ?? .nan)]
        case let .bnb4(kind, _, _, _):
            let state = try BnbTensorDecoder.quantState(q, kind: kind, name: name)
            let count = try ShapeMath.elementCount(state.shape, context: name)
            guard state.blockSize > 0 else { throw BnbCodecError.invalidBlockSize(state.blockSize) }
            let absmax = try BnbTensorDecoder.absmax(q, state: state, blocks: Bnb4BitCodec.blockCount(count, blockSize: state.blockSize), name: name)
            return magnitudes(absmax, component: "absmax", unit: "block", decodesUpTo: 1)
        case .bnbInt8:
            guard let scb = q.component("SCB") else { throw BnbLayoutError.missingComponent(tensor: name, key: "SCB") }
            return magnitudes(scb.floats(), component: "SCB", unit: "row", decodesUpTo: 1)
        case let .gptq(bits, _, _, _), let .awq(bits, _):
            guard let scales = q.component("scales") else {
                throw GraphError.missingTensor(name: name + " (scales)", context: "\(q.scheme) tensor")
            }
            return magnitudes(scales.floats(), component: "scales", unit: "group", decodesUpTo: Float((1 << bits) - 1))
        }
    }

    /// Scales that must be positive and finite; a value decodes up to `decodesUpTo` × its scale.
    static func magnitudes(_ values: [Float], component: String, unit: String, decodesUpTo factor: Float) -> [ScaleFinding] {
        var findings: [ScaleFinding.Problem: ScaleFinding] = [:]
        for (index, value) in values.enumerated() {
            let problem: ScaleFinding.Problem
            if !value.isFinite { problem = .nonFinite }
            else if value < 0 { problem = .negative }
            else if value == 0 { problem = .zero }
            else if value * factor > float16Limit { problem = .huge }
            else { continue }
            if findings[problem] == nil {
                findings[problem] = ScaleFinding(component: component, problem: problem, count: 0, total: values.count, unit: unit,
                                                 firstIndex: index, firstValue: value)
            }
            findings[problem]?.count += 1
        }
        return [ScaleFinding.Problem.nonFinite, .negative, .zero, .huge].compactMap { findings[$0] }
    }
}
