import QuantaCore

/// llama-imatrix's legacy `.dat` format (imatrix.cpp `save_imatrix_legacy`, read by
/// common/imatrix-loader.cpp `common_imatrix_load_legacy`), little-endian:
///   i32 n_entries; per entry: i32 name length, the name's bytes, i32 ncall, i32 nval, nval × f32
///   values = (Σx² / count) · ncall, with ncall = ⌈largest count / chunk size⌉;
///   then, optionally: i32 chunk count, i32 dataset-name length, the dataset name.
/// Unlike llama.cpp, which stops quietly at a short trailer, any byte that does not fit this layout
/// is an error naming its offset.
enum ImatrixLegacy {
    static func read(_ file: MappedFile) throws -> ImportanceMatrix {
        let path = file.path
        var reader = ByteReader(file.bytes, context: path)
        func fail(_ reason: String) -> ImatrixError { .malformed(path: path, offset: reader.offset, reason: reason) }
        func i32(_ what: String) throws -> Int {
            guard reader.remaining >= 4 else { throw fail("\(what) needs 4 bytes, \(reader.remaining) left: the file is truncated") }
            return Int(try reader.i32())
        }
        guard file.size > 0 else { throw ImatrixError.empty(path: path, reason: "the file is empty") }
        let count = try i32("the entry count")
        // Each entry takes at least 16 bytes (three i32 fields and one value).
        guard count >= 1, count <= reader.remaining / 16 else {
            throw ImatrixError.malformed(path: path, offset: 0, reason: "entry count \(count) does not fit the file's \(file.size) bytes (is this an imatrix file?)")
        }
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for index in 0 ..< count {
            let length = try i32("the name length of entry \(index + 1)")
            guard length >= 1, length <= reader.remaining else {
                throw fail("entry \(index + 1) has a name of \(length) bytes, \(reader.remaining) left")
            }
            let name: String
            do { name = try reader.utf8String(length) } catch { throw fail("the name of entry \(index + 1) is not valid UTF-8") }
            guard !name.utf8.contains(0) else { throw fail("the name of entry \(index + 1) holds a NUL byte") }
            let calls = try i32("ncall of '\(name)'")
            let values = try i32("the value count of '\(name)'")
            guard values >= 1, values <= reader.remaining / 4 else {
                throw fail("'\(name)' declares \(values) values, but \(reader.remaining) bytes are left")
            }
            guard entries[name] == nil else { throw fail("entry '\(name)' appears twice") }
            let bytes = try reader.bytes(values * 4)
            let sums = (0 ..< values).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            let entry = ImportanceMatrix.Entry(sums: sums, counts: [Double(calls)])
            try ImatrixValidation.check(entry, name: name, format: .legacy, path: path)
            entries[name] = entry
        }
        var chunkCount = 0, datasets: [String] = []
        if !reader.isAtEnd {
            chunkCount = try i32("the trailing chunk count")
            guard chunkCount >= 0 else { throw fail("the chunk count is \(chunkCount)") }
            if !reader.isAtEnd {
                let length = try i32("the dataset name length")
                if length > 0 {
                    guard length <= reader.remaining else { throw fail("the dataset name needs \(length) bytes, \(reader.remaining) left: the file is truncated") }
                    do { datasets = [try reader.utf8String(length)] } catch { throw fail("the dataset name is not valid UTF-8") }
                }
            }
            guard reader.isAtEnd else { throw fail("\(reader.remaining) unexpected bytes after the dataset name") }
        }
        // The loader sets chunk_size = 0 for legacy files: the format does not record it.
        return try ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: 0,
                                    format: .legacy, context: path)
    }
}
