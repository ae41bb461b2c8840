import QuantaCore

/// One tensor of a safetensors file: a lazy view into the file's memory map.
public struct SafetensorsTensor: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let view: TensorView
    /// Byte range inside the data section (the header's `data_offsets`).
    public let dataOffsets: Range<Int>
}

/// A memory-mapped safetensors file. Opening parses and validates the header only; tensor
/// bytes are touched when a view is read.
public final class SafetensorsFile: Sendable {
    public let path: String
    public let file: MappedFile
    public let header: SafetensorsHeader
    /// Tensors in data-offset order.
    public let tensors: [SafetensorsTensor]
    /// File offset of the data section (8 + header length).
    public let dataStart: Int
    private let indexByName: [String: Int]

    /// `__metadata__` in file order (empty when the file has none).
    public var metadata: [(key: String, value: String)] { header.metadata ?? [] }
    /// Whether the header holds a `__metadata__` object (possibly empty).
    public var hasMetadata: Bool { header.metadata != nil }

    public init(path: String) throws {
        self.path = path
        let mapped = try MappedFile(path: path)
        file = mapped
        let lengthSize = SafetensorsHeader.lengthFieldSize
        guard mapped.size >= lengthSize else { throw SafetensorsError.fileTooSmall(file: path, size: mapped.size) }
        var reader = ByteReader(mapped.bytes, context: path)
        let declared = try reader.u64()
        guard declared <= UInt64(SafetensorsHeader.maxHeaderLength) else {
            throw SafetensorsError.headerTooLarge(file: path, length: declared, limit: SafetensorsHeader.maxHeaderLength)
        }
        let headerLength = Int(declared)
        guard headerLength <= mapped.size - lengthSize else {
            throw SafetensorsError.headerPastEnd(file: path, length: declared, fileSize: mapped.size)
        }
        let headerBytes = try mapped.bytes(offset: lengthSize, count: headerLength, context: "safetensors header")
        dataStart = lengthSize + headerLength
        header = try SafetensorsHeader.parse(headerBytes, dataSectionLength: mapped.size - dataStart, file: path)
        var views: [SafetensorsTensor] = []
        views.reserveCapacity(header.entries.count)
        var index: [String: Int] = [:]
        for entry in header.entries {
            // Validated above; TensorView re-checks the range against the map anyway.
            let view = try TensorView(file: mapped, offset: dataStart + entry.begin, dtype: entry.dtype,
                                      shape: entry.shape, context: "tensor '\(entry.name)'")
            index[entry.name] = views.count
            views.append(SafetensorsTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, view: view,
                                           dataOffsets: entry.begin ..< entry.end))
        }
        tensors = views
        indexByName = index
    }

    /// The tensor with this exact name, or nil.
    public func tensor(named name: String) -> SafetensorsTensor? {
        indexByName[name].map { tensors[$0] }
    }

    /// Tensor names in data-offset order.
    public var names: [String] { tensors.map(\.name) }
}
