import QuantaCore
import QuantaFormats
import QuantaGraph

extension ConvertOptions {
    /// The float type `--dequantize` writes: a GGUF output's `--outtype` when it is a float type,
    /// else `--dtype`, else f32 (the dequantizer's exact values). A quantized `--outtype` contradicts
    /// the flag and is refused before anything is read.
    public func dequantizedDType() throws -> DType {
        if to == .gguf, let type = outType.ggmlType {
            guard let plain = type.plainDType else {
                throw KitError.invalidOption("--dequantize writes float tensors, but --outtype \(outType.rawValue) quantizes them; "
                    + "use --outtype auto, f32, f16 or bf16 with --dequantize")
            }
            return plain
        }
        return dtype ?? .f32
    }

    /// The one line `convert` prints when a float dtype was asked for but quantized tensors will be
    /// written packed (nil when none are). A safetensors or PyTorch output keeps GPTQ/AWQ/bitsandbytes
    /// components packed (ggml blocks are always decoded there); a GGUF output with `--outtype auto`
    /// keeps ggml blocks (other schemes are decoded to F32 by the GGUF writer).
    public func packedNotice(for graph: ModelGraph) -> String? {
        guard !dequantize, let dtype else { return nil }
        let staysPacked: (QuantScheme) -> Bool
        switch to {
        case .safetensors, .pytorch: staysPacked = { !GraphDequantizer.isGGML($0) }
        case .gguf:
            guard outType == .auto else { return nil }
            staysPacked = GraphDequantizer.isGGML
        }
        let counts = GraphDequantizer.quantizedCounts(graph, where: staysPacked)
        let total = counts.reduce(0) { $0 + $1.count }
        guard total > 0 else { return nil }
        let schemes = counts.map { "\($0.count) × \($0.scheme)" }.joined(separator: ", ")
        let subject = total == 1 ? "1 quantized tensor stays" : "\(total) quantized tensors stay"
        return "--dtype \(dtype.cliName) casts float tensors only: \(subject) packed (\(schemes)); "
            + "add --dequantize to write them as \(dtype.cliName) floats"
    }
}
