#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Tensor views point into it, so reading a header
/// touches no tensor data. The descriptor stays open so writers can `copy_file_range` from it.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    public let fileDescriptor: Int32
    private let base: UnsafeMutableRawPointer?

    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CoreError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try self.init(descriptor: fd, path: path)
    }

    /// Maps the file open at `descriptor` (the descriptor is duplicated; the caller keeps its own).
    /// `path` names it in messages (it may already be unlinked).
    public init(descriptor: Int32, path: String) throws {
        self.path = path
        let fd = dup(descriptor)
        guard fd >= 0 else { throw CoreError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CoreError.cannotOpen(path: path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CoreError.cannotOpen(path: path, reason: "not a regular file")
        }
        let length = Int(info.st_size)
        if length == 0 {
            base = nil
        } else {
            let pointer = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let pointer, pointer != MAP_FAILED else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw CoreError.cannotOpen(path: path, reason: "mmap failed: \(reason)")
            }
            base = pointer
        }
        size = length
        fileDescriptor = fd
    }

    deinit {
        if let base { munmap(base, size) }
        close(fileDescriptor)
    }

    /// The whole file as bytes.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0) }, count: size)
    }

    /// A checked sub-range of the file.
    public func bytes(offset: Int, count: Int, context: String) throws -> UnsafeRawBufferPointer {
        let end = try ShapeMath.add(offset, count, context: context)
        guard offset >= 0, count >= 0, end <= size else {
            throw CoreError.outOfBounds(context: "\(path): \(context)", offset: offset, need: count, available: size)
        }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    /// Tell the kernel we are done with these pages: they leave our resident set (the page
    /// cache keeps them), so streaming a model through the map keeps peak RSS near one chunk.
    public func release(offset: Int, count: Int) {
        guard let base, count > 0, offset >= 0, offset < size else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        let end = min(size, offset + count)
        let alignedEnd = (end / page) * page
        guard alignedEnd > start else { return }
        _ = madvise(base + start, alignedEnd - start, MADV_DONTNEED)
    }

    /// Hint sequential access for the range: aggressive read-ahead, and pages behind the reader
    /// may be reclaimed early. (madvise advice values are not flags: one call per advice.)
    public func adviseSequential(offset: Int, count: Int) {
        guard let base, count > 0 else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        let end = min(size, offset + count)
        guard end > start else { return }
        _ = madvise(base + start, end - start, MADV_SEQUENTIAL)
    }
}
