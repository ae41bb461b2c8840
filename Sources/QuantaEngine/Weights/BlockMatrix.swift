import QuantaCore
import QuantaFormats
import QuantaGraph
import QuantaQuant

/// A weight matrix in a ggml storage type (F16, BF16, Q4_0 … Q6_K, IQ4_NL, IQ4_XS, and every
/// other type `GGMLCodec` decodes), its blocks read straight from the memory map. Rows may be
/// stored in llama.cpp's interleaved Q/K order; decoding puts them in Hugging Face order.
public final class BlockMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let type: GGMLType
    let traits: BlockTypeTraits
    private let view: TensorView
    private let base: UnsafeRawPointer
    private let rowBytes: Int
    /// Stored row of each Hugging Face row (nil: identical order).
    private let storedRow: [Int32]?

    /// `view` holds `rows × columns` elements of `type`; `interleavedHeads` when the rows are in
    /// llama.cpp's permuted Q/K order (`RowOrder.ggufInterleaved`).
    public init(view: TensorView, type: GGMLType, rows: Int, columns: Int, interleavedHeads: Int?, name: String) throws {
        guard let traits = BlockTypeTraits.table[type] else {
            throw EngineError.unsupportedModel("tensor '\(name)': the engine cannot decode ggml type \(type.name)")
        }
        guard columns % type.blockSize == 0, let rowBytes = type.byteCount(elements: columns),
              rowBytes.multipliedReportingOverflow(by: rows).partialValue == view.byteCount,
              !rowBytes.multipliedReportingOverflow(by: rows).overflow else {
            throw EngineError.unsupportedModel("tensor '\(name)': \(view.byteCount) bytes of \(type.name) do not hold [\(rows) × \(columns)] (rows must be whole blocks of \(type.blockSize))")
        }
        guard let pointer = view.withUnsafeBytes({ $0.baseAddress }) else {
            throw EngineError.unsupportedModel("tensor '\(name)' is empty")
        }
        self.rows = rows
        self.columns = columns
        self.type = type
        self.traits = traits
        self.view = view
        self.base = pointer
        self.rowBytes = rowBytes
        if let heads = interleavedHeads {
            guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else {
                throw EngineError.unsupportedModel("tensor '\(name)': \(rows) rows do not split into \(heads) heads of even size (llama.cpp's Q/K order)")
            }
            var map = [Int32](repeating: 0, count: rows)
            for stored in 0 ..< rows {
                map[RowPermutation.huggingFaceRow(forGGUFRow: stored, headRows: rows / heads)] = Int32(stored)
            }
            storedRow = map
        } else {
            storedRow = nil
        }
    }

    public var storageName: String { type.name }
    public var storedBytes: Int { view.byteCount }
    public var activationFormat: ActivationFormat { traits.activation }
    public var int8Form: Int8Form? { traits.int8 }
    public var bf16Rows: BF16Rows? { type == .bf16 ? BF16Rows(base: base, storedRow: storedRow) : nil }

    public func decodeRows(_ start: Int, _ count: Int, into output: UnsafeMutablePointer<Float>) {
        let blocksPerRow = columns / type.blockSize
        guard let map = storedRow else {
            traits.decode(base + start * rowBytes, output, count * blocksPerRow)
            return
        }
        for r in 0 ..< count {
            traits.decode(base + Int(map[start + r]) * rowBytes, output + r * columns, blocksPerRow)
        }
    }

    public func unpackInt8Rows(_ start: Int, _ count: Int, q: UnsafeMutablePointer<Int8>, scale: UnsafeMutablePointer<Float>,
                               min: UnsafeMutablePointer<Float>) {
        guard let unpack = traits.unpack, let form = traits.int8 else { return }
        let scalesPerRow = columns / form.blockSize
        guard let map = storedRow else {
            unpack(base + start * rowBytes, count, columns, q, scale, min)
            return
        }
        for r in 0 ..< count {
            unpack(base + Int(map[start + r]) * rowBytes, 1, columns, q + r * columns, scale + r * scalesPerRow, min + r * scalesPerRow)
        }
    }

    public func releasePages() { view.releasePages() }
    public func adviseSequential() { view.adviseSequential() }
}
