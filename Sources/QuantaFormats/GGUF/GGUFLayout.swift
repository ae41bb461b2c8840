import QuantaCore

/// Offset arithmetic shared by the reader and the writer.
enum GGUFLayout {
    /// `value` rounded up to a multiple of `alignment` (a power of two), overflow-checked.
    /// Same as gguf-py `GGUFWriter.ggml_pad` and ggml's GGML_PAD.
    static func alignUp(_ value: Int, to alignment: Int, context: String) throws -> Int {
        let sum = try ShapeMath.add(value, alignment - 1, context: context)
        return sum / alignment * alignment
    }

    /// Zero bytes gguf-py writes after `position` bytes to reach the next multiple of `alignment`.
    static func padding(after position: Int, alignment: Int) -> Int {
        (alignment - position % alignment) % alignment
    }

    /// Turns parsed infos into placed tensors: each tensor's bytes must lie inside the file and
    /// no two non-empty tensors may share a byte. (llama.cpp demands the offsets be exactly
    /// consecutive; the spec only asks for aligned, in-bounds data, which is what we check.)
    static func placeTensors(_ headers: [GGUFTensorHeader], dataOffset: Int, file: MappedFile) throws -> [GGUFTensorInfo] {
        let path = file.path
        var placed: [GGUFTensorInfo] = []
        placed.reserveCapacity(headers.count)
        for header in headers {
            let start = dataOffset.addingReportingOverflow(header.relativeOffset)
            let end = start.partialValue.addingReportingOverflow(header.byteCount)
            guard !start.overflow, !end.overflow, end.partialValue <= file.size else {
                throw GGUFError.tensorOutOfFile(path: path, tensor: header.name,
                                                start: start.overflow ? Int.max : start.partialValue,
                                                byteCount: header.byteCount, fileSize: file.size)
            }
            placed.append(GGUFTensorInfo(name: header.name, type: header.type, dimensions: header.dimensions,
                                         elementCount: header.elementCount, byteCount: header.byteCount,
                                         offset: start.partialValue, relativeOffset: header.relativeOffset,
                                         file: file))
        }
        let byStart = placed.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(byStart, byStart.dropFirst()) where previous.offset + previous.byteCount > next.offset {
            throw GGUFError.overlappingTensors(path: path, first: previous.name, second: next.name, offset: next.offset)
        }
        return placed
    }
}
