import QuantaCore

/// A GGUF file (v2 or v3, little-endian), mapped and validated. Parsing reads only the header;
/// tensor data stays in the map until a caller touches `GGUFTensorInfo.bytes` or a view.
///
/// Layout (ggml docs/gguf.md, llama.cpp ggml/src/gguf.cpp): magic "GGUF", u32 version,
/// u64 tensor count, u64 KV count, the KVs, the tensor infos, zero padding to `alignment`,
/// then the data section, which every tensor offset is relative to.
public final class GGUFFile: Sendable {
    public let path: String
    public let file: MappedFile
    public let version: UInt32
    /// `general.alignment` (a UINT32 power of two) or 32.
    public let alignment: Int
    /// Absolute offset of the data section: the end of the tensor infos rounded up to `alignment`.
    public let dataOffset: Int
    /// Key/value pairs in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file (info) order.
    public let tensors: [GGUFTensorInfo]
    private let keyIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        let path = file.path
        var cursor = GGUFCursor(file.bytes, path: path)

        let magic = try (0 ..< 4).map { _ in try cursor.u8("magic") }
        guard magic == Array("GGUF".utf8) else { throw GGUFError.notGGUF(path: path, magic: magic) }
        let version = try cursor.u32("version")
        // A file written on a big-endian machine has its version byte-swapped: 3 reads as 0x03000000.
        // llama.cpp detects it the same way (low 16 bits zero).
        if version != 0 && version & 0xFFFF == 0 { throw GGUFError.bigEndian(path: path, rawVersion: version) }
        guard GGUFLimits.supportedVersions.contains(version) else {
            throw GGUFError.unsupportedVersion(path: path, version: version)
        }
        let tensorCountOffset = cursor.offset
        let rawTensorCount = try cursor.u64("tensor count")
        let kvCountOffset = cursor.offset
        let rawKVCount = try cursor.u64("metadata key/value count")

        let metadata = try GGUFMetadataParser.parseEntries(&cursor, count: rawKVCount, countOffset: kvCountOffset)
        var keyIndex: [String: Int] = [:]
        keyIndex.reserveCapacity(metadata.count)
        for (index, entry) in metadata.enumerated() { keyIndex[entry.key] = index }
        let alignment = try Self.alignment(of: metadata, keyIndex: keyIndex, path: path)

        let tensorCount = try GGUFMetadataParser.checkedCount(
            rawTensorCount, cap: GGUFLimits.maxTensorCount, minimumBytes: GGUFLimits.minimumTensorInfoBytes,
            what: "tensor count", cursor: cursor, offset: tensorCountOffset)
        var headers: [GGUFTensorHeader] = []
        headers.reserveCapacity(tensorCount)
        var tensorIndex: [String: Int] = [:]
        tensorIndex.reserveCapacity(tensorCount)
        for index in 0 ..< tensorCount {
            let header = try GGUFTensorHeader.parse(&cursor, index: index, alignment: alignment)
            guard tensorIndex.updateValue(index, forKey: header.name) == nil else {
                throw GGUFError.duplicateTensor(path: path, tensor: header.name, offset: header.infoOffset)
            }
            headers.append(header)
        }

        let infosEnd = cursor.offset
        let dataOffset = try GGUFLayout.alignUp(infosEnd, to: alignment, context: "\(path): data section")
        let tensors = try GGUFLayout.placeTensors(headers, dataOffset: dataOffset, file: file)

        self.path = path
        self.file = file
        self.version = version
        self.alignment = alignment
        self.dataOffset = dataOffset
        self.metadata = metadata
        self.tensors = tensors
        self.keyIndex = keyIndex
        self.tensorIndex = tensorIndex
    }

    /// `general.alignment` must be a UINT32 non-zero power of two (llama.cpp gguf.cpp reads it with
    /// gguf_get_val_u32 and checks the power of two; gguf-py's reader raises on any other type).
    private static func alignment(of metadata: [(key: String, value: GGUFValue)], keyIndex: [String: Int],
                                  path: String) throws -> Int
    {
        guard let index = keyIndex["general.alignment"] else { return GGUFLimits.defaultAlignment }
        guard case let .uint32(value) = metadata[index].value else {
            throw GGUFError.invalidAlignment(path: path, reason: "is \(metadata[index].value.type.name); it must be UINT32")
        }
        guard value != 0, value & (value - 1) == 0 else {
            throw GGUFError.invalidAlignment(path: path, reason: "is \(value); it must be a non-zero power of two")
        }
        return Int(value)
    }

    // MARK: Metadata lookups

    public subscript(key: String) -> GGUFValue? {
        keyIndex[key].map { metadata[$0].value }
    }

    public var keys: [String] { metadata.map(\.key) }

    public func string(_ key: String) -> String? { self[key]?.stringValue }
    /// Any integer type, as `Int`.
    public func int(_ key: String) -> Int? { self[key]?.intValue }
    /// FLOAT32 or FLOAT64, as `Double`.
    public func float(_ key: String) -> Double? { self[key]?.floatValue }
    public func bool(_ key: String) -> Bool? { self[key]?.boolValue }
    public func stringArray(_ key: String) -> [String]? { self[key]?.stringArray }
    public func intArray(_ key: String) -> [Int]? { self[key]?.intArray }
    public func floatArray(_ key: String) -> [Double]? { self[key]?.floatArray }
    public func float32Array(_ key: String) -> [Float]? { self[key]?.float32Array }

    /// Throwing lookups that name the key and what was found when it is absent or of another type.
    public func requiredString(_ key: String) throws -> String {
        try required(key, expected: "STRING") { $0.stringValue }
    }
    public func requiredInt(_ key: String) throws -> Int {
        try required(key, expected: "an integer") { $0.intValue }
    }
    public func requiredFloat(_ key: String) throws -> Double {
        try required(key, expected: "FLOAT32 or FLOAT64") { $0.floatValue }
    }

    private func required<T>(_ key: String, expected: String, _ extract: (GGUFValue) -> T?) throws -> T {
        guard let value = self[key] else { throw GGUFError.missingKey(path: path, key: key) }
        guard let result = extract(value) else {
            throw GGUFError.wrongValueType(path: path, key: key, expected: expected, found: value.type)
        }
        return result
    }

    // MARK: Tensors

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    public func requiredTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensor(named: name) else { throw GGUFError.missingTensor(path: path, tensor: name) }
        return info
    }

    /// A lazy view of a plain-typed tensor (F32, F16, BF16, F64, I8…I64) in row-major `shape`.
    /// Block-quantized tensors have no element view: use `GGUFTensorInfo.bytes` and a codec.
    public func view(of tensor: GGUFTensorInfo) throws -> TensorView {
        guard let dtype = tensor.plainDType else {
            throw GGUFError.notAPlainTensor(path: path, tensor: tensor.name, type: tensor.type)
        }
        return try TensorView(file: file, offset: tensor.offset, dtype: dtype, shape: tensor.shape,
                              context: "\(path): tensor '\(tensor.name)'")
    }
}
