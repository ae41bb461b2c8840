import QuantaCore

/// One stored entry of a zip archive, with the file range of its data.
public struct TorchZipEntry: Sendable, Equatable {
    public let name: String
    /// File offset of the entry's local header.
    public let localHeaderOffset: Int
    /// File offset of the first data byte (after the local header, name and extra field).
    public let dataOffset: Int
    /// Data length (stored, so compressed size = uncompressed size).
    public let size: Int
    /// CRC-32 recorded in the central directory.
    public let crc32: UInt32
    public var dataRange: Range<Int> { dataOffset ..< dataOffset + size }
}

/// The zip layer of a PyTorch checkpoint: the end-of-central-directory record (and its ZIP64
/// form), the central directory, and every local header, validated against the file and the
/// caps in `TorchLimits` before anything is handed out (PKWARE APPNOTE 6.3.x). Entries are
/// views into the mapped file; nothing is extracted, so names are data, never paths.
public struct TorchZip: Sendable {
    /// Entries in central-directory order.
    public let entries: [TorchZipEntry]
    private let indexByName: [String: Int]

    public func entry(named name: String) -> TorchZipEntry? { indexByName[name].map { entries[$0] } }

    // Signatures and fixed sizes (APPNOTE 4.3.7, 4.3.12, 4.3.14, 4.3.15, 4.3.16).
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endOfCentralDirectorySignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let localHeaderSize = 30
    static let endOfCentralDirectorySize = 22
    static let zip64LocatorSize = 20
    static let zip64EndMinimumSize = 56
    static let zip64ExtraID: UInt16 = 0x0001

    /// Parses and validates the archive in `file`.
    public init(file: MappedFile) throws {
        let path = file.path
        let bytes = file.bytes
        let end = try Self.findEnd(bytes, path: path)
        let directory = try Self.readCentralDirectory(bytes, path: path, end: end)
        try Self.checkLayout(directory, path: path, dataLimit: end.directoryOffset)
        var index: [String: Int] = [:]
        index.reserveCapacity(directory.count)
        for (position, entry) in directory.enumerated() {
            guard index.updateValue(position, forKey: entry.name) == nil else {
                throw TorchError.duplicateEntry(file: path, entry: entry.name)
            }
        }
        entries = directory
        indexByName = index
    }

    /// Where the central directory is, from the EOCD record (or its ZIP64 form).
    struct End {
        let entryCount: Int
        let directoryOffset: Int
        let directorySize: Int
        /// File offset where the directory must end: the ZIP64 record or the EOCD.
        let directoryLimit: Int
    }

