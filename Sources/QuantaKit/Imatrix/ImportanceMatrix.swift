import Foundation
import QuantaCore

/// An importance matrix as llama.cpp computes and stores it: for every linear weight the
/// per-input-column Σx² of the activations that reached it, and how many rows (tokens) did, one
/// count per matrix (expert) of a 3-D MoE weight. Read from llama-imatrix's GGUF format or its
/// legacy `.dat` format, written in the GGUF format (tools/imatrix/imatrix.cpp, `save_imatrix`).
///
/// `importance(for:)` returns exactly the floats llama-quantize hands its quantizers as `imatrix`
/// for that weight (tools/quantize/quantize.cpp `load_imatrix`).
public struct ImportanceMatrix: Sendable, Equatable {
    /// Which on-disk format an importance matrix came from.
    public enum SourceFormat: String, Sendable {
        /// llama-imatrix's GGUF format: raw Σx² (`<name>.in_sum2`) and counts (`<name>.counts`).
        case gguf
        /// The legacy `.dat` format: per entry (Σx²/count)·ncall and ncall.
        case legacy
    }

    /// One weight's statistics.
    public struct Entry: Sendable, Equatable {
        /// Matrix-major: `sums[m * columns + j]` for matrix (expert) `m`, input column `j`.
        /// GGUF: Σx² as stored in `in_sum2`. Legacy: the stored (Σx²/count)·ncall.
        public var sums: [Float]
        /// One per matrix. GGUF: the f32 `counts` values as stored (rows accumulated). Legacy: [ncall].
        public var counts: [Double]

        public init(sums: [Float], counts: [Double]) {
            self.sums = sums
            self.counts = counts
        }

        public var matrices: Int { counts.count }
        public var columns: Int { counts.isEmpty ? 0 : sums.count / counts.count }
    }

    public private(set) var entries: [String: Entry]
    /// `imatrix.datasets`: the calibration files, as llama-imatrix records its `-f` argument.
    public var datasets: [String]
    /// `imatrix.chunk_count` (legacy: the trailing chunk count, 0 when absent).
    public var chunkCount: Int
    /// `imatrix.chunk_size`: tokens per chunk (0 for a legacy file, as llama.cpp's loader sets it).
    public var chunkSize: Int
    public let format: SourceFormat

    /// An importance matrix from entries (checked as `load` checks a file's: sizes, finite non-negative values).
    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int,
                format: SourceFormat = .gguf, context: String = "importance matrix") throws {
        for (name, entry) in entries { try ImatrixValidation.check(entry, name: name, format: format, path: context) }
        guard !entries.isEmpty else { throw ImatrixError.empty(path: context, reason: "it has no entries") }
        guard chunkCount >= 0, chunkCount <= Int(UInt32.max), chunkSize >= 0, chunkSize <= Int(UInt32.max) else {
            throw ImatrixError.invalidInput("\(context): chunk count \(chunkCount) and chunk size \(chunkSize) must fit a UINT32")
        }
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
        self.format = format
    }

    /// The weights this matrix covers (GGUF names such as `blk.0.attn_q.weight`), in the byte order
    /// llama-imatrix stores them (`std::sort` of the names).
    public var tensorNames: [String] { ImatrixValidation.sortedNames(entries.keys) }

    public func entry(for tensorName: String) -> Entry? { entries[tensorName] }

    /// What llama-quantize passes to the quantizer as `imatrix` for `tensorName` (quantize.cpp
    /// `load_imatrix`): GGUF — each matrix's Σx² divided by its count in f32, or 1 for a matrix no
    /// token reached; legacy — the stored values divided by ncall. nil when the matrix has no entry.
    public func importance(for tensorName: String) -> [Float]? {
        guard let entry = entries[tensorName] else { return nil }
        let columns = entry.columns
        var result = [Float](repeating: 1, count: entry.sums.count)
        switch format {
        case .gguf:
            // common_imatrix_load reads counts with std::lround; quantize.cpp divides by (float) count.
            for m in 0 ..< entry.matrices {
                let count = Float(Int64(entry.counts[m].rounded(.toNearestOrAwayFromZero)))
                guard count > 0 else { continue }
                for j in 0 ..< columns { result[m * columns + j] = entry.sums[m * columns + j] / count }
            }
        case .legacy:
            let calls = Float(Int64(entry.counts.first ?? 0))
            for i in entry.sums.indices { result[i] = calls > 0 ? entry.sums[i] / calls : entry.sums[i] }
        }
        return result
    }

    /// Reads an importance matrix: llama-imatrix's GGUF format when the file starts with "GGUF",
    /// else its legacy `.dat` format (llama.cpp's common_imatrix_load tries them in that order too).
    public static func load(path: String) throws -> ImportanceMatrix {
        let file = try MappedFile(path: path)
        if file.size >= 4, Array(file.bytes.prefix(4)) == Array("GGUF".utf8) {
            return try ImatrixGGUF.read(file)
        }
        return try ImatrixLegacy.read(file)
    }

    /// This matrix in GGUF form. A legacy matrix is converted the way `llama-imatrix --in-file X.dat
    /// -o Y.gguf` converts it at its default `-c 512` (imatrix.cpp `load_imatrix`): Σ = stored · chunkSize,
    /// count = ncall · chunkSize, chunk count = the largest ncall; importances are unchanged.
    public func ggufForm(legacyChunkSize: Int = 512) throws -> ImportanceMatrix {
        guard format == .legacy else { return self }
        guard legacyChunkSize > 0 else { throw ImatrixError.invalidInput("the chunk size for a legacy conversion must be positive") }
        var converted: [String: Entry] = [:]
        var largest: Int64 = 0
        for (name, entry) in entries {
            let calls = Int64(entry.counts.first ?? 0)
            let count = calls * Int64(legacyChunkSize)
            largest = max(largest, count)
            converted[name] = Entry(sums: entry.sums.map { 0 + $0 * Float(legacyChunkSize) },
                                    counts: [Double](repeating: Double(count), count: 1))
        }
        return try ImportanceMatrix(entries: converted, datasets: datasets, chunkCount: Int(largest / Int64(legacyChunkSize)),
                                    chunkSize: legacyChunkSize, format: .gguf)
    }

    /// Writes the GGUF format (legacy matrices converted by `ggufForm()`), atomically: a temporary
    /// sibling renamed into place. `overwrite: false` refuses an existing file.
    public func write(to path: String, overwrite: Bool = true) throws {
        let writer = try ImatrixGGUF.writer(for: try ggufForm())
        let atomic = try AtomicOutput(path: path, isDirectory: false, force: overwrite)
        do {
            try writer.write(to: atomic.temporaryPath)
            try atomic.commit()
        } catch {
            atomic.abort()
            throw error
        }
    }
}
