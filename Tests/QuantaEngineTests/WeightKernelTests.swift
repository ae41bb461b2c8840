import CQuantaKernels
import QuantaCore
import QuantaFormats
import QuantaQuant
import Testing

/// The stored-weight kernels of CQuantaKernels (cquantaweights.h: weights_decode.c,
/// weights_unpack.c, weights_acts.c), on whichever ISA path this machine dispatches to:
///   * each tile decoder against GGMLCodec.dequantize (itself bit-exact with gguf-py 0.19.0),
///     every float bit, on random block bytes with the f16 scale fields forced finite;
///   * each unpacker: scale·q + min (in Double) against the decoded weight within 1e-6 of the terms
///     |scale·q| + |min| (+1e-30), and the f32 recomposition fl(fl(scale·q) + min) bit-equal;
///   * the activation quantizer's and the f16 / bf16 rounding's invariants.
/// bench/kernels/check_weight_kernels.py checks the same kernels against gguf-py and ggml itself.
@Suite("Weight kernels")
struct WeightKernelTests {
    static let decoderTypes: [GGMLType] = [
        .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs,
    ]
    static let unpackTypes: [GGMLType] = [
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs,
    ]

    /// Byte offsets of the f16 fields (d, m / dmin) inside one block (IQ1_M has none: its d is split
    /// over the top nibbles of its scales, see MatrixProductTests.moderateBlocks).
    static func halfOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq4_xs, .iq1_s, .iq2_xxs, .iq2_xs, .iq2_s, .iq3_xxs, .iq3_s: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// Random bytes for `blocks` blocks; an f16 field that came out inf/NaN (exponent 31) gets its
    /// exponent's top bit cleared, and the first blocks get edge-case scales (±0, subnormals, ±max).
    static func randomBlocks(_ type: GGMLType, blocks: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var bytes = (0 ..< blocks * type.blockBytes).map { _ in UInt8(truncatingIfNeeded: g.next() >> 24) }
        let edge: [UInt16] = [0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00]
        for block in 0 ..< blocks {
            for offset in halfOffsets(type) {
                let low = block * type.blockBytes + offset
                if block < edge.count {
                    bytes[low] = UInt8(edge[block] & 0xFF)
                    bytes[low + 1] = UInt8(edge[block] >> 8)
                } else if bytes[low + 1] & 0x7C == 0x7C {
                    bytes[low + 1] &= 0xBF
                }
            }
        }
        return bytes
    }

    /// Calls the C decoder for `count` elements (count / blockSize blocks).
    static func decode(_ type: GGMLType, _ source: UnsafeRawPointer, _ output: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / type.blockSize
        switch type {
        case .f16: quanta_decode_f16(source, output, count)
        case .bf16: quanta_decode_bf16(source, output, count)
        case .q4_0: quanta_decode_q4_0(source, output, blocks)
        case .q4_1: quanta_decode_q4_1(source, output, blocks)
        case .q5_0: quanta_decode_q5_0(source, output, blocks)
        case .q5_1: quanta_decode_q5_1(source, output, blocks)
        case .q8_0: quanta_decode_q8_0(source, output, blocks)
        case .q2_K: quanta_decode_q2_K(source, output, blocks)
        case .q3_K: quanta_decode_q3_K(source, output, blocks)
        case .q4_K: quanta_decode_q4_K(source, output, blocks)
        case .q5_K: quanta_decode_q5_K(source, output, blocks)
        case .q6_K: quanta_decode_q6_K(source, output, blocks)
        case .iq4_nl: quanta_decode_iq4_nl(source, output, blocks)
        case .iq4_xs: quanta_decode_iq4_xs(source, output, blocks)
        default: Issue.record("no C decoder for \(type)")
        }
    }

