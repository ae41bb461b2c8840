import Foundation
import QuantaCore
import Testing
@testable import QuantaFormats

/// Valid gguf-py bytes, mutated one field at a time: every mutation must end in the GGUFError
/// that names the problem, never a crash or a silent success.
@Suite("GGUF hostile input")
struct GGUFHostileTests {
    typealias F = GGUFFixtures

    /// Every prefix of aligned64.gguf that cuts into the header or any tensor's data must throw a
    /// GGUFError; prefixes that only drop the zero padding after the last tensor read fine (as in
    /// llama.cpp, which checks each tensor's bytes, not the trailing padding).
    @Test("every truncation that cuts into content fails cleanly")
    func everyPrefixFails() throws {
        let full = try F.bytes("aligned64")
        let contentEnd = try GGUFFile(path: F.path("aligned64")).tensors.map { $0.offset + $0.byteCount }.max() ?? 0
        #expect(contentEnd < full.count, "aligned64.gguf ends with padding after its last tensor")
        try checkPrefixes(of: full, lengths: Array(0 ..< full.count), contentEnd: contentEnd)
    }

    /// all_types.gguf (every value type, seven tensors) ends with tensor data: every prefix must throw.
    @Test("every truncation of a file with every value type fails cleanly")
    func allTypesPrefixesFail() throws {
        let full = try F.bytes("all_types")
        let file = try GGUFFile(path: F.path("all_types"))
        #expect(file.tensors.map { $0.offset + $0.byteCount }.max() == full.count)
        try checkPrefixes(of: full, lengths: Array(0 ..< full.count), contentEnd: full.count)
    }

    /// Writes the file once and truncates it to each length, longest first (creating thousands of
    /// files costs milliseconds each on some filesystems; truncate costs microseconds).
    private func checkPrefixes(of full: [UInt8], lengths: [Int], contentEnd: Int) throws {
        let directory = try FixturePaths.scratchDirectory("gguf-prefix")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/prefix.gguf"
        try Data(full).write(to: URL(fileURLWithPath: path))
        for length in lengths.sorted(by: >) {
            try #require(truncate(path, off_t(length)) == 0)
            do {
                let file = try GGUFFile(path: path)
                if length < contentEnd { Issue.record("a \(length)-byte prefix was accepted") }
                #expect(file.tensors.count > 0)
            } catch is GGUFError {
                if length >= contentEnd { Issue.record("a \(length)-byte prefix holding every tensor was refused") }
            } catch {
                Issue.record("a \(length)-byte prefix threw a non-GGUF error: \(error)")
            }
        }
    }