    static func findEnd(_ bytes: UnsafeRawBufferPointer, path: String) throws -> End {
        let size = bytes.count
        guard size >= endOfCentralDirectorySize else {
            throw TorchError.notZip(file: path, reason: "\(size) bytes is too small for a zip archive")
        }
        // Search backwards for a record whose comment runs exactly to the end of the file, so a
        // signature inside data or a comment is not mistaken for the record.
        let lowest = max(0, size - TorchLimits.eocdSearchWindow)
        var position = size - endOfCentralDirectorySize
        var found: Int?
        while position >= lowest {
            if readU32(bytes, position) == endOfCentralDirectorySignature,
               position + endOfCentralDirectorySize + Int(readU16(bytes, position + 20)) == size {
                found = position
                break
            }
            position -= 1
        }
        guard let eocd = found else {
            throw TorchError.notZip(file: path, reason: "no end-of-central-directory record in the last \(TorchLimits.eocdSearchWindow) bytes")
        }
        let disk = Int(readU16(bytes, eocd + 4))
        let directoryDisk = Int(readU16(bytes, eocd + 6))
        var entriesOnDisk = Int(readU16(bytes, eocd + 8))
        var entryCount = Int(readU16(bytes, eocd + 10))
        var directorySize = Int(readU32(bytes, eocd + 12))
        var directoryOffset = Int(readU32(bytes, eocd + 16))
        var directoryLimit = eocd
        var diskNumber = disk
        var directoryDiskNumber = directoryDisk

        // A ZIP64 locator sits right before the EOCD; torch (miniz with MZ_ZIP_FLAG_WRITE_ZIP64)
        // always writes one, and its values replace the 16/32-bit ones.
        let locator = eocd - zip64LocatorSize
        if locator >= 0, readU32(bytes, locator) == zip64LocatorSignature {
            let locatorDisk = Int(readU32(bytes, locator + 4))
            let recordOffset = readU64(bytes, locator + 8)
            let totalDisks = Int(readU32(bytes, locator + 16))
            guard locatorDisk == 0, totalDisks <= 1 else {
                throw TorchError.zipCorrupt(file: path, offset: locator, reason: "the archive spans several disks, which is not supported")
            }
            guard locator >= zip64EndMinimumSize, recordOffset <= UInt64(locator - zip64EndMinimumSize) else {
                throw TorchError.zipCorrupt(file: path, offset: locator, reason: "the ZIP64 end record offset \(recordOffset) is not before its locator")
            }
            let record = Int(recordOffset)
            guard readU32(bytes, record) == zip64EndSignature else {
                throw TorchError.zipCorrupt(file: path, offset: record, reason: "no ZIP64 end-of-central-directory record where the locator points")
            }
            let recordSize = readU64(bytes, record + 4)
            guard recordSize >= UInt64(zip64EndMinimumSize - 12), recordSize <= UInt64(locator - record - 12) else {
                throw TorchError.zipCorrupt(file: path, offset: record, reason: "ZIP64 end record size \(recordSize) does not fit before its locator")
            }
            diskNumber = Int(readU32(bytes, record + 16))
            directoryDiskNumber = Int(readU32(bytes, record + 20))
            let onDisk64 = readU64(bytes, record + 24)
            let total64 = readU64(bytes, record + 32)
            let size64 = readU64(bytes, record + 40)
            let offset64 = readU64(bytes, record + 48)
            let fileSize = UInt64(size)
            guard total64 <= UInt64(TorchLimits.maxEntries) else {
                throw TorchError.zipLimit(file: path, limit: "the entry count", value: Int(clamping: total64), cap: TorchLimits.maxEntries)
            }
            guard size64 <= fileSize, offset64 <= fileSize, onDisk64 <= total64 else {
                throw TorchError.zipCorrupt(file: path, offset: record, reason: "ZIP64 end record declares a directory of \(size64) bytes at \(offset64) in a \(size)-byte file")
            }
            // Where the 16/32-bit fields are not saturated they must agree with the ZIP64 ones.
            guard entryCount == 0xFFFF || UInt64(entryCount) == total64,
                  directorySize == 0xFFFF_FFFF || UInt64(directorySize) == size64,
                  directoryOffset == 0xFFFF_FFFF || UInt64(directoryOffset) == offset64 else {
                throw TorchError.zipCorrupt(file: path, offset: eocd, reason: "the end record and the ZIP64 end record disagree")
            }
            entriesOnDisk = Int(onDisk64)
            entryCount = Int(total64)
            directorySize = Int(size64)
            directoryOffset = Int(offset64)
            directoryLimit = record
        } else if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            throw TorchError.zipCorrupt(file: path, offset: eocd, reason: "the end record defers to a ZIP64 record that is missing")
        }
        guard diskNumber == 0, directoryDiskNumber == 0, entriesOnDisk == entryCount else {
            throw TorchError.zipCorrupt(file: path, offset: eocd, reason: "the archive spans several disks, which is not supported")
        }
        guard entryCount <= TorchLimits.maxEntries else {
            throw TorchError.zipLimit(file: path, limit: "the entry count", value: entryCount, cap: TorchLimits.maxEntries)
        }
        guard entryCount > 0 else { throw TorchError.notZip(file: path, reason: "the archive holds no entries") }
        let (directoryEnd, overflow) = directoryOffset.addingReportingOverflow(directorySize)
        guard !overflow, directoryEnd <= directoryLimit else {
            throw TorchError.zipCorrupt(file: path, offset: eocd, reason: "the central directory (\(directorySize) bytes at \(directoryOffset)) does not end before the end record at \(directoryLimit)")
        }
        let mostEntries = directorySize / centralHeaderMinimumSize
        guard entryCount <= mostEntries else {
            throw TorchError.zipLimit(file: path, limit: "the entry count (a \(directorySize)-byte central directory holds at most \(mostEntries))",
                                      value: entryCount, cap: mostEntries)
        }
        return End(entryCount: entryCount, directoryOffset: directoryOffset, directorySize: directorySize,
                   directoryLimit: directoryLimit)
    }

    static var centralHeaderMinimumSize: Int { TorchLimits.centralHeaderMinimumSize }

    /// Reads every central-directory header and the local header it points to.
    static func readCentralDirectory(_ bytes: UnsafeRawBufferPointer, path: String, end: End) throws -> [TorchZipEntry] {
        var entries: [TorchZipEntry] = []
        entries.reserveCapacity(end.entryCount)
        let directory = UnsafeRawBufferPointer(rebasing: bytes[end.directoryOffset ..< end.directoryOffset + end.directorySize])
        var cursor = 0
        for _ in 0 ..< end.entryCount {
            let at = end.directoryOffset + cursor
            guard cursor + centralHeaderMinimumSize <= directory.count else {
                throw TorchError.zipCorrupt(file: path, offset: at, reason: "the central directory ends in the middle of an entry")
            }
            guard readU32(directory, cursor) == centralHeaderSignature else {
                throw TorchError.zipCorrupt(file: path, offset: at, reason: "expected a central directory header signature")
            }
            let flags = readU16(directory, cursor + 8)
            let method = Int(readU16(directory, cursor + 10))
            let crc = readU32(directory, cursor + 16)
            var compressedSize = UInt64(readU32(directory, cursor + 20))
            var size = UInt64(readU32(directory, cursor + 24))
            let nameLength = Int(readU16(directory, cursor + 28))
            let extraLength = Int(readU16(directory, cursor + 30))
            let commentLength = Int(readU16(directory, cursor + 32))
            var diskStart = UInt64(readU16(directory, cursor + 34))
            var localOffset = UInt64(readU32(directory, cursor + 42))
            let headerEnd = cursor + centralHeaderMinimumSize
            guard nameLength <= TorchLimits.maxEntryNameBytes else {
                throw TorchError.zipLimit(file: path, limit: "the name length of the entry at byte \(at)", value: nameLength,
                                          cap: TorchLimits.maxEntryNameBytes)
            }
            let total = headerEnd + nameLength + extraLength + commentLength
            guard total <= directory.count else {
                throw TorchError.zipCorrupt(file: path, offset: at, reason: "an entry's name, extra field and comment run past the central directory")
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: directory[headerEnd ..< headerEnd + nameLength])
            let name = try entryName(nameBytes, path: path, offset: at + centralHeaderMinimumSize)

            // ZIP64 extended information (APPNOTE 4.5.3): a field appears only when its 32-bit
            // slot holds 0xFFFFFFFF (0xFFFF for the disk), in this order.
            let extra = UnsafeRawBufferPointer(rebasing: directory[headerEnd + nameLength ..< headerEnd + nameLength + extraLength])
            if size == 0xFFFF_FFFF || compressedSize == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF || diskStart == 0xFFFF {
                guard let field = try extraField(extra, id: zip64ExtraID, path: path, offset: at) else {
                    throw TorchError.zipCorrupt(file: path, offset: at, reason: "entry '\(name)' needs a ZIP64 extra field but has none")
                }
                var reader = ByteReader(field, context: "\(path): ZIP64 extra field of '\(name)'")
                do {
                    if size == 0xFFFF_FFFF { size = try reader.u64() }
                    if compressedSize == 0xFFFF_FFFF { compressedSize = try reader.u64() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try reader.u64() }
                    if diskStart == 0xFFFF { diskStart = UInt64(try reader.u32()) }
                } catch {
                    throw TorchError.zipCorrupt(file: path, offset: at, reason: "entry '\(name)' has a ZIP64 extra field too short for the values it must hold")
                }
            } else {
                _ = try extraField(extra, id: zip64ExtraID, path: path, offset: at)  // still validates the field layout
            }
            guard flags & 0x1 == 0 else { throw TorchError.encryptedEntry(file: path, entry: name) }
            guard method == 0 else { throw TorchError.compressedEntry(file: path, entry: name, method: method) }
            guard diskStart == 0 else {
                throw TorchError.zipCorrupt(file: path, offset: at, reason: "entry '\(name)' starts on another disk")
            }
            guard compressedSize == size else {
                throw TorchError.zipCorrupt(file: path, offset: at, reason: "stored entry '\(name)' has compressed size \(compressedSize) but size \(size)")
            }
            let fileSize = UInt64(bytes.count)
            guard localOffset <= fileSize, size <= fileSize else {
                throw TorchError.entryOutsideFile(file: path, entry: name, start: Int(clamping: localOffset),
                                                  end: Int(clamping: localOffset &+ size), limit: end.directoryOffset)
            }
            let dataOffset = try localData(bytes, path: path, name: name, nameBytes: nameBytes,
                                           localOffset: Int(localOffset), dataLimit: end.directoryOffset)
            let (dataEnd, overflow) = dataOffset.addingReportingOverflow(Int(size))
            guard !overflow, dataEnd <= end.directoryOffset else {
                throw TorchError.entryOutsideFile(file: path, entry: name, start: dataOffset, end: dataEnd, limit: end.directoryOffset)
            }
            entries.append(TorchZipEntry(name: name, localHeaderOffset: Int(localOffset), dataOffset: dataOffset,
                                         size: Int(size), crc32: crc))
            cursor = total
        }
        return entries
    }

    /// Validates the local header at `localOffset` against the central entry; returns where data starts.
    static func localData(_ bytes: UnsafeRawBufferPointer, path: String, name: String, nameBytes: UnsafeRawBufferPointer,
                          localOffset: Int, dataLimit: Int) throws -> Int {
        guard localOffset <= dataLimit - localHeaderSize else {
            throw TorchError.entryOutsideFile(file: path, entry: name, start: localOffset, end: localOffset + localHeaderSize, limit: dataLimit)
        }
        guard readU32(bytes, localOffset) == localHeaderSignature else {
            throw TorchError.zipCorrupt(file: path, offset: localOffset, reason: "entry '\(name)' has no local header signature where the directory points")
        }
        let method = Int(readU16(bytes, localOffset + 8))
        guard method == 0 else { throw TorchError.compressedEntry(file: path, entry: name, method: method) }
        let nameLength = Int(readU16(bytes, localOffset + 26))
        let extraLength = Int(readU16(bytes, localOffset + 28))
        let dataOffset = localOffset + localHeaderSize + nameLength + extraLength
        guard dataOffset <= dataLimit else {
            throw TorchError.entryOutsideFile(file: path, entry: name, start: localOffset, end: dataOffset, limit: dataLimit)
        }
        let localName = UnsafeRawBufferPointer(rebasing: bytes[localOffset + localHeaderSize ..< localOffset + localHeaderSize + nameLength])
        guard localName.elementsEqual(nameBytes) else {
            throw TorchError.zipCorrupt(file: path, offset: localOffset, reason: "the local header's name differs from the directory's '\(name)'")
        }
        let extraStart = localOffset + localHeaderSize + nameLength
        _ = try extraField(UnsafeRawBufferPointer(rebasing: bytes[extraStart ..< dataOffset]), id: zip64ExtraID,
                           path: path, offset: localOffset)
        return dataOffset
    }

    /// Checks the extra field is a well-formed list of (id, length, data) blocks and returns the
    /// data of block `id`, if present. torch pads with a block "FB" (0x4246) of 'Z' bytes.
    static func extraField(_ extra: UnsafeRawBufferPointer, id: UInt16, path: String, offset: Int) throws -> UnsafeRawBufferPointer? {
        var cursor = 0
        var found: UnsafeRawBufferPointer?
        while cursor < extra.count {
            guard cursor + 4 <= extra.count else {
                throw TorchError.zipCorrupt(file: path, offset: offset, reason: "an extra field ends inside a block header")
            }
            let blockID = readU16(extra, cursor)
            let length = Int(readU16(extra, cursor + 2))
            guard cursor + 4 + length <= extra.count else {
                throw TorchError.zipCorrupt(file: path, offset: offset, reason: "an extra field block of \(length) bytes runs past the field")
            }
            if blockID == id && found == nil {
                found = UnsafeRawBufferPointer(rebasing: extra[cursor + 4 ..< cursor + 4 + length])
            }
            cursor += 4 + length
        }
        return found
    }

    /// A name as UTF-8 without NUL. Names are only looked up, never used as paths.
    static func entryName(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int) throws -> String {
        guard !bytes.isEmpty else { throw TorchError.invalidEntryName(file: path, offset: offset, reason: "is empty") }
        guard !bytes.contains(0) else { throw TorchError.invalidEntryName(file: path, offset: offset, reason: "contains a NUL byte") }
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw TorchError.invalidEntryName(file: path, offset: offset, reason: "is not valid UTF-8")
        }
        return name
    }

    /// Entries must not overlap: sorted by local header, each entry's data ends before the next header.
    static func checkLayout(_ entries: [TorchZipEntry], path: String, dataLimit: Int) throws {
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        for (previous, next) in zip(order, order.dropFirst()) {
            let earlier = entries[previous], later = entries[next]
            guard earlier.dataOffset + earlier.size <= later.localHeaderOffset else {
                throw TorchError.overlappingEntries(file: path, entry: later.name, other: earlier.name)
            }
        }
    }

    // Raw little-endian loads; callers have checked the range.
    @inline(__always) static func readU16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) static func readU32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) static func readU64(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