    static func unpack(_ type: GGMLType, _ source: UnsafeRawPointer, rows: Int, k: Int,
                       _ q: UnsafeMutablePointer<Int8>, _ scale: UnsafeMutablePointer<Float>,
                       _ min: UnsafeMutablePointer<Float>?, _ hasMin: UnsafeMutablePointer<Int32>) -> Int32 {
        switch type {
        case .q4_0: return quanta_unpack_q4_0(source, rows, k, q, scale, min, hasMin)
        case .q4_1: return quanta_unpack_q4_1(source, rows, k, q, scale, min, hasMin)
        case .q5_0: return quanta_unpack_q5_0(source, rows, k, q, scale, min, hasMin)
        case .q5_1: return quanta_unpack_q5_1(source, rows, k, q, scale, min, hasMin)
        case .q8_0: return quanta_unpack_q8_0(source, rows, k, q, scale, min, hasMin)
        case .q2_K: return quanta_unpack_q2_K(source, rows, k, q, scale, min, hasMin)
        case .q3_K: return quanta_unpack_q3_K(source, rows, k, q, scale, min, hasMin)
        case .q4_K: return quanta_unpack_q4_K(source, rows, k, q, scale, min, hasMin)
        case .q5_K: return quanta_unpack_q5_K(source, rows, k, q, scale, min, hasMin)
        case .q6_K: return quanta_unpack_q6_K(source, rows, k, q, scale, min, hasMin)
        case .iq4_nl: return quanta_unpack_iq4_nl(source, rows, k, q, scale, min, hasMin)
        case .iq4_xs: return quanta_unpack_iq4_xs(source, rows, k, q, scale, min, hasMin)
        default:
            Issue.record("no C unpacker for \(type)")
            return -1
        }
    }

    /// (bs, has min, q range) each unpacker documents.
    static func unpackLayout(_ type: GGMLType) -> (bs: Int, hasMin: Bool, range: ClosedRange<Int>) {
        switch type {
        case .q4_0: return (32, false, -8 ... 7)
        case .q4_1: return (32, true, 0 ... 15)
        case .q5_0: return (32, false, -16 ... 15)
        case .q5_1: return (32, true, 0 ... 31)
        case .q8_0: return (32, false, -128 ... 127)
        case .q2_K: return (16, true, 0 ... 3)
        case .q3_K: return (16, false, -4 ... 3)
        case .q4_K: return (32, true, 0 ... 15)
        case .q5_K: return (32, true, 0 ... 31)
        case .q6_K: return (16, false, -32 ... 31)
        default: return (32, false, -127 ... 113)  // IQ4_NL, IQ4_XS: kvalues_iq4nl
        }
    }

