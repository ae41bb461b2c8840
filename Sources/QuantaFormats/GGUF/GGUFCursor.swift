import QuantaCore

/// A `ByteReader` over a GGUF file that turns "ran off the end" into `GGUFError.truncated`
/// naming the file, the field being read and its offset. `what` is an autoclosure so the
/// description is only built when something fails.
struct GGUFCursor {
    private var reader: ByteReader
    let path: String

    init(_ buffer: UnsafeRawBufferPointer, path: String) {
        reader = ByteReader(buffer, context: path)
        self.path = path
    }

    var offset: Int { reader.offset }
    var remaining: Int { reader.remaining }
    var size: Int { reader.buffer.count }

    private func truncated(_ need: Int, _ what: String) -> GGUFError {
        .truncated(path: path, what: what, offset: reader.offset, need: need, available: reader.buffer.count)
    }

    private mutating func read<T>(_ size: Int, _ what: () -> String, _ body: (inout ByteReader) throws -> T) throws -> T {
        guard reader.remaining >= size else { throw truncated(size, what()) }
        return try body(&reader)
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try read(1, what) { try $0.u8() } }
    mutating func i8(_ what: @autoclosure () -> String) throws -> Int8 { try read(1, what) { try $0.i8() } }
    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { try read(2, what) { try $0.u16() } }
    mutating func i16(_ what: @autoclosure () -> String) throws -> Int16 { try read(2, what) { try $0.i16() } }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try read(4, what) { try $0.u32() } }
    mutating func i32(_ what: @autoclosure () -> String) throws -> Int32 { try read(4, what) { try $0.i32() } }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try read(8, what) { try $0.u64() } }
    mutating func i64(_ what: @autoclosure () -> String) throws -> Int64 { try read(8, what) { try $0.i64() } }
    mutating func f32(_ what: @autoclosure () -> String) throws -> Float { try read(4, what) { try $0.f32() } }
    mutating func f64(_ what: @autoclosure () -> String) throws -> Double { try read(8, what) { try $0.f64() } }

    /// A GGUF string: u64 byte length (checked against `limit`, then against the bytes left) and
    /// that many bytes of UTF-8.
    mutating func string(limit: Int, _ what: @autoclosure () -> String) throws -> String {
        let start = reader.offset
        let length = try u64("length of \(what())")
        guard length <= UInt64(limit) else {
            throw GGUFError.limitExceeded(path: path, what: "length of \(what())", value: length,
                                          limit: UInt64(limit), offset: start)
        }
        let count = Int(length)
        guard reader.remaining >= count else { throw truncated(count, what()) }
        let bytesAt = reader.offset
        let raw = try reader.bytes(count)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw GGUFError.invalidUTF8(path: path, what: what(), offset: bytesAt)
        }
        return text
    }
}
