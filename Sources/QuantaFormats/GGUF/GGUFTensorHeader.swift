/// One parsed tensor info before it is placed in the file: name, n_dims u32, dims u64 each
/// (ggml order), type u32, offset u64 relative to the data section (docs/gguf.md `gguf_tensor_info_t`).
/// Parsing checks the rules llama.cpp's gguf.cpp applies when loading.
struct GGUFTensorHeader {
    let name: String
    let type: GGMLType
    let dimensions: [Int]
    let elementCount: Int
    let byteCount: Int
    let relativeOffset: Int
    /// Where this info starts in the file (for error messages).
    let infoOffset: Int

    static func parse(_ cursor: inout GGUFCursor, index: Int, alignment: Int) throws -> GGUFTensorHeader {
        let path = cursor.path
        let infoOffset = cursor.offset
        let name = try cursor.string(limit: GGUFLimits.maxTensorNameBytes, "name of tensor #\(index)")

        let dimsOffset = cursor.offset
        let dimensionCount = try cursor.u32("dimension count of tensor '\(name)'")
        guard dimensionCount <= UInt32(GGUFLimits.maxDimensions) else {
            throw GGUFError.tooManyDimensions(path: path, tensor: name, count: dimensionCount, offset: dimsOffset)
        }
        var raw: [UInt64] = []
        for axis in 0 ..< Int(dimensionCount) {
            raw.append(try cursor.u64("dimension \(axis) of tensor '\(name)'"))
        }
        // llama.cpp reads dims as int64 and requires them non-negative; the product must fit too.
        var dimensions: [Int] = []
        var elementCount = 1
        for value in raw {
            guard value <= UInt64(Int64.max) else {
                throw GGUFError.invalidDimensions(path: path, tensor: name, dimensions: raw,
                                                  reason: "a dimension is negative as int64", offset: infoOffset)
            }
            let (product, overflow) = elementCount.multipliedReportingOverflow(by: Int(value))
            guard !overflow else {
                throw GGUFError.invalidDimensions(path: path, tensor: name, dimensions: raw,
                                                  reason: "the element count overflows 64 bits", offset: infoOffset)
            }
            elementCount = product
            dimensions.append(Int(value))
        }

        let typeOffset = cursor.offset
        let typeID = try cursor.u32("ggml type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: typeID) else {
            throw GGUFError.unknownTensorType(path: path, tensor: name, typeID: typeID, offset: typeOffset)
        }
        // gguf.cpp: "row size ... not a multiple of block size" — ne[0] must hold whole blocks
        // (which also makes the element count a whole number of blocks).
        let rowLength = dimensions.first ?? 1
        guard rowLength % type.blockSize == 0 else {
            throw GGUFError.rowNotBlockMultiple(path: path, tensor: name, type: type, rowLength: rowLength,
                                                offset: infoOffset)
        }
        guard let byteCount = type.byteCount(elements: elementCount) else {
            throw GGUFError.invalidDimensions(path: path, tensor: name, dimensions: raw,
                                              reason: "the byte size overflows 64 bits", offset: infoOffset)
        }

        let relative = try cursor.u64("data offset of tensor '\(name)'")
        // docs/gguf.md: "Must be a multiple of ALIGNMENT".
        guard relative % UInt64(alignment) == 0 else {
            throw GGUFError.misalignedTensor(path: path, tensor: name, offset: relative, alignment: alignment)
        }
        guard relative <= UInt64(Int.max) else {
            throw GGUFError.tensorOutOfFile(path: path, tensor: name, start: Int.max, byteCount: byteCount,
                                            fileSize: cursor.size)
        }
        return GGUFTensorHeader(name: name, type: type, dimensions: dimensions, elementCount: elementCount,
                                byteCount: byteCount, relativeOffset: Int(relative), infoOffset: infoOffset)
    }
}
