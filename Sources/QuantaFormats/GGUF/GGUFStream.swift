import QuantaCore

/// The write side of `GGUFWriter` as an explicit state machine, like gguf-py's `WriterState`
/// (NO_FILE → EMPTY → HEADER → KV_DATA → TI_DATA → WEIGHTS): each step checks it follows the
/// previous one, so the file is always written header, KVs, tensor infos, padding, data.
final class GGUFStream {
    enum Stage: Equatable, CustomStringConvertible {
        case opened, header, metadata, tensorInfos, tensorData(next: Int), finished

        var description: String {
            switch self {
            case .opened: return "freshly opened"
            case .header: return "past the header"
            case .metadata: return "past the metadata"
            case .tensorInfos: return "past the tensor infos"
            case let .tensorData(next): return "writing tensor data (next #\(next))"
            case .finished: return "finished"
            }
        }
    }

    private let output: OutputFile
    private let plan: GGUFWritePlan
    private let tensors: [GGUFWriter.Tensor]
    private(set) var stage: Stage = .opened
    private(set) var lastWrittenByteCount: Int?

    init(path: String, plan: GGUFWritePlan, tensors: [GGUFWriter.Tensor]) throws {
        output = try OutputFile(creating: path)
        self.plan = plan
        self.tensors = tensors
    }

    private func expect(_ expected: Stage) throws {
        guard stage == expected else { throw GGUFError.writerState(expected: expected.description, actual: stage.description) }
    }

    private func writePrefix(_ range: Range<Int>) throws {
        try plan.prefix.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    func writeHeader() throws {
        try expect(.opened)
        try writePrefix(0 ..< plan.headerEnd)
        stage = .header
    }

    func writeMetadata() throws {
        try expect(.header)
        try writePrefix(plan.headerEnd ..< plan.metadataEnd)
        stage = .metadata
    }

    /// Tensor infos, then zeros up to the aligned data section (gguf-py pads `fout.tell()` here
    /// even when there are no tensors).
    func writeTensorInfos() throws {
        try expect(.metadata)
        try writePrefix(plan.metadataEnd ..< plan.dataOffset)
        stage = .tensorData(next: 0)
    }

    /// Streams the next tensor and its padding; false when none is left.
    func writeNextTensor() throws -> Bool {
        guard case let .tensorData(next) = stage else {
            throw GGUFError.writerState(expected: Stage.tensorData(next: 0).description, actual: stage.description)
        }
        guard next < tensors.count else { return false }
        let tensor = tensors[next]
        let expectedStart = plan.dataOffset + plan.relativeOffsets[next]
        guard output.bytesWritten == expectedStart else {
            throw GGUFError.writerState(expected: "at byte \(expectedStart) for tensor '\(tensor.name)'",
                                        actual: "at byte \(output.bytesWritten)")
        }
        try tensor.data.write(to: output)
        let written = output.bytesWritten - expectedStart
        guard written == tensor.byteCount else {
            throw GGUFError.dataSizeMismatch(tensor: tensor.name, expected: tensor.byteCount, actual: written)
        }
        // gguf-py write_padding(fout, ti.nbytes): zeros up to the next multiple of the alignment.
        try output.writeZeros(GGUFLayout.padding(after: tensor.byteCount, alignment: plan.alignment))
        lastWrittenByteCount = tensor.byteCount
        stage = .tensorData(next: next + 1)
        return true
    }

    func finish() throws {
        guard case let .tensorData(next) = stage, next == tensors.count else {
            throw GGUFError.writerState(expected: "done with all \(tensors.count) tensors", actual: stage.description)
        }
        guard output.bytesWritten == plan.fileSize else {
            throw GGUFError.writerState(expected: "\(plan.fileSize) bytes written", actual: "\(output.bytesWritten) bytes written")
        }
        try output.close()
        stage = .finished
    }
}
