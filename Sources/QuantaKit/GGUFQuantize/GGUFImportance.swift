import QuantaFormats

/// An importance matrix as `llama-quantize --imatrix` uses it: per weight tensor (GGUF name),
/// one non-negative weight per input column (× experts for 3-D tensors) — mean x² of that
/// column's activations — and what it records about the matrix in the output's metadata.
public struct GGUFImportance: Sendable {
    /// `quantize.imatrix.file`: the path as the user gave it (llama-quantize stores argv).
    public var label: String
    /// `imatrix.datasets` of the matrix; the first becomes `quantize.imatrix.dataset`.
    public var datasets: [String]
    /// `quantize.imatrix.chunks_count`.
    public var chunkCount: Int
    public var values: [String: [Float]]

    public init(label: String, datasets: [String], chunkCount: Int, values: [String: [Float]]) {
        self.label = label
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.values = values
    }

    /// llama-quantize refuses a matrix with a NaN or infinity (src/llama-quant.cpp).
    func validate() throws {
        for (name, weights) in values.sorted(by: { $0.key < $1.key }) {
            if let bad = weights.firstIndex(where: { !$0.isFinite }) {
                throw KitError.invalidOption("importance matrix \(label): tensor '\(name)' has the non-finite value \(weights[bad]) at column \(bad)")
            }
        }
    }

    /// The metadata llama-quantize adds (tools/quantize/quantize.cpp, as kv overrides: strings cut
    /// to 127 bytes, counts as UINT32).
    var metadata: [(key: String, value: GGUFValue)] {
        var kv: [(key: String, value: GGUFValue)] = [("quantize.imatrix.file", .string(Self.cut(label)))]
        if let first = datasets.first { kv.append(("quantize.imatrix.dataset", .string(Self.cut(first)))) }
        kv.append(("quantize.imatrix.entries_count", .uint32(UInt32(clamping: values.count))))
        kv.append(("quantize.imatrix.chunks_count", .uint32(UInt32(clamping: chunkCount))))
        return kv
    }

    /// `strncpy(val_str, s, 127)`: the first 127 bytes (a cut inside a UTF-8 sequence keeps the bytes
    /// llama.cpp keeps, decoded leniently).
    static func cut(_ text: String) -> String {
        let bytes = Array(text.utf8.prefix(127))
        return String(decoding: bytes, as: UTF8.self)
    }
}