    @Test("bad magic, version 1, unknown versions and big-endian files are refused by name")
    func header() throws {
        var bytes = try F.bytes("aligned64")
        bytes[0] = UInt8(ascii: "X")
        guard case let .notGGUF(_, magic) = try F.readError(bytes) else { Issue.record("expected notGGUF"); return }
        #expect(magic == Array("XGUF".utf8))

        for version: UInt32 in [0, 1, 4, 0xFFFF_FFFF] {
            var v = try F.bytes("aligned64")
            F.put(version, at: 4, in: &v)
            let error = try F.readError(v)
            #expect(error == .unsupportedVersion(path: Self.pathOf(error), version: version))
            if version == 1 { #expect(error.description.contains("version 1 is no longer supported")) }
        }
        var bigEndian = try F.bytes("aligned64")
        F.put(UInt32(3).byteSwapped, at: 4, in: &bigEndian)
        let error = try F.readError(bigEndian)
        guard case .bigEndian = error else { Issue.record("expected bigEndian, got \(error)"); return }
        #expect(error.description.contains("big-endian"))
    }

    @Test("KV and tensor counts are capped and bounded by the bytes left")
    func counts() throws {
        for (offset, what) in [(16, "metadata key/value count"), (8, "tensor count")] {
            var huge = try F.bytes("all_types")
            F.put(UInt64(1) << 40, at: offset, in: &huge)
            guard case let .limitExceeded(_, message, value, limit, _) = try F.readError(huge) else {
                Issue.record("expected limitExceeded for \(what)"); continue
            }
            #expect(message == what && value == 1 << 40)
            #expect(limit == UInt64(what.hasPrefix("tensor") ? GGUFLimits.maxTensorCount : GGUFLimits.maxMetadataCount))

            var unfit = try F.bytes("all_types")
            F.put(UInt64(100_000), at: offset, in: &unfit)  // under the cap, over what the bytes can hold
            guard case let .limitExceeded(_, fitMessage, _, fitLimit, _) = try F.readError(unfit) else {
                Issue.record("expected limitExceeded for \(what)"); continue
            }
            #expect(fitMessage.hasPrefix(what) && fitMessage.contains("bytes left"))
            #expect(fitLimit < 100_000)
        }
    }

    @Test("string lengths: over the cap, past the end, invalid UTF-8, empty key")
    func strings() throws {
        let original = try F.bytes("all_types")
        // The first KV's key length sits at byte 24.
        var huge = original
        F.put(UInt64(1) << 62, at: 24, in: &huge)
        guard case let .limitExceeded(_, what, _, limit, offset) = try F.readError(huge) else {
            Issue.record("expected limitExceeded"); return
        }
        #expect(what.contains("metadata key #0") && limit == UInt64(GGUFLimits.maxKeyBytes) && offset == 24)

        let valueAt = try F.afterString("test.string", in: original) + 4  // past the value type
        var long = original
        F.put(UInt64(200 << 20), at: valueAt, in: &long)  // under the 256 MiB cap, past the end
        guard case let .truncated(_, truncatedWhat, _, need, _) = try F.readError(long) else {
            Issue.record("expected truncated"); return
        }
        #expect(truncatedWhat.contains("test.string") && need == 200 << 20)

        var overCap = original
        F.put(UInt64(GGUFLimits.maxStringBytes + 1), at: valueAt, in: &overCap)
        guard case .limitExceeded = try F.readError(overCap) else { Issue.record("expected limitExceeded"); return }

        var badUTF8 = original
        badUTF8[valueAt + 8] = 0xFF
        guard case let .invalidUTF8(_, utf8What, utf8Offset) = try F.readError(badUTF8) else {
            Issue.record("expected invalidUTF8"); return
        }
        #expect(utf8What.contains("test.string") && utf8Offset == valueAt + 8)

        // An empty first key: length 0 and its 20 bytes cut out.
        var empty = Array(original[0 ..< 24]) + Array(original[32 + 20 ..< original.count])
        empty.insert(contentsOf: [UInt8](repeating: 0, count: 8), at: 24)
        let emptyError = try F.readError(empty)
        #expect(emptyError == .emptyKey(path: Self.pathOf(emptyError), offset: 24))
    }

    @Test("array counts: over the cap, over the bytes left; nesting past the depth limit")
    func arrays() throws {
        let original = try F.bytes("all_types")
        let countAt = try F.afterString("test.array_u32", in: original) + 4 + 4  // value type, element type
        #expect(F.get(UInt64.self, at: countAt, in: original) == 2)

        var huge = original
        F.put(UInt64(1) << 40, at: countAt, in: &huge)
        guard case let .limitExceeded(_, what, _, limit, offset) = try F.readError(huge) else {
            Issue.record("expected limitExceeded"); return
        }
        #expect(what.contains("test.array_u32") && limit == UInt64(GGUFLimits.maxArrayElements) && offset == countAt)

        var unfit = original
        F.put(UInt64(1_000_000), at: countAt, in: &unfit)  // 4 MB of u32 in a 5 kB file
        guard case let .limitExceeded(_, fitWhat, _, fitLimit, _) = try F.readError(unfit) else {
            Issue.record("expected limitExceeded"); return
        }
        #expect(fitWhat.contains("bytes left") && fitLimit < 2_000)

        // Replace test.array_single's value (ARRAY of one INT32) by arrays nested one level too deep.
        let valueAt = try F.afterString("test.array_single", in: original)
        var nested: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { nested.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { nested.append(contentsOf: $0) } }
        u32(GGUFValueType.array.rawValue)
        for _ in 0 ..< GGUFLimits.maxArrayNestingDepth {
            u32(GGUFValueType.array.rawValue); u64(1)
        }
        u32(GGUFValueType.int32.rawValue); u64(1); u32(42)
        let oldValueEnd = valueAt + 4 + 4 + 8 + 4
        let deep = Array(original[0 ..< valueAt]) + nested + Array(original[oldValueEnd...])
        guard case let .limitExceeded(_, depthWhat, value, depthLimit, _) = try F.readError(deep) else {
            Issue.record("expected limitExceeded for depth"); return
        }
        #expect(depthWhat.contains("nesting depth") && value == UInt64(GGUFLimits.maxArrayNestingDepth + 1))
        #expect(depthLimit == UInt64(GGUFLimits.maxArrayNestingDepth))
    }

    @Test("unknown value types, bad bools and duplicate keys are refused")
    func values() throws {
        let original = try F.bytes("all_types")
        var badType = original
        let typeAt = try F.afterString("test.u8", in: original)
        F.put(UInt32(13), at: typeAt, in: &badType)
        let typeError = try F.readError(badType)
        #expect(typeError == .invalidValueType(path: Self.pathOf(typeError), key: "test.u8", typeID: 13, offset: typeAt))

        var badElementType = original
        F.put(UInt32(99), at: try F.afterString("test.array_i8", in: original) + 4, in: &badElementType)
        guard case .invalidValueType(_, "test.array_i8", 99, _) = try F.readError(badElementType) else {
            Issue.record("expected invalidValueType"); return
        }

        var badBool = original
        let boolAt = try F.afterString("test.bool_true", in: original) + 4
        badBool[boolAt] = 2
        let boolError = try F.readError(badBool)
        #expect(boolError == .invalidBool(path: Self.pathOf(boolError), key: "test.bool_true", byte: 2, offset: boolAt))

        // "test.i8" renamed to "test.u8" (same length), which an earlier KV already uses.
        var duplicate = original
        let keyAt = try F.afterString("test.i8", in: original) - 7
        duplicate[keyAt + 5] = UInt8(ascii: "u")
        let dupError = try F.readError(duplicate)
        #expect(dupError == .duplicateKey(path: Self.pathOf(dupError), key: "test.u8", offset: keyAt - 8))
    }

    @Test("general.alignment: zero, not a power of two, wrong type")
    func alignment() throws {
        let original = try F.bytes("aligned64")
        let typeAt = try F.afterString("general.alignment", in: original)
        #expect(F.get(UInt32.self, at: typeAt + 4, in: original) == 64)
        for bad: UInt32 in [0, 48, 3] {
            var bytes = original
            F.put(bad, at: typeAt + 4, in: &bytes)
            guard case let .invalidAlignment(_, reason) = try F.readError(bytes) else {
                Issue.record("expected invalidAlignment for \(bad)"); continue
            }
            #expect(reason.contains("power of two"))
        }
        var wrongType = original
        F.put(GGUFValueType.int32.rawValue, at: typeAt, in: &wrongType)
        guard case let .invalidAlignment(_, reason) = try F.readError(wrongType) else {
            Issue.record("expected invalidAlignment"); return
        }
        #expect(reason.contains("INT32") && reason.contains("UINT32"))
    }

    @Test("tensor infos: dimensions, types, block rows, names")
    func tensorInfos() throws {
        let original = try F.bytes("all_types")
        let fourD = try F.infoFields("blk.0.four_d", in: original)

        var fiveDims = original
        F.put(UInt32(5), at: fourD.dimensionCount, in: &fiveDims)
        let dimsError = try F.readError(fiveDims)
        #expect(dimsError == .tooManyDimensions(path: Self.pathOf(dimsError), tensor: "blk.0.four_d", count: 5,
                                                offset: fourD.dimensionCount))

