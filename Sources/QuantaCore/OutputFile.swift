#if canImport(Glibc)
import Glibc
#endif
import CQuantaSys

/// A file being written sequentially. Bytes from a mapped input are copied in-kernel with
/// `copy_file_range` when possible (as `cp` does), otherwise written from the map and the
/// pages released, so streaming a model keeps the resident set small.
public final class OutputFile {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    public private(set) var bytesWritten: Int = 0
    private var closed = false

    public init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CoreError.io(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        buffer.reserveCapacity(bufferLimit)
    }

    deinit { if !closed { _ = Glibc.close(fd) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if buffer.count + bytes.count > bufferLimit { try flush() }
        if bytes.count >= bufferLimit {
            try writeAll(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
        bytesWritten += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    public func writeZeros(_ count: Int) throws { try write([UInt8](repeating: 0, count: count)) }

    /// Copies `count` bytes of `file` starting at `offset` to the end of this file.
    public func copy(from file: MappedFile, offset: Int, count: Int) throws {
        guard count > 0 else { return }
        try flush()
        var inOffset = Int64(offset)
        var remaining = count
        var inKernel = true
        while remaining > 0 && inKernel {
            let copied = quanta_copy_file_range(file.fileDescriptor, &inOffset, fd, remaining)
            if copied > 0 {
                remaining -= Int(copied)
            } else if copied < 0 && errno == EINTR {
                continue
            } else {
                inKernel = false  // EXDEV, ENOSYS, EINVAL…: fall back to writing from the map
            }
        }
        if remaining > 0 {
            let start = offset + (count - remaining)
            let chunk = 64 << 20
            var position = start
            while position < offset + count {
                let length = min(chunk, offset + count - position)
                try writeAll(try file.bytes(offset: position, count: length, context: "copy"))
                file.release(offset: position, count: length)
                position += length
            }
        }
        bytesWritten += count
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = Glibc.write(fd, pointer, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw CoreError.io(path: path, reason: "write failed: \(String(cString: strerror(errno)))")
            }
            remaining -= n
            pointer += n
        }
    }

    public func close() throws {
        guard !closed else { return }
        try flush()
        closed = true
        guard Glibc.close(fd) == 0 else {
            throw CoreError.io(path: path, reason: "close failed: \(String(cString: strerror(errno)))")
        }
    }
}
