import QuantaCore

/// One PyTorch zip checkpoint (`torch.save` since PyTorch 1.6): the zip is validated, data.pkl is
/// read by the restricted unpickler, every storage is checked against its record, and the state
/// dict's tensors are listed in the pickle's order. No tensor byte is read until `view(of:)`.
public final class TorchFile: Sendable {
    public let path: String
    public let file: MappedFile
    public let zip: TorchZip
    /// The single top-level folder every record lives in (torch uses the file's stem or "archive").
    public let archiveName: String
    /// The `byteorder` record says "big": tensor bytes are swapped on read.
    public let isBigEndian: Bool
    /// The archive format version (`version` or `.data/version` record).
    public let formatVersion: Int
    public let pickle: TorchPickle
    /// State-dict tensors in the pickle's order.
    public let tensors: [TorchTensor]
    /// Keys of the state dict whose values are not tensors (e.g. `_extra_state`), kept for reporting.
    public let ignoredKeys: [String]

    public init(path: String) throws {
        self.path = path
        let mapped = try MappedFile(path: path)
        file = mapped
        try Self.refuseLegacy(mapped.bytes, path: path)
        let archive = try TorchZip(file: mapped)
        zip = archive
        archiveName = try Self.archiveFolder(archive, path: path)
        let prefix = archiveName + "/"

        let versionRecord = archive.entry(named: prefix + ".data/version") ?? archive.entry(named: prefix + "version")
        guard let versionRecord else { throw TorchError.missingRecord(file: path, record: prefix + "version") }
        let versionText = try Self.smallText(versionRecord, in: mapped, path: path)
        guard let version = Int(versionText.trimmed(of: "\n\r ")), version >= 0 else {
            throw TorchError.invalidRecord(file: path, record: versionRecord.name, reason: "holds '\(versionText)', not a version number")
        }
        formatVersion = version

        var bigEndian = false
        if let order = archive.entry(named: prefix + "byteorder") {
            switch try Self.smallText(order, in: mapped, path: path) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            case let other: throw TorchError.invalidRecord(file: path, record: order.name, reason: "holds '\(other)'; torch writes 'little' or 'big'")
            }
        }
        isBigEndian = bigEndian

        guard let pickleRecord = archive.entry(named: prefix + "data.pkl") else {
            throw TorchError.missingRecord(file: path, record: prefix + "data.pkl")
        }
        let pickleBytes = try mapped.bytes(offset: pickleRecord.dataOffset, count: pickleRecord.size, context: "data.pkl")
        // torch can be told not to compute CRCs (set_crc32_options(False)), which leaves 0.
        if pickleRecord.crc32 != 0 {
            let computed = ZipCRC32.checksum(pickleBytes)
            guard computed == pickleRecord.crc32 else {
                throw TorchError.crcMismatch(file: path, entry: pickleRecord.name, stored: pickleRecord.crc32, computed: computed)
            }
        }
        let unpickled = try TorchUnpickler.parse(pickleBytes, file: path)
        pickle = unpickled

        // Every storage must have a record at least as large as it claims.
        var resolved: [TorchStorage] = []
        resolved.reserveCapacity(unpickled.storages.count)
        for reference in unpickled.storages {
            let recordName = prefix + "data/" + reference.key
            guard let record = archive.entry(named: recordName) else { throw TorchError.missingRecord(file: path, record: recordName) }
            guard reference.byteCount <= record.size else {
                throw TorchError.storageTooLarge(file: path, key: reference.key, needed: reference.byteCount, available: record.size)
            }
            resolved.append(TorchStorage(key: reference.key, dtype: reference.dtype, elementCount: reference.elementCount,
                                         dataOffset: record.dataOffset, recordSize: record.size))
        }

