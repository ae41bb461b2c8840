import QuantaCore

/// Collects the metadata and tensors of a GGUF v3 file, validates them, plans every offset, then
/// streams the file (`write(to:)`). The bytes equal gguf-py 0.19.0 `GGUFWriter` output for the same
/// KVs and tensors in the same insertion order. Unlike gguf-py, nothing is added implicitly: pass
/// `general.architecture` first yourself, as gguf-py's constructor does.
///
/// The writer writes exactly the path it is given; callers make it atomic with `AtomicOutput`.
public struct GGUFWriter: Sendable {
    /// A tensor as it will be written.
    public struct Tensor: Sendable {
        public let name: String
        public let type: GGMLType
        /// Row-major (numpy / PyTorch order).
        public let shape: [Int]
        /// ggml order, as stored in the file: `shape` reversed.
        public var dimensions: [Int] { shape.reversed() }
        public let elementCount: Int
        public let byteCount: Int
        public let data: GGUFTensorData
    }

    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [Tensor] = []
    private var keyIndex: [String: Int] = [:]
    private var tensorNames: Set<String> = []

    public init() {}

    /// A writer holding every KV and tensor of `file` in file order (tensor bytes copied from its map).
    public init(copying file: GGUFFile) throws {
        for entry in file.metadata { try addMetadata(entry.key, entry.value) }
        for tensor in file.tensors {
            try addTensor(name: tensor.name, type: tensor.type, shape: tensor.shape, data: .copy(of: tensor))
        }
    }

    // MARK: Collecting

    /// Appends a KV; a key added twice is an error (use `setMetadata` to replace).
    public mutating func addMetadata(_ key: String, _ value: GGUFValue) throws {
        guard keyIndex[key] == nil else { throw GGUFError.invalidMetadata(key: key, reason: "added twice") }
        try Self.validate(key: key, value: value)
        keyIndex[key] = metadata.count
        metadata.append((key: key, value: value))
    }

