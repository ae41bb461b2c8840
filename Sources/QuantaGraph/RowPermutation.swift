/// llama.cpp's Q/K row interleave (convert_hf_to_gguf.py `LlamaModel.permute`):
/// `w.reshape(heads, 2, rows/heads/2, …).swapaxes(1, 2)`. Within each head of `headRows` rows,
/// GGUF row `2i + j` holds HF row `j·half + i`. Rows move whole, so the same permutation
/// applies to dense rows and to rows of ggml blocks.
public enum RowPermutation {
    /// The HF row stored at GGUF row `ggufRow`.
    @inline(__always)
    public static func huggingFaceRow(forGGUFRow ggufRow: Int, headRows: Int) -> Int {
        let head = ggufRow / headRows
        let within = ggufRow % headRows
        let half = headRows / 2
        return head * headRows + (within % 2) * half + within / 2
    }

    /// Copies `rows` rows of `rowBytes` bytes from `source` to `target`, changing order.
    /// `toHuggingFace`: source is GGUF-ordered; otherwise source is HF-ordered.
    public static func apply(rows: Int, rowBytes: Int, heads: Int, toHuggingFace: Bool,
                             source: UnsafeRawBufferPointer, target: UnsafeMutableRawBufferPointer) throws {
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else {
            throw GraphError.unsupported("cannot undo llama.cpp's Q/K row order: \(rows) rows do not split into \(heads) heads of even size")
        }
        guard source.count >= rows * rowBytes, target.count >= rows * rowBytes,
              let src = source.baseAddress, let dst = target.baseAddress else {
            throw GraphError.unsupported("row permutation: buffer smaller than \(rows) × \(rowBytes) bytes")
        }
        let headRows = rows / heads
        for ggufRow in 0 ..< rows {
            let hfRow = huggingFaceRow(forGGUFRow: ggufRow, headRows: headRows)
            let (from, to) = toHuggingFace ? (ggufRow, hfRow) : (hfRow, ggufRow)
            (dst + to * rowBytes).copyMemory(from: src + from * rowBytes, byteCount: rowBytes)
        }
    }
}
