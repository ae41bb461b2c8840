import QuantaCore

/// Streams a zip archive laid out exactly as torch's `PyTorchStreamWriter` lays it out through
/// miniz 3.0.2 (`mz_zip_writer_add_mem_ex_v2`, `mz_zip_writer_finalize_archive`, opened with
/// MZ_ZIP_FLAG_WRITE_ZIP64):
///
/// - each record: a 30-byte local header (version 0, flags 0x0808 = data descriptor + UTF-8 name,
///   or 0x0800 for an empty record, method 0, time and date 0, CRC and sizes 0), the name
///   `<archive>/<record>`, a ZIP64 extra block when the size or the header offset is ≥ 0xFFFFFFFF,
///   then torch's padding block "FB" + length + 'Z'… so the data starts on a 64-byte boundary
///   (`detail::getPadding`), the data, and for a non-empty record a data descriptor
///   `PK\u{7}\u{8}`, CRC, sizes (32-bit, or 64-bit when the ZIP64 block was written);
/// - the central directory: one 46-byte header per record (version made by and needed 0, the
///   same flags, CRC, sizes and offset capped at 0xFFFFFFFF, no comment, attributes 0), the
///   name and the ZIP64 block when present;
/// - always a ZIP64 end record (made by 0x031E, needed 0x002D), its locator, then the classic
///   end record with counts and sizes capped.
final class TorchZipWriter {
    static let alignment = 64  // torch.utils.serialization.config.save.storage_alignment
    static let descriptorSignature: [UInt8] = [0x50, 0x4B, 0x07, 0x08]

    let output: OutputFile
    let archive: String
    /// Sizes and offsets at or above this take ZIP64 fields (0xFFFFFFFF; lowered only by tests).
    let zip64Threshold: Int
    private var central: [UInt8] = []
    private var records = 0
    private(set) var serialization = TorchSerializationID()

    init(output: OutputFile, archive: String, zip64Threshold: Int = 0xFFFF_FFFF) {
        self.output = output
        self.archive = archive
        self.zip64Threshold = zip64Threshold
    }

    /// A record whose bytes are in memory.
    func add(_ name: String, bytes: [UInt8], countsTowardID: Bool = true) throws {
        try add(name, size: bytes.count, countsTowardID: countsTowardID) { sink in
            try bytes.withUnsafeBytes { try sink.write($0) }
        }
    }

    /// A record of `size` bytes produced by `body` through the sink (which computes the CRC).
    func add(_ name: String, size: Int, countsTowardID: Bool = true, _ body: (inout RecordSink) throws -> Void) throws {
        let localOffset = output.bytesWritten
        let fullName = Array((archive + "/" + name).utf8)
        let sizeNeedsZip64 = size >= zip64Threshold
        let offsetNeedsZip64 = localOffset >= zip64Threshold
        // miniz builds the local block before writing the data, while its compressed size is
        // still 0, and rebuilds it for the central directory afterwards.
        let localZip64 = Self.zip64Block(size: sizeNeedsZip64 ? size : nil, compressedSize: 0,
                                         offset: offsetNeedsZip64 ? localOffset : nil)
        let zip64 = Self.zip64Block(size: sizeNeedsZip64 ? size : nil, compressedSize: size,
                                    offset: offsetNeedsZip64 ? localOffset : nil)

        // torch's getPadding: where the data would start with an empty "FB" block.
        var start = localOffset + 30 + fullName.count + 4
        if sizeNeedsZip64 || offsetNeedsZip64 {
            start += 4
            if sizeNeedsZip64 { start += 16 }
            if offsetNeedsZip64 { start += 8 }
        }
        let padding = (Self.alignment - start % Self.alignment) % Self.alignment
        let flags: UInt16 = size > 0 ? 0x0808 : 0x0800

        var header: [UInt8] = []
        header.reserveCapacity(30 + fullName.count + localZip64.count + 4 + padding)
        Self.append32(&header, 0x0403_4B50)
        Self.append16(&header, 0)       // version needed (miniz: 0 when stored)
        Self.append16(&header, flags)
        Self.append16(&header, 0)       // method: stored
        Self.append16(&header, 0)       // time
        Self.append16(&header, 0)       // date
        Self.append32(&header, 0)       // CRC (in the descriptor)
        Self.append32(&header, 0)       // compressed size
        Self.append32(&header, 0)       // size
        Self.append16(&header, UInt16(fullName.count))
        Self.append16(&header, UInt16(localZip64.count + 4 + padding))
        header += fullName
        header += localZip64
        header += [0x46, 0x42]  // "FB"
        Self.append16(&header, UInt16(padding))
        header += [UInt8](repeating: 0x5A, count: padding)  // 'Z'
        try output.write(header)

        var sink = RecordSink(output: output)
        try body(&sink)
        guard sink.written == size else {
            throw TorchError.payloadSizeMismatch(file: output.path, tensor: name, expected: size, written: sink.written)
        }
        let crc = sink.crc
        if size > 0 {
            var descriptor = Self.descriptorSignature
            Self.append32(&descriptor, crc)
            if zip64.isEmpty {
                Self.append32(&descriptor, UInt32(size))
                Self.append32(&descriptor, UInt32(size))
            } else {
                Self.append64(&descriptor, UInt64(size))
                Self.append64(&descriptor, UInt64(size))
            }
            try output.write(descriptor)
        }
        if countsTowardID { serialization.add(record: name, crc32: crc, size: size, firstBytes: sink.firstBytes) }

        Self.append32(&central, 0x0201_4B50)
        Self.append16(&central, 0)      // version made by
        Self.append16(&central, 0)      // version needed
        Self.append16(&central, flags)
        Self.append16(&central, 0)      // method
        Self.append16(&central, 0)      // time
        Self.append16(&central, 0)      // date
        Self.append32(&central, crc)
        Self.append32(&central, sizeNeedsZip64 ? 0xFFFF_FFFF : UInt32(size))
        Self.append32(&central, sizeNeedsZip64 ? 0xFFFF_FFFF : UInt32(size))
        Self.append16(&central, UInt16(fullName.count))
        Self.append16(&central, UInt16(zip64.count))
        Self.append16(&central, 0)      // comment length
        Self.append16(&central, 0)      // disk
        Self.append16(&central, 0)      // internal attributes
        Self.append32(&central, 0)      // external attributes
        Self.append32(&central, offsetNeedsZip64 ? 0xFFFF_FFFF : UInt32(localOffset))
        central += fullName
        central += zip64
        records += 1
    }

