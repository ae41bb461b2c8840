import CQuantaKernels
import Dispatch
import QuantaFormats

/// Quantizes whole rows into ggml blocks the way `llama-quantize` does (`ggml_quantize_chunk`):
/// with or without an importance matrix, byte-identical with llama.cpp as vendored in the
/// llama-cpp-python 0.3.36 sdist.
///
/// Without importance, the legacy types and the float types go through `GGMLCodec.quantize`
/// (gguf-py's quantizers equal ggml's `_ref`); the K-quants and IQ4 types, and every type given
/// importance weights, through the C kernels of cquantaquantize.h. Row ranges run across cores.
public enum GGMLRowQuantizer {
    /// `quanta_quantize_<type>`: (src, dst, nrows, n_per_row, imatrix or NULL) -> bytes written.
    typealias Kernel = @convention(c) (UnsafePointer<Float>?, UnsafeMutableRawPointer?, Int64, Int64,
                                       UnsafePointer<Float>?) -> Int

    /// The C kernels by type (filled by GGMLRowQuantizer+KQuants.swift and +IQ4.swift).
    static let kernels: [GGMLType: Kernel] = kQuantKernels.merging(iq4Kernels) { first, _ in first }

    /// Types whose importance weights ggml ignores (`quantize_q8_0` and the float types).
    static let importanceIgnored: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0]

    /// True when rows of `type` can be quantized, with importance weights when `importance`.
    public static func canQuantize(_ type: GGMLType, importance: Bool) -> Bool {
        if kernels[type] != nil { return true }
        return GGMLCodec.canQuantize(type) && (!importance || importanceIgnored.contains(type))
    }

    /// Quantizes `rows × rowLength` floats from `source` into `destination`
    /// (`rows × type.byteCount(elements: rowLength)` bytes). `importance`, when given, holds
    /// `rowLength` non-negative weights, one per column.
    public static func quantize(_ type: GGMLType, rows: Int, rowLength: Int, from source: UnsafeBufferPointer<Float>,
                                importance: UnsafeBufferPointer<Float>?,
                                into destination: UnsafeMutableRawBufferPointer) throws {
        guard rows >= 0, rowLength >= 0, rowLength % type.blockSize == 0,
              let rowBytes = type.byteCount(elements: rowLength) else {
            throw GGMLCodecError.countNotBlockMultiple(type: type, count: rowLength, blockSize: type.blockSize)
        }
        let (elements, overflowE) = rows.multipliedReportingOverflow(by: rowLength)
        let (bytes, overflowB) = rows.multipliedReportingOverflow(by: rowBytes)
        guard !overflowE, !overflowB else { throw GGMLCodecError.sizeOverflow(type: type, count: rowLength) }
        guard source.count == elements else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: elements, buffer: "f32 (elements)",
                                                    expected: elements, actual: source.count)
        }
        guard destination.count == bytes else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: elements, buffer: "block (bytes)",
                                                    expected: bytes, actual: destination.count)
        }
        if let importance, importance.count != rowLength {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: rowLength, buffer: "importance (columns)",
                                                    expected: rowLength, actual: importance.count)
        }
        guard elements > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }

        guard let kernel = kernels[type] else {
            guard canQuantize(type, importance: importance != nil) else {
                throw GGMLCodecError.unsupported(type: type, operation: importance == nil
                                                 ? "quantize" : "quantize with an importance matrix")
            }
            try GGMLCodec.quantize(type, from: source, into: destination, count: elements)
            return
        }
        let inputAddress = UInt(bitPattern: input), outputAddress = UInt(bitPattern: output)
        let weightsAddress = importance?.baseAddress.map { UInt(bitPattern: $0) } ?? 0
        forEachRowRange(rows: rows, rowLength: rowLength) { first, count in
            // Addresses travel as integers: the buffers outlive the call and ranges are disjoint.
            let from = UnsafePointer<Float>(bitPattern: inputAddress).map { $0 + first * rowLength }
            let to = UnsafeMutableRawPointer(bitPattern: outputAddress).map { $0 + first * rowBytes }
            let weights = UnsafePointer<Float>(bitPattern: weightsAddress)
            _ = kernel(from, to, Int64(count), Int64(rowLength), weights)
        }
    }

    /// About this many elements per task (the K-quant searches cost ~100 ns per element).
    private static let elementsPerTask = 1 << 15

    private static func forEachRowRange(rows: Int, rowLength: Int, _ body: @Sendable (Int, Int) -> Void) {
        let rowsPerTask = max(1, elementsPerTask / max(1, rowLength))
        let tasks = (rows + rowsPerTask - 1) / rowsPerTask
        if tasks <= 1 { body(0, rows); return }
        DispatchQueue.concurrentPerform(iterations: tasks) { task in
            let first = task * rowsPerTask
            body(first, min(rowsPerTask, rows - first))
        }
    }
}
