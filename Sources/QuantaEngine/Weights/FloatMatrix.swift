import QuantaCore

/// An f32 weight matrix: rows in the memory map (a safetensors or GGUF F32 tensor in Hugging Face
/// order), or in an owned buffer (a calibrated pass's working copy, which it rewrites in place).
/// sgemm reads it directly; nothing is decoded.
public final class FloatMatrix: WeightMatrix, @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    /// Owned values (nil when mapped).
    public let buffer: FloatBuffer?
    private var offset = 0
    private let view: TensorView?
    private let base: UnsafePointer<Float>

    /// A matrix over `rows × columns` floats of an owned buffer, starting at element `offset`
    /// (several matrices may share one buffer, e.g. q/k/v stacked as calibration fuses them).
    public init(buffer: FloatBuffer, offset: Int = 0, rows: Int, columns: Int) {
        precondition(offset >= 0 && buffer.count >= offset + rows * columns, "FloatMatrix: buffer smaller than its shape")
        self.rows = rows
        self.columns = columns
        self.buffer = buffer
        self.offset = offset
        self.view = nil
        self.base = UnsafePointer(buffer.pointer + offset)
    }

    /// A matrix over a mapped (or owned) f32 tensor view, without copying.
    public init(view: TensorView, rows: Int, columns: Int) throws {
        guard view.dtype == .f32, view.elementCount == rows * columns else {
            throw EngineError.unsupportedModel("FloatMatrix needs \(rows * columns) f32 values, got \(view.elementCount) \(view.dtype.rawValue)")
        }
        self.rows = rows
        self.columns = columns
        self.buffer = nil
        self.view = view
        guard let pointer = view.withUnsafeBytes({ $0.baseAddress }) else {
            throw EngineError.unsupportedModel("FloatMatrix: empty tensor")
        }
        // The view's storage (a MappedFile or OwnedBytes class) is retained by `view` for our lifetime.
        base = pointer.assumingMemoryBound(to: Float.self)
    }

    /// The values for in-place updates (owned matrices only).
    public var mutablePointer: UnsafeMutablePointer<Float>? { buffer.map { $0.pointer + offset } }

    public var storageName: String { "F32" }
    public var storedBytes: Int { rows * columns * 4 }
    public var denseFloats: UnsafePointer<Float>? { base }

    public func decodeRows(_ start: Int, _ count: Int, into output: UnsafeMutablePointer<Float>) {
        output.update(from: base + start * columns, count: count * columns)
    }

    public func releasePages() { view?.releasePages() }
    public func adviseSequential() { view?.adviseSequential() }
}