    /// Writes the serialization id record, the central directory and the end records.
    func finish() throws {
        let id = try serialization.value()
        try add(".data/serialization_id", bytes: Array(id.utf8), countsTowardID: false)
        let directoryOffset = output.bytesWritten
        try output.write(central)
        let zip64EndOffset = output.bytesWritten
        var tail: [UInt8] = []
        Self.append32(&tail, 0x0606_4B50)
        Self.append64(&tail, 44)        // size of the record after this field
        Self.append16(&tail, 0x031E)    // made by (miniz: "always Unix")
        Self.append16(&tail, 0x002D)    // needed: 4.5
        Self.append32(&tail, 0)
        Self.append32(&tail, 0)
        Self.append64(&tail, UInt64(records))
        Self.append64(&tail, UInt64(records))
        Self.append64(&tail, UInt64(central.count))
        Self.append64(&tail, UInt64(directoryOffset))
        Self.append32(&tail, 0x0706_4B50)
        Self.append32(&tail, 0)
        Self.append64(&tail, UInt64(zip64EndOffset))
        Self.append32(&tail, 1)
        Self.append32(&tail, 0x0605_4B50)
        Self.append16(&tail, 0)
        Self.append16(&tail, 0)
        Self.append16(&tail, UInt16(min(records, 0xFFFF)))
        Self.append16(&tail, UInt16(min(records, 0xFFFF)))
        Self.append32(&tail, UInt32(min(central.count, 0xFFFF_FFFF)))
        Self.append32(&tail, UInt32(min(directoryOffset, 0xFFFF_FFFF)))
        Self.append16(&tail, 0)
        try output.write(tail)
    }

    /// miniz's `mz_zip_writer_create_zip64_extra_data`: id 1, then size and compressed size,
    /// then the header offset, each only when needed.
    static func zip64Block(size: Int?, compressedSize: Int, offset: Int?) -> [UInt8] {
        guard size != nil || offset != nil else { return [] }
        var block: [UInt8] = []
        append16(&block, 0x0001)
        append16(&block, UInt16((size != nil ? 16 : 0) + (offset != nil ? 8 : 0)))
        if let size {
            append64(&block, UInt64(size))
            append64(&block, UInt64(compressedSize))
        }
        if let offset { append64(&block, UInt64(offset)) }
        return block
    }

    static func append16(_ bytes: inout [UInt8], _ value: UInt16) {
        bytes += [UInt8(value & 0xFF), UInt8(value >> 8)]
    }

    static func append32(_ bytes: inout [UInt8], _ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }

    static func append64(_ bytes: inout [UInt8], _ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}

/// Where a record's data goes: counts bytes, keeps the first eight (for the serialization id)
/// and the running CRC-32.
struct RecordSink: PayloadSink {
    let output: OutputFile
    private(set) var written = 0
    private(set) var crc: UInt32 = 0
    private(set) var firstBytes: [UInt8] = []

    init(output: OutputFile) { self.output = output }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        crc = ZipCRC32.combine(crc, ZipCRC32.checksum(bytes), secondLength: bytes.count)
        note(bytes)
        try output.write(bytes)
    }

    /// Copies a mapped range in-kernel after taking its CRC from the map.
    mutating func copy(from file: MappedFile, offset: Int, count: Int) throws {
        let bytes = try file.bytes(offset: offset, count: count, context: "tensor data")
        crc = ZipCRC32.combine(crc, ZipCRC32.checksum(bytes), secondLength: count)
        note(bytes)
        try output.copy(from: file, offset: offset, count: count)
        file.release(offset: offset, count: count)
    }

    private mutating func note(_ bytes: UnsafeRawBufferPointer) {
        if firstBytes.count < 8 { firstBytes += bytes.prefix(8 - firstBytes.count) }
        written += bytes.count
    }
}
