import QuantaCore

/// One tensor entry of a safetensors header: offsets are relative to the data section.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let begin: Int
    public let end: Int
}

/// The parsed and validated JSON header of a safetensors file, before any tensor is viewed.
///
/// Layout (huggingface/safetensors `SafeTensors::read_metadata`): 8-byte little-endian header
/// length N, N bytes of UTF-8 JSON (possibly padded with trailing spaces), then the data section.
/// The JSON maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}`, plus an
/// optional `"__metadata__"` object of string → string.
public struct SafetensorsHeader: Sendable {
    /// `MAX_HEADER_SIZE` of huggingface/safetensors: larger headers are refused.
    public static let maxHeaderLength = 100_000_000
    /// Bytes of the little-endian header length that opens every file.
    public static let lengthFieldSize = 8
    public static let metadataKey = "__metadata__"

    /// `__metadata__` in file order; nil when the header has none.
    public let metadata: [(key: String, value: String)]?
    /// Tensors sorted by data offset.
    public let entries: [SafetensorsEntry]
    /// Bytes of the data section the tensors cover (end of the last tensor).
    public let dataLength: Int

    /// Parses the header JSON (`bytes` = the N header bytes) and validates every entry against
    /// a data section of `dataSectionLength` bytes, as the reference `Metadata::validate` does,
    /// and additionally requires the tensors to cover the data section exactly.
    public static func parse(_ bytes: UnsafeRawBufferPointer, dataSectionLength: Int, file: String) throws -> SafetensorsHeader {
        let base = lengthFieldSize
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw SafetensorsError.headerNotUTF8(file: file, offset: base + firstInvalidUTF8Offset(bytes))
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes, context: file)
        } catch let CoreError.json(_, offset, message) {
            throw SafetensorsError.headerNotJSON(file: file, offset: base + offset, message: message)
        }
        guard let object = root.objectValue else {
            throw SafetensorsError.headerNotJSON(file: file, offset: base, message: "the header must be a JSON object")
        }
        var metadata: [(key: String, value: String)]?
        var entries: [SafetensorsEntry] = []
        entries.reserveCapacity(object.count)
        for (key, value) in object.entries {
            if key == metadataKey {
                metadata = try parseMetadata(value, file: file)
            } else {
                entries.append(try parseEntry(key, value, file: file))
            }
        }
        // Stable sort by (begin, end): ties (zero-size tensors) keep their header order.
        let sorted = entries.enumerated().sorted { lhs, rhs in
            (lhs.element.begin, lhs.element.end, lhs.offset) < (rhs.element.begin, rhs.element.end, rhs.offset)
        }.map(\.element)
        let covered = try validate(sorted, file: file)
        guard covered == dataSectionLength else {
            throw SafetensorsError.dataSizeMismatch(file: file, covered: covered, dataSection: dataSectionLength)
        }
        return SafetensorsHeader(metadata: metadata, entries: sorted, dataLength: covered)
    }

    /// Contiguous from 0, no overlap, each range exactly elements × dtype size
    /// (reference `Metadata::validate`). Returns the end of the last tensor.
    private static func validate(_ entries: [SafetensorsEntry], file: String) throws -> Int {
        var start = 0
        for entry in entries {
            guard entry.begin == start, entry.end >= entry.begin else {
                throw SafetensorsError.offsetMismatch(file: file, tensor: entry.name, begin: entry.begin,
                                                      end: entry.end, expectedBegin: start)
            }
            let needed: Int
            do {
                needed = try ShapeMath.byteCount(entry.shape, entry.dtype, context: "\(file): tensor '\(entry.name)'")
            } catch {
                throw SafetensorsError.sizeOverflow(file: file, tensor: entry.name, shape: entry.shape)
            }
            let declared = entry.end - entry.begin
            guard declared == needed else {
                throw SafetensorsError.sizeMismatch(file: file, tensor: entry.name, dtype: entry.dtype,
                                                    shape: entry.shape, declared: declared, needed: needed)
            }
            start = entry.end
        }
        return start
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws -> [(key: String, value: String)]? {
        // serde reads `Option<HashMap<String, String>>`: null means absent.
        if value == .null { return nil }
        guard let object = value.objectValue else {
            throw SafetensorsError.invalidMetadata(file: file, reason: "must be an object of string values")
        }
        return try object.entries.map { entry in
            guard let text = entry.value.stringValue else {
                throw SafetensorsError.invalidMetadata(file: file, reason: "value of '\(entry.key)' is not a string")
            }
            return (entry.key, text)
        }
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, file: String) throws -> SafetensorsEntry {
        func fail(_ reason: String) -> SafetensorsError { .invalidEntry(file: file, key: name, reason: reason) }
        // Unknown fields are ignored, as serde does for `TensorInfo`.
        guard let info = value.objectValue else { throw fail("entry is not an object") }
        guard let dtypeName = info["dtype"]?.stringValue else { throw fail("missing or non-string \"dtype\"") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw SafetensorsError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = info["shape"]?.arrayValue else { throw fail("missing or non-array \"shape\"") }
        let shape = try shapeValues.map { dim -> Int in
            guard let size = strictInt(dim), size >= 0 else { throw fail("shape \(shapeValues) holds a value that is not a non-negative integer") }
            return size
        }
        guard let offsets = info["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = strictInt(offsets[0]), let end = strictInt(offsets[1]), begin >= 0, end >= 0 else {
            throw fail("\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// Integers only: serde's usize rejects `2.0`.
    private static func strictInt(_ value: JSONValue) -> Int? {
        if case let .int(v) = value { return Int(exactly: v) }
        return nil
    }

    private static func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(scalar): offset += scalar.count
            case .emptyInput: return offset
            case .error: return offset
            }
        }
    }
}
