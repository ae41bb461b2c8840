import Foundation
import QuantaCore
import QuantaFormats
import QuantaKit
import Testing

/// Broken importance-matrix files, made by altering llama-imatrix's own files: each ends in an
/// error that names the file (and the entry or key at fault), never a crash or a silent default.
@Suite("Importance matrix: hostile input")
struct ImportanceMatrixHostileTests {
    /// Loads `bytes` written to a scratch file; returns the error's description.
    static func failure(_ bytes: [UInt8], name: String = "bad.imatrix") throws -> (message: String, path: String) {
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix-hostile")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let path = scratch + "/" + name
        try ImatrixFixtures.write(bytes, to: path)
        do {
            _ = try ImportanceMatrix.load(path: path)
        } catch {
            return ("\(error)", path)
        }
        Issue.record("\(name) loaded without an error")
        return ("", path)
    }

    static func expectFailure(_ bytes: [UInt8], naming parts: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (message, path) = try failure(bytes)
        #expect(message.contains(path), "the error must name the file: \(message)", sourceLocation: sourceLocation)
        for part in parts { #expect(message.contains(part), "the error must mention '\(part)': \(message)", sourceLocation: sourceLocation) }
    }

    @Test("every truncation of the GGUF imatrix that cuts into a tensor is an error naming the file")
    func truncatedGGUF() throws {
        let bytes = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        // Past the last tensor's data only alignment padding follows, which a reader does not need.
        let file = try GGUFFile(path: ImatrixFixtures.gguf)
        let needed = file.tensors.map { $0.offset + $0.byteCount }.max() ?? bytes.count
        #expect(needed < bytes.count && bytes.count - needed < 32)
        for length in Array(stride(from: 0, to: needed, by: 37)) + [needed - 1] {
            let (message, path) = try Self.failure(Array(bytes.prefix(length)))
            #expect(message.contains(path), "prefix \(length): \(message)")
        }
    }

    @Test("every truncation of the legacy .dat is an error, except where its optional trailer begins or ends")
    func truncatedLegacy() throws {
        let bytes = try ImatrixFixtures.bytes(ImatrixFixtures.legacy)
        // The trailer is 4 bytes of chunk count, 4 of name length, then "calibration.txt" (15 bytes).
        let entriesEnd = bytes.count - 4 - 4 - 15
        let scratch = try FixturePaths.scratchDirectory("quanta-imatrix-hostile")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Every length through the first entries and the trailer, every 7th in between.
        let lengths = Array(0 ..< 300) + Array(stride(from: 300, to: entriesEnd - 50, by: 7)) + Array(entriesEnd - 50 ..< bytes.count)
        for length in lengths {
            let path = scratch + "/cut-\(length).dat"
            try ImatrixFixtures.write(Array(bytes.prefix(length)), to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                let matrix = try ImportanceMatrix.load(path: path)
                #expect(length == entriesEnd || length == entriesEnd + 4, "prefix \(length) loaded")
                #expect(matrix.tensorNames.count == 14)
            } catch {
                #expect("\(error)".contains(path), "prefix \(length): \(error)")
            }
        }
    }

    @Test("an in_sum2 that is not F32 names the entry and the type")
    func wrongTensorType() throws {
        var bytes = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        // Tensor info: name, u32 n_dims (1), u64 ne0, u32 type: F32 (0) → F16 (1), a smaller tensor that still fits.
        let at = try ImatrixFixtures.offset(after: "blk.0.attn_k.weight.in_sum2", in: bytes) + 4 + 8
        #expect(bytes[at] == 0)
        bytes[at] = 1
        try Self.expectFailure(bytes, naming: ["blk.0.attn_k.weight", "F16", "F32"])
    }

    @Test("chunk_count of another type than UINT32 names the key")
    func wrongMetadataType() throws {
        var bytes = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        let at = try ImatrixFixtures.offset(after: "imatrix.chunk_count", in: bytes)
        #expect(bytes[at] == 4)  // UINT32
        bytes[at] = 5            // INT32: same size, so the file still parses
        try Self.expectFailure(bytes, naming: ["imatrix.chunk_count", "UINT32"])
    }

    @Test("a count of zero (no token reached the weight) names the entry")
    func zeroCount() throws {
        try patchFloat(of: "blk.1.ffn_down.weight.counts", to: 0, naming: ["blk.1.ffn_down.weight", "zero"])
    }

    @Test("a negative or fractional-overflowing count names the entry")
    func negativeCount() throws {
        try patchFloat(of: "blk.0.attn_q.weight.counts", to: -512, naming: ["blk.0.attn_q.weight", "count"])
    }

    @Test("NaN, ±Inf or a negative sum of squares names the entry", arguments: [Float.nan, .infinity, -1])
    func badSum(_ value: Float) throws {
        try patchFloat(of: "blk.0.ffn_gate.weight.in_sum2", to: value, naming: ["blk.0.ffn_gate.weight", "value 0"])
    }

    func patchFloat(of tensor: String, to value: Float, naming parts: [String]) throws {
        var bytes = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        let offset = try #require(try GGUFFile(path: ImatrixFixtures.gguf).tensor(named: tensor)).offset
        withUnsafeBytes(of: value.bitPattern.littleEndian) { for i in 0 ..< 4 { bytes[offset + i] = $0[i] } }
        try Self.expectFailure(bytes, naming: parts)
    }

    @Test("in_sum2 without its counts names the entry")
    func unpaired() throws {
        var bytes = try ImatrixFixtures.bytes(ImatrixFixtures.gguf)
        let end = try ImatrixFixtures.offset(after: "blk.1.attn_v.weight.counts", in: bytes)
        bytes[end - 1] = UInt8(ascii: "z")  // ".countz": no longer a counts tensor
        try Self.expectFailure(bytes, naming: ["blk.1.attn_v.weight", ".counts"])
    }

    @Test("a model GGUF is not an importance matrix")
    func modelIsNotAnImatrix() throws {
        let (message, _) = try Self.failure(try ImatrixFixtures.bytes(ImatrixFixtures.model))
        #expect(message.contains("bad.imatrix") && (message.contains("imatrix") || message.contains("in_sum2")), "\(message)")
    }

    @Test("an empty file, and random bytes, are errors naming the file")
    func emptyAndGarbage() throws {
        try Self.expectFailure([], naming: ["empty"])
        try Self.expectFailure([UInt8](repeating: 0xFF, count: 64), naming: ["entry count"])
    }

    /// The legacy layout's fields, altered one at a time: i32 n_entries, then the first entry's
    /// i32 name length, name, i32 ncall, i32 nval.
    @Test("legacy fields out of range name the offset or the entry")
    func legacyFields() throws {
        let bytes = try ImatrixFixtures.bytes(ImatrixFixtures.legacy)
        func with(_ offset: Int, _ value: Int32) -> [UInt8] {
            var copy = bytes
            withUnsafeBytes(of: value.littleEndian) { for i in 0 ..< 4 { copy[offset + i] = $0[i] } }
            return copy
        }
        let nameLength = Int(bytes[4]) | Int(bytes[5]) << 8
        let name = String(decoding: bytes[8 ..< 8 + nameLength], as: UTF8.self)
        #expect(name == "blk.0.attn_k.weight")
        let ncall = 8 + nameLength, nval = ncall + 4
        try Self.expectFailure(with(0, 0), naming: ["entry count 0"])
        try Self.expectFailure(with(0, 100_000), naming: ["entry count 100000"])
        try Self.expectFailure(with(4, -5), naming: ["name of -5 bytes"])
        try Self.expectFailure(with(ncall, 0), naming: [name, "ncall is 0"])
        try Self.expectFailure(with(nval, 1 << 30), naming: [name, "values"])
        try Self.expectFailure(bytes + [1, 2, 3], naming: ["3 unexpected bytes"])
    }

    @Test("building a matrix in memory runs the same checks")
    func inMemoryChecks() throws {
        #expect(throws: ImatrixError.self) { try ImportanceMatrix(entries: [:], datasets: [], chunkCount: 0, chunkSize: 0) }
        #expect(throws: ImatrixError.self) {
            try ImportanceMatrix(entries: ["w": .init(sums: [1, 2, 3], counts: [1, 1])], datasets: [], chunkCount: 0, chunkSize: 0)
        }
        #expect(throws: ImatrixError.self) {
            try ImportanceMatrix(entries: ["w": .init(sums: [1, 2], counts: [0])], datasets: [], chunkCount: 0, chunkSize: 0)
        }
    }
}
