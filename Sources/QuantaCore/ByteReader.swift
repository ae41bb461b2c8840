/// Bounds-checked little-endian reads over a byte buffer. Every read checks the remaining
/// length first and throws `CoreError.outOfBounds` naming the context and offset.
/// Values are assembled with `loadUnaligned`, never by casting bytes to a struct.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset: Int
    public let context: String

    public init(_ buffer: UnsafeRawBufferPointer, offset: Int = 0, context: String) {
        self.buffer = buffer
        self.offset = offset
        self.context = context
    }

    public var remaining: Int { buffer.count - offset }
    public var isAtEnd: Bool { offset >= buffer.count }

    @inline(__always)
    private mutating func take(_ count: Int) throws -> Int {
        guard count >= 0, offset >= 0, count <= buffer.count - offset else {
            throw CoreError.outOfBounds(context: context, offset: offset, need: count, available: buffer.count)
        }
        let start = offset
        offset += count
        return start
    }

    @inline(__always)
    private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let start = try take(MemoryLayout<T>.size)
        return T(littleEndian: buffer.loadUnaligned(fromByteOffset: start, as: T.self))
    }

    public mutating func u8() throws -> UInt8 { try load(UInt8.self) }
    public mutating func i8() throws -> Int8 { try load(Int8.self) }
    public mutating func u16() throws -> UInt16 { try load(UInt16.self) }
    public mutating func i16() throws -> Int16 { try load(Int16.self) }
    public mutating func u32() throws -> UInt32 { try load(UInt32.self) }
    public mutating func i32() throws -> Int32 { try load(Int32.self) }
    public mutating func u64() throws -> UInt64 { try load(UInt64.self) }
    public mutating func i64() throws -> Int64 { try load(Int64.self) }
    public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }

    /// `count` raw bytes as a view into the buffer.
    public mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        let start = try take(count)
        return UnsafeRawBufferPointer(rebasing: buffer[start ..< start + count])
    }

    /// `count` bytes decoded as UTF-8; invalid UTF-8 is an error.
    public mutating func utf8String(_ count: Int) throws -> String {
        let at = offset
        let raw = try bytes(count)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw CoreError.json(context: context, offset: at, message: "string is not valid UTF-8")
        }
        return text
    }

    public mutating func skip(_ count: Int) throws { _ = try take(count) }

    public mutating func seek(to position: Int) throws {
        guard position >= 0, position <= buffer.count else {
            throw CoreError.outOfBounds(context: context, offset: position, need: 0, available: buffer.count)
        }
        offset = position
    }
}
