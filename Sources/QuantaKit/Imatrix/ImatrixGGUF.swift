import QuantaCore
import QuantaFormats

/// llama-imatrix's GGUF layout (tools/imatrix/imatrix.cpp `save_imatrix`, common/imatrix-loader.cpp):
/// metadata `general.type` = "imatrix", `imatrix.datasets` (array of strings), `imatrix.chunk_count`
/// and `imatrix.chunk_size` (UINT32), in that order; then, per entry in byte order of the names,
/// `<name>.in_sum2` (F32, ggml ne [columns, matrices]) and `<name>.counts` (F32, ne [1, matrices]).
/// ggml writes `ggml_n_dims` dimensions, so a dense weight's tensors are 1-D: [columns] and [1].
enum ImatrixGGUF {
    static let sumsSuffix = ".in_sum2"
    static let countsSuffix = ".counts"
    static let typeKey = "general.type"
    static let datasetsKey = "imatrix.datasets"
    static let chunkCountKey = "imatrix.chunk_count"
    static let chunkSizeKey = "imatrix.chunk_size"

    static func read(_ mapped: MappedFile) throws -> ImportanceMatrix {
        let file = try GGUFFile(file: mapped)
        let path = file.path
        guard !file.tensors.isEmpty else { throw ImatrixError.empty(path: path, reason: "the GGUF file holds no tensors") }
        if let type = file[typeKey] {
            guard case let .string(name) = type else {
                throw ImatrixError.metadata(path: path, key: typeKey, reason: "is \(type.type.name), expected STRING \"imatrix\"")
            }
            guard name == "imatrix" else {
                throw ImatrixError.metadata(path: path, key: typeKey, reason: "is \"\(name)\": this GGUF is not an importance matrix (llama-imatrix writes \"imatrix\")")
            }
        }
        // llama-quantize refuses a GGUF imatrix without all three keys ("missing imatrix metadata");
        // llama.cpp reads the counts with gguf_get_val_u32, which asserts the UINT32 type.
        let datasets = try stringArray(file, datasetsKey)
        let chunkCount = try uint32(file, chunkCountKey)
        let chunkSize = try uint32(file, chunkSizeKey)

        var sums: [String: GGUFTensorInfo] = [:], counts: [String: GGUFTensorInfo] = [:]
        for tensor in file.tensors {
            // Tensors with neither suffix are ignored, as common_imatrix_load ignores them.
            if tensor.name.hasSuffix(sumsSuffix) {
                sums[String(tensor.name.dropLast(sumsSuffix.count))] = tensor
            } else if tensor.name.hasSuffix(countsSuffix) {
                counts[String(tensor.name.dropLast(countsSuffix.count))] = tensor
            }
        }
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for name in Set(sums.keys).union(counts.keys) {
            guard let sum = sums[name], let count = counts[name] else {
                throw ImatrixError.entry(path: path, tensor: name, reason: "has \(sums[name] == nil ? "no \(sumsSuffix)" : "no \(countsSuffix)") tensor to pair with its \(sums[name] == nil ? countsSuffix : sumsSuffix)")
            }
            for tensor in [sum, count] where tensor.type != .f32 {
                throw ImatrixError.entry(path: path, tensor: name, reason: "\(tensor.name) is \(tensor.type.name); sums and counts must be F32")
            }
            let entry = ImportanceMatrix.Entry(sums: floats(sum), counts: floats(count).map { Double($0) })
            try ImatrixValidation.check(entry, name: name, format: .gguf, path: path)
            entries[name] = entry
        }
        guard !entries.isEmpty else {
            throw ImatrixError.empty(path: path, reason: "no <name>\(sumsSuffix) / <name>\(countsSuffix) tensors (is this a model rather than an imatrix?)")
        }
        return try ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: chunkSize,
                                    format: .gguf, context: path)
    }

    /// The GGUF writer holding `matrix` (already in GGUF form) in llama-imatrix's order.
    static func writer(for matrix: ImportanceMatrix) throws -> GGUFWriter {
        var writer = GGUFWriter()
        try writer.addMetadata(typeKey, .string("imatrix"))
        try writer.addMetadata(datasetsKey, .array(elementType: .string, elements: matrix.datasets.map { .string($0) }))
        try writer.addMetadata(chunkCountKey, .uint32(UInt32(matrix.chunkCount)))
        try writer.addMetadata(chunkSizeKey, .uint32(UInt32(matrix.chunkSize)))
        for name in matrix.tensorNames {
            guard let entry = matrix.entry(for: name) else { continue }
            let m = entry.matrices, columns = entry.columns
            // Row-major shapes (the writer reverses them to ggml order): ne [columns, m] and [1, m],
            // with the trailing 1 dropped for a dense weight as ggml_n_dims drops it.
            try writer.addTensor(name: name + sumsSuffix, type: .f32, shape: m == 1 ? [columns] : [m, columns],
                                 data: .bytes(littleEndianBytes(entry.sums)))
            try writer.addTensor(name: name + countsSuffix, type: .f32, shape: m == 1 ? [1] : [m, 1],
                                 data: .bytes(littleEndianBytes(entry.counts.map { Float($0) })))
        }
        return writer
    }

    private static func stringArray(_ file: GGUFFile, _ key: String) throws -> [String] {
        guard let value = file[key] else { throw missing(file.path, key) }
        guard case let .array(type, elements) = value, type == .string else {
            throw ImatrixError.metadata(path: file.path, key: key, reason: "is \(value.type.name), expected an ARRAY of STRING")
        }
        return elements.compactMap(\.stringValue)
    }

    private static func uint32(_ file: GGUFFile, _ key: String) throws -> Int {
        guard let value = file[key] else { throw missing(file.path, key) }
        guard case let .uint32(number) = value else {
            throw ImatrixError.metadata(path: file.path, key: key, reason: "is \(value.type.name), expected UINT32")
        }
        return Int(number)
    }

    private static func missing(_ path: String, _ key: String) -> ImatrixError {
        .metadata(path: path, key: key, reason: "is missing; llama-quantize refuses a GGUF imatrix without \(datasetsKey), \(chunkCountKey) and \(chunkSizeKey)")
    }

    private static func floats(_ tensor: GGUFTensorInfo) -> [Float] {
        tensor.withUnsafeBytes { raw in
            (0 ..< tensor.elementCount).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        return bytes
    }
}