    /// Replaces the value of an existing key in place (its position is kept, as a Python dict
    /// assignment in gguf-py keeps it), or appends a new key.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) throws {
        guard let index = keyIndex[key] else { return try addMetadata(key, value) }
        try Self.validate(key: key, value: value)
        metadata[index] = (key: key, value: value)
    }

    public subscript(key: String) -> GGUFValue? { keyIndex[key].map { metadata[$0].value } }

    /// Appends a tensor. `shape` is row-major; its last (innermost) dimension must hold whole
    /// blocks of `type`, and `data` must be exactly the bytes that type and shape need.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], data: GGUFTensorData) throws {
        guard !name.isEmpty else { throw GGUFError.invalidTensor(tensor: name, reason: "the name is empty") }
        guard name.utf8.count <= GGUFLimits.maxTensorNameBytes else {
            throw GGUFError.invalidTensor(tensor: name, reason: "the name is \(name.utf8.count) bytes; llama.cpp loads names of at most \(GGUFLimits.maxTensorNameBytes) bytes (GGML_MAX_NAME)")
        }
        guard !tensorNames.contains(name) else { throw GGUFError.invalidTensor(tensor: name, reason: "added twice") }
        guard shape.count <= GGUFLimits.maxDimensions else {
            throw GGUFError.invalidTensor(tensor: name, reason: "shape \(shape) has more than \(GGUFLimits.maxDimensions) dimensions (GGML_MAX_DIMS)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw GGUFError.invalidTensor(tensor: name, reason: "shape \(shape) has a negative dimension")
        }
        let elements: Int
        do { elements = try ShapeMath.elementCount(shape, context: "tensor '\(name)'") } catch {
            throw GGUFError.invalidTensor(tensor: name, reason: "the element count of shape \(shape) overflows")
        }
        let rowLength = shape.last ?? 1
        guard rowLength % type.blockSize == 0, let bytes = type.byteCount(elements: elements) else {
            throw GGUFError.invalidTensor(tensor: name, reason: "\(type.name) needs rows of whole \(type.blockSize)-element blocks; shape \(shape) has rows of \(rowLength)")
        }
        guard data.byteCount == bytes else {
            throw GGUFError.dataSizeMismatch(tensor: name, expected: bytes, actual: data.byteCount)
        }
        try Self.validate(data: data, tensor: name, type: type, elements: elements)
        tensorNames.insert(name)
        tensors.append(Tensor(name: name, type: type, shape: shape, elementCount: elements, byteCount: bytes, data: data))
    }

    private static func validate(data: GGUFTensorData, tensor: String, type: GGMLType, elements: Int) throws {
        switch data {
        case let .payload(payload):
            if let dtype = type.plainDType, payload.dtype != dtype {
                throw GGUFError.invalidTensor(tensor: tensor, reason: "\(type.name) tensor given \(payload.dtype.rawValue) data; convert it to \(dtype.rawValue) first")
            }
        case let .mapped(file, offset, count):
            guard offset >= 0, count >= 0, offset <= file.size, count <= file.size - offset else {
                throw GGUFError.invalidTensor(tensor: tensor, reason: "its source bytes \(offset)..<\(offset &+ count) lie outside \(file.path) (\(file.size) bytes)")
            }
        case .produce, .bytes:
            break
        }
    }

    // MARK: Validation of metadata

    static func validate(key: String, value: GGUFValue) throws {
        guard !key.isEmpty else { throw GGUFError.invalidMetadata(key: key, reason: "the key is empty") }
        guard key.utf8.count <= GGUFLimits.maxKeyBytes else {
            throw GGUFError.invalidMetadata(key: String(key.prefix(80)), reason: "the key is over \(GGUFLimits.maxKeyBytes) bytes")
        }
        if key == "general.alignment" {
            guard case let .uint32(alignment) = value else {
                throw GGUFError.invalidMetadata(key: key, reason: "must be UINT32, not \(value.type.name)")
            }
            guard alignment != 0, alignment & (alignment - 1) == 0 else {
                throw GGUFError.invalidMetadata(key: key, reason: "\(alignment) is not a non-zero power of two")
            }
        }
        try validate(value: value, key: key, depth: 0)
    }

    /// The limits our reader enforces, so everything we write we can read back.
    private static func validate(value: GGUFValue, key: String, depth: Int) throws {
        switch value {
        case let .string(text):
            guard text.utf8.count <= GGUFLimits.maxStringBytes else {
                throw GGUFError.invalidMetadata(key: key, reason: "a string is over \(GGUFLimits.maxStringBytes) bytes")
            }
        case let .array(elementType, elements):
            guard depth < GGUFLimits.maxArrayNestingDepth else {
                throw GGUFError.invalidMetadata(key: key, reason: "arrays nest deeper than \(GGUFLimits.maxArrayNestingDepth)")
            }
            guard elements.count <= GGUFLimits.maxArrayElements else {
                throw GGUFError.invalidMetadata(key: key, reason: "an array has \(elements.count) elements, over \(GGUFLimits.maxArrayElements)")
            }
            for element in elements {
                guard element.type == elementType else {
                    throw GGUFError.invalidMetadata(key: key, reason: "an array of \(elementType.name) holds a \(element.type.name)")
                }
                if elementType == .string || elementType == .array {
                    try validate(value: element, key: key, depth: depth + 1)
                }
            }
        default:
            break
        }
    }

    // MARK: Planning and writing

    /// Every byte before the tensor data and every offset, decided before the file is opened.
    public func plan() throws -> GGUFWritePlan {
        var alignment = GGUFLimits.defaultAlignment
        if case let .uint32(value)? = self["general.alignment"] { alignment = Int(value) }  // validated when added

        var relativeOffsets: [Int] = []
        relativeOffsets.reserveCapacity(tensors.count)
        var dataSize = 0
        for tensor in tensors {
            relativeOffsets.append(dataSize)
            let padded = try GGUFLayout.alignUp(tensor.byteCount, to: alignment, context: "tensor '\(tensor.name)'")
            dataSize = try ShapeMath.add(dataSize, padded, context: "GGUF data section")
        }

        var encoder = GGUFEncoder()
        for byte in "GGUF".utf8 { encoder.append(byte) }  // magic, byte for byte
        encoder.append(GGUFLimits.writtenVersion)
        encoder.append(UInt64(tensors.count))
        encoder.append(UInt64(metadata.count))
        let headerEnd = encoder.bytes.count
        for entry in metadata { encoder.appendKeyValue(entry.key, entry.value) }
        let metadataEnd = encoder.bytes.count
        for (tensor, offset) in zip(tensors, relativeOffsets) {
            encoder.appendTensorInfo(name: tensor.name, dimensions: tensor.dimensions, type: tensor.type,
                                     relativeOffset: offset)
        }
        let infosEnd = encoder.bytes.count
        encoder.appendZeros(GGUFLayout.padding(after: infosEnd, alignment: alignment))
        let dataOffset = encoder.bytes.count
        return GGUFWritePlan(alignment: alignment, prefix: encoder.bytes, headerEnd: headerEnd,
                             metadataEnd: metadataEnd, infosEnd: infosEnd, dataOffset: dataOffset,
                             relativeOffsets: relativeOffsets,
                             fileSize: try ShapeMath.add(dataOffset, dataSize, context: "GGUF file size"))
    }

    /// Plans, then writes the whole file to `path` (created or truncated). Every check runs before
    /// the file is opened; an I/O or producer failure midway leaves a partial file, which the
    /// caller's `AtomicOutput` discards.
    public func write(to path: String, progress: ProgressReporter? = nil) throws {
        let plan = try plan()
        let stream = try GGUFStream(path: path, plan: plan, tensors: tensors)
        try stream.writeHeader()
        try stream.writeMetadata()
        try stream.writeTensorInfos()
        while try stream.writeNextTensor() {
            if let progress, let last = stream.lastWrittenByteCount { progress.advance(by: Int64(last)) }
        }
        try stream.finish()
        progress?.finish()
    }
}

/// The decided layout of a GGUF file: the exact bytes before the data section and every offset.
public struct GGUFWritePlan: Sendable {
    public let alignment: Int
    /// Header, KVs, tensor infos and padding: the bytes before `dataOffset`.
    public let prefix: [UInt8]
    let headerEnd: Int
    let metadataEnd: Int
    let infosEnd: Int
    public let dataOffset: Int
    /// Per tensor, in order: offset relative to `dataOffset`.
    public let relativeOffsets: [Int]
    public let fileSize: Int
}
