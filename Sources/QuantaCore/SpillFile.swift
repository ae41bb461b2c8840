#if canImport(Glibc)
import Glibc
#endif

/// A scratch file that results are appended to while a pass runs and mapped back read-only when it
/// is done, so a pass over a large model keeps its finished tensors on disk (page cache) instead of
/// in anonymous memory. The file is unlinked the moment it is created and lives on through its
/// descriptor: nothing is left behind, even if the process is killed.
public final class SpillFile: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private var size = 0

    /// A new spill file in `directory` (use the output's folder: same disk as the result).
    public init(directory: String) throws {
        var template = Array((directory + "/.quanta-spill-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw CoreError.cannotOpen(path: directory, reason: "cannot create a spill file: " + String(cString: strerror(errno))) }
        descriptor = fd
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(path)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Appends `bytes` (at a 64-byte aligned offset) and returns that offset.
    public func append(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        let offset = (size + 63) / 64 * 64
        var written = 0
        while written < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset + written))
            guard n > 0 else {
                throw CoreError.cannotOpen(path: path, reason: "writing the spill file failed: " + String(cString: strerror(errno)))
            }
            written += n
        }
        size = offset + bytes.count
        return offset
    }

    /// Maps everything appended so far, read-only.
    public func map() throws -> MappedFile {
        try MappedFile(descriptor: descriptor, path: path + " (spill, unlinked)")
    }
}