        var overflow = original
        F.put(UInt64(1) << 40, at: fourD.dims[0], in: &overflow)
        F.put(UInt64(1) << 40, at: fourD.dims[1], in: &overflow)
        guard case let .invalidDimensions(_, "blk.0.four_d", _, reason, _) = try F.readError(overflow) else {
            Issue.record("expected invalidDimensions"); return
        }
        #expect(reason.contains("overflows"))

        var negative = original
        F.put(UInt64.max, at: fourD.dims[2], in: &negative)
        guard case let .invalidDimensions(_, _, _, negativeReason, _) = try F.readError(negative) else {
            Issue.record("expected invalidDimensions"); return
        }
        #expect(negativeReason.contains("negative"))

        for typeID: UInt32 in [4, 31, 40, 999] {
            var unknown = original
            F.put(typeID, at: fourD.type, in: &unknown)
            let error = try F.readError(unknown)
            #expect(error == .unknownTensorType(path: Self.pathOf(error), tensor: "blk.0.four_d", typeID: typeID,
                                                offset: fourD.type))
            #expect(error.description.contains("blk.0.four_d") && error.description.contains("\(typeID)"))
        }

        let q8 = try F.infoFields("blk.0.attn_q.weight", in: original)
        var ragged = original
        F.put(UInt64(48), at: q8.dims[0], in: &ragged)
        guard case .rowNotBlockMultiple(_, "blk.0.attn_q.weight", .q8_0, 48, _) = try F.readError(ragged) else {
            Issue.record("expected rowNotBlockMultiple"); return
        }

        var duplicate = original
        let nameAt = try F.afterString("blk.0.attn_q.weight", in: original) - 19
        duplicate[nameAt + 11] = UInt8(ascii: "k")  // attn_q → attn_k, the next tensor's name
        guard case .duplicateTensor(_, "blk.0.attn_k.weight", _) = try F.readError(duplicate) else {
            Issue.record("expected duplicateTensor"); return
        }

        var longName = original
        F.put(UInt64(GGUFLimits.maxTensorNameBytes + 1), at: nameAt - 8, in: &longName)
        guard case let .limitExceeded(_, what, _, limit, _) = try F.readError(longName) else {
            Issue.record("expected limitExceeded"); return
        }
        #expect(what.contains("name of tensor") && limit == UInt64(GGUFLimits.maxTensorNameBytes))
    }

    @Test("tensor offsets: misaligned, past the end, overlapping")
    func tensorOffsets() throws {
        let original = try F.bytes("all_types")
        let file = try GGUFFile(path: F.path("all_types"))
        let last = try #require(file.tensors.last)
        let lastInfo = try F.infoFields(last.name, in: original)

        var misaligned = original
        F.put(UInt64(last.relativeOffset + 4), at: lastInfo.offset, in: &misaligned)
        let misError = try F.readError(misaligned)
        #expect(misError == .misalignedTensor(path: Self.pathOf(misError), tensor: last.name,
                                              offset: UInt64(last.relativeOffset + 4), alignment: 32))

        for offset: UInt64 in [UInt64(last.relativeOffset + 32), 1 << 62, UInt64(Int64.max) + 1] {
            var pastEnd = original
            F.put(offset, at: lastInfo.offset, in: &pastEnd)
            guard case .tensorOutOfFile(_, last.name, _, last.byteCount, original.count) = try F.readError(pastEnd) else {
                Issue.record("expected tensorOutOfFile for \(offset)"); continue
            }
        }

        // The second tensor moved onto the first one's bytes.
        let first = file.tensors[0], second = file.tensors[1]
        var overlapping = original
        F.put(UInt64(first.relativeOffset), at: try F.infoFields(second.name, in: original).offset, in: &overlapping)
        let overlapError = try F.readError(overlapping)
        guard case let .overlappingTensors(_, a, b, _) = overlapError else {
            Issue.record("expected overlappingTensors, got \(overlapError)"); return
        }
        #expect(Set([a, b]) == Set([first.name, second.name]))
    }

    private static func pathOf(_ error: GGUFError) -> String {
        switch error {
        case let .unsupportedVersion(path, _), let .emptyKey(path, _), let .invalidValueType(path, _, _, _),
             let .invalidBool(path, _, _, _), let .duplicateKey(path, _, _), let .tooManyDimensions(path, _, _, _),
             let .unknownTensorType(path, _, _, _), let .misalignedTensor(path, _, _, _):
            return path
        default:
            return ""
        }
    }
}