        let (entries, ignored) = try TorchStateDict.entries(of: unpickled, file: path)
        tensors = try entries.map { name, index in
            let record = unpickled.tensors[index]
            let count = try ShapeMath.elementCount(record.shape, context: "tensor '\(name)'")
            return TorchTensor(name: name, dtype: record.dtype, shape: record.shape, strides: record.strides,
                               storageOffset: record.storageOffset, storage: resolved[record.storage], elementCount: count)
        }
        ignoredKeys = ignored
    }

    /// The tensor's bytes: a zero-copy view into the map when contiguous, else an owned copy.
    public func view(of tensor: TorchTensor) throws -> TensorView {
        try TorchTensorReader.view(of: tensor, in: file, bigEndian: isBigEndian)
    }

    /// Files that are not zip checkpoints but older torch formats get a message naming them.
    static func refuseLegacy(_ bytes: UnsafeRawBufferPointer, path: String) throws {
        if bytes.count >= 2 && bytes[0] == 0x80 && bytes[1] <= 5 {
            throw TorchError.legacyFormat(file: path, kind: "a raw pickle (protocol \(bytes[1])), as torch.save wrote before PyTorch 1.6 or with _use_new_zipfile_serialization=False,")
        }
        if bytes.count >= 8 && bytes.prefix(8).elementsEqual("PYTORCH1".utf8) {
            throw TorchError.legacyFormat(file: path, kind: "the PYTORCH1 preview archive")
        }
        if bytes.count >= 262 && bytes[257 ..< 262].elementsEqual("ustar".utf8) {
            throw TorchError.legacyFormat(file: path, kind: "a tar archive (the PyTorch 0.1 format)")
        }
    }

    /// torch takes the folder of the first entry as the archive name; every record must be in it.
    static func archiveFolder(_ archive: TorchZip, path: String) throws -> String {
        guard let first = archive.entries.first else { throw TorchError.notZip(file: path, reason: "the archive holds no entries") }
        guard let slash = first.name.firstIndex(of: "/"), slash != first.name.startIndex else {
            throw TorchError.invalidRecord(file: path, record: first.name, reason: "is not inside a top-level folder, as every torch.save record is")
        }
        let folder = String(first.name[..<slash])
        let prefix = folder + "/"
        for entry in archive.entries where !entry.name.hasPrefix(prefix) {
            throw TorchError.mixedArchiveFolders(file: path, entry: entry.name, expected: folder)
        }
        return folder
    }

    static func smallText(_ entry: TorchZipEntry, in file: MappedFile, path: String) throws -> String {
        guard entry.size <= TorchLimits.maxSmallRecordBytes else {
            throw TorchError.invalidRecord(file: path, record: entry.name, reason: "is \(entry.size) bytes; torch writes a few")
        }
        let raw = try file.bytes(offset: entry.dataOffset, count: entry.size, context: entry.name)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw TorchError.invalidRecord(file: path, record: entry.name, reason: "is not UTF-8 text")
        }
        return text
    }
}

private extension String {
    func trimmed(of set: String) -> String {
        let drop = Set(set)
        var slice = Substring(self)
        while let first = slice.first, drop.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, drop.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

/// Where the tensors are in an unpickled checkpoint.
enum TorchStateDict {
    /// Keys under which training scripts nest the state dict (`{"state_dict": …}`, `{"model": …}`).
    static let nestingKeys = ["state_dict", "model"]

    /// (name, tensor index) pairs of the state dict, and the keys skipped because their values
    /// are not tensors.
    static func entries(of pickle: TorchPickle, file: String) throws -> ([(String, Int)], [String]) {
        guard case var .dict(index) = pickle.root else {
            throw TorchError.noStateDict(file: file, reason: "data.pkl holds \(pickle.root.kind), not a dict of tensors")
        }
        // Descend through at most a few nesting keys whose values are dicts.
        for _ in 0 ..< 4 {
            let dict = pickle.dicts[index]
            guard let next = nestingKeys.lazy.compactMap({ key -> Int? in
                if case let .dict(inner)? = dict.value(forString: key) { return inner }
                return nil
            }).first else { break }
            index = next
        }
        let dict = pickle.dicts[index]
        var entries: [(String, Int)] = []
        var ignored: [String] = []
        for (key, value) in zip(dict.keys, dict.values) {
            switch (key, value) {
            case let (.string(name), .tensor(tensor)):
                entries.append((name, tensor))
            case (_, .tensor):
                throw TorchError.noStateDict(file: file, reason: "a tensor is stored under \(key.kind), not a string name")
            case let (.string(name), _):
                ignored.append(name)
            default:
                ignored.append("(\(key.kind))")
            }
        }
        return (entries, ignored)
    }
}