    @Test("C tile decoder is bit-identical with GGMLCodec.dequantize", arguments: decoderTypes)
    func decoder(type: GGMLType) throws {
        let count: Int
        var bytes: [UInt8]
        if type.blockSize == 1 {
            // every 16-bit pattern (inf, NaN payloads, subnormals), then random ones
            var g = SplitMix64(seed: 11)
            let patterns = (0 ..< 65536).map { UInt16($0) } + (0 ..< 4000).map { _ in UInt16(truncatingIfNeeded: g.next()) }
            count = patterns.count
            bytes = patterns.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        } else {
            count = (type.blockSize == 32 ? 1024 : 160) * type.blockSize
            bytes = Self.randomBlocks(type, blocks: count / type.blockSize, seed: 1 &+ UInt64(type.rawValue))
        }
        let reference = try bytes.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: count) }
        // Decode from an odd address: blocks in a GGUF file are not aligned.
        bytes.insert(0xA5, at: 0)
        var decoded = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in
            decoded.withUnsafeMutableBufferPointer { Self.decode(type, raw.baseAddress! + 1, $0.baseAddress!, count: count) }
        }
        var mismatches = 0
        var first = -1
        for i in 0 ..< count where decoded[i].bitPattern != reference[i].bitPattern {
            if first < 0 { first = i }
            mismatches += 1
        }
        #expect(mismatches == 0,
                "\(type): \(mismatches) of \(count) values differ; first at \(first): C \(first >= 0 ? decoded[first] : 0), codec \(first >= 0 ? reference[first] : 0)")
    }

    @Test("unpacked scale·q + min equals the decoded weight", arguments: unpackTypes)
    func unpacker(type: GGMLType) throws {
        let rows = 4, k = 1024
        let layout = Self.unpackLayout(type)
        let bs = layout.bs, nsub = k / bs
        let bytes = Self.randomBlocks(type, blocks: rows * k / type.blockSize, seed: 77 &+ UInt64(type.rawValue))
        let reference = try bytes.withUnsafeBytes { try GGMLCodec.dequantize(type, bytes: $0, count: rows * k) }
        var q = [Int8](repeating: 0, count: rows * k)
        var scale = [Float](repeating: .nan, count: rows * nsub)
        var min = [Float](repeating: .nan, count: rows * nsub)
        var hasMin: Int32 = -1
        let returned = bytes.withUnsafeBytes { raw in
            q.withUnsafeMutableBufferPointer { qp in
                scale.withUnsafeMutableBufferPointer { sp in
                    min.withUnsafeMutableBufferPointer { mp in
                        Self.unpack(type, raw.baseAddress!, rows: rows, k: k, qp.baseAddress!, sp.baseAddress!,
                                    mp.baseAddress!, &hasMin)
                    }
                }
            }
        }
        #expect(Int(returned) == bs, "\(type): returned bs \(returned)")
        #expect((hasMin != 0) == layout.hasMin, "\(type): has_min \(hasMin)")
        guard Int(returned) == bs else { return }
        if !layout.hasMin { #expect(min.allSatisfy { $0.isNaN }, "\(type) wrote a min") }

        var outOfRange = 0, outOfTolerance = 0, notBitExact = 0
        for r in 0 ..< rows {
            for i in 0 ..< k {
                let index = r * k + i
                let s = scale[r * nsub + i / bs]
                let m: Float = layout.hasMin ? min[r * nsub + i / bs] : 0
                let value = Int(q[index])
                if !layout.range.contains(value) { outOfRange += 1 }
                let term = Double(s) * Double(value)
                let exact = term + Double(m)
                let tolerance = 1e-6 * (abs(term) + abs(Double(m))) + 1e-30
                if abs(exact - Double(reference[index])) > tolerance { outOfTolerance += 1 }
                let product = s * Float(value)
                let recomposed = layout.hasMin ? product + m : product
                if recomposed.bitPattern != reference[index].bitPattern { notBitExact += 1 }
            }
        }
        #expect(outOfRange == 0, "\(type): \(outOfRange) q outside \(layout.range)")
        #expect(outOfTolerance == 0, "\(type): \(outOfTolerance) of \(rows * k) values off by more than 1e-6 of the terms")
        #expect(notBitExact == 0, "\(type): \(notBitExact) values where fl(fl(scale·q) + min) differs from the codec")

        // min may be NULL: same q and scales.
        var q2 = [Int8](repeating: 0, count: rows * k)
        var scale2 = [Float](repeating: .nan, count: rows * nsub)
        var hasMin2: Int32 = -1
        _ = bytes.withUnsafeBytes { raw in
            q2.withUnsafeMutableBufferPointer { qp in
                scale2.withUnsafeMutableBufferPointer { sp in
                    Self.unpack(type, raw.baseAddress!, rows: rows, k: k, qp.baseAddress!, sp.baseAddress!, nil, &hasMin2)
                }
            }
        }
        #expect(q2 == q)
        #expect(scale2.map(\.bitPattern) == scale.map(\.bitPattern))
        #expect(hasMin2 == hasMin)
    }

    struct ActivationCase: Sendable, CustomStringConvertible {
        let kind: Int  // 0 Q8_0, 1 Q8_1, 2 Q8_K
        let bs: Int32
        var description: String { "\(["Q8_0", "Q8_1", "Q8_K"][kind]) bs \(bs)" }
    }

    static let activationCases: [ActivationCase] = [
        ActivationCase(kind: 0, bs: 32), ActivationCase(kind: 0, bs: 16), ActivationCase(kind: 1, bs: 32),
        ActivationCase(kind: 2, bs: 16), ActivationCase(kind: 2, bs: 32),
    ]

    @Test("quantized activations: |x − d·q| ≤ 0.6·|d|, Σq per sub-block, one d per ggml block",
          arguments: activationCases)
    func activations(activation: ActivationCase) {
        let kind = activation.kind, bs = activation.bs
        let rows = 3, k = 1024, ldx = k + 3, sub = Int(bs), nsub = k / sub
        let block = kind == 2 ? 256 : 32
        let cKind = [QUANTA_ACT_Q8_0, QUANTA_ACT_Q8_1, QUANTA_ACT_Q8_K][kind]
        var g = SplitMix64(seed: 5 &+ UInt64(kind) &* 31 &+ UInt64(bs))
        var x = [Float](repeating: 0, count: rows * ldx)
        for i in x.indices {
            // d = amax/127 stays an f16 normal, so f16(d) is within 2^-11 of the f32 d
            let magnitude = Float(1 << (Int(g.next() % 12))) * 0.1
            x[i] = (Float(g.next() >> 40) / Float(1 << 24) * 2 - 1) * magnitude
        }
        for i in 0 ..< block { x[ldx + i] = 0 }  // an all-zero block in row 1
        var q = [Int8](repeating: 0, count: rows * k)
        var d = [Float](repeating: .nan, count: rows * nsub)
        var sum = [Int32](repeating: 0, count: rows * nsub)
        x.withUnsafeBufferPointer { xp in
            q.withUnsafeMutableBufferPointer { qp in
                d.withUnsafeMutableBufferPointer { dp in
                    sum.withUnsafeMutableBufferPointer { sp in
                        quanta_quantize_acts(xp.baseAddress!, rows, k, ldx, cKind, bs,
                                             qp.baseAddress!, dp.baseAddress!, sp.baseAddress!)
                    }
                }
            }
        }
        var badError = 0, badSum = 0, badScale = 0
        for r in 0 ..< rows {
            for b in 0 ..< nsub {
                let scale = d[r * nsub + b]
                let first = r * nsub + (b * sub / block) * (block / sub)  // first sub-block of the ggml block
                if scale.bitPattern != d[first].bitPattern { badScale += 1 }
                var total: Int32 = 0
                for i in 0 ..< sub {
                    let index = b * sub + i
                    let value = q[r * k + index]
                    total += Int32(value)
                    let error = abs(Double(x[r * ldx + index]) - Double(scale) * Double(value))
                    if error > 0.6 * abs(Double(scale)) + 1e-30 { badError += 1 }
                }
                if total != sum[r * nsub + b] { badSum += 1 }
            }
        }
        #expect(badError == 0, "\(badError) values farther than 0.6·|d| from d·q")
        #expect(badSum == 0, "\(badSum) sub-block sums differ from Σq")
        #expect(badScale == 0, "\(badScale) sub-blocks whose d differs from their ggml block's")
        #expect(q[k ..< k + block].allSatisfy { $0 == 0 } && d[nsub] == 0, "all-zero block: q = 0, d = 0")
    }

    @Test("f16 / bf16 activation rounding matches Float16 (finite) and ggml's bf16 rule")
    func rounding() {
        var g = SplitMix64(seed: 3)
        var x = (0 ..< 100_000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) }
        x += [0, -0.0, 65504, 65519.99, 65520, -65520, 0x1p-24, 0x1p-25, 0x1.8p-25, 1e-30, .infinity, -.infinity]
        var y16 = [Float](repeating: 0, count: x.count)
        var ybf = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xp in
            y16.withUnsafeMutableBufferPointer { quanta_round_f16(xp.baseAddress!, $0.baseAddress!, x.count) }
            ybf.withUnsafeMutableBufferPointer { quanta_round_bf16(xp.baseAddress!, $0.baseAddress!, x.count) }
        }
        var bad16 = 0, badbf = 0
        for (i, value) in x.enumerated() {
            if value.isNaN {
                if !y16[i].isNaN { bad16 += 1 }
            } else if y16[i].bitPattern != Float(Float16(value)).bitPattern {
                bad16 += 1
            }
            let u = value.bitPattern
            let expected: UInt32 = (u & 0x7FFF_FFFF) > 0x7F80_0000
                ? ((u >> 16) | 64) << 16
                : ((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16) << 16
            if ybf[i].bitPattern != expected { badbf += 1 }
        }
        #expect(bad16 == 0, "\(bad16) f16 roundings differ from Float(Float16(x))")
        #expect(badbf == 0, "\(badbf) bf16 roundings differ from ggml_compute_fp32_to_bf16")
    }
}
