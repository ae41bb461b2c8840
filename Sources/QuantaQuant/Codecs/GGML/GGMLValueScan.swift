import QuantaCore
import QuantaFormats

/// Scans the values of ggml blocks by decoding them a chunk at a time into one scratch buffer, so
/// a tensor of any size costs one chunk of f32 memory.
public enum GGMLValueScan {
    /// Blocks of 256 values decoded per chunk: 1 Mi values, 4 MiB of f32.
    static let chunkValues = 1 << 20

    /// The values of `bytes` (whole blocks of `type`), in stored order.
    public static func scan(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer) throws -> ValueStats {
        let blockBytes = type.blockBytes, blockSize = type.blockSize
        guard bytes.count % blockBytes == 0 else {
            throw GGMLCodecError.bufferSizeMismatch(type: type, count: bytes.count / blockBytes * blockSize, buffer: "block (bytes)",
                                                    expected: bytes.count / blockBytes * blockBytes, actual: bytes.count)
        }
        let blocks = bytes.count / blockBytes
        let blocksPerChunk = max(1, chunkValues / blockSize)
        var scratch = [Float](repeating: 0, count: min(blocks, blocksPerChunk) * blockSize)
        var stats = ValueStats()
        var block = 0
        while block < blocks {
            let count = min(blocksPerChunk, blocks - block)
            let source = UnsafeRawBufferPointer(rebasing: bytes[(block * blockBytes) ..< ((block + count) * blockBytes)])
            try scratch.withUnsafeMutableBufferPointer { buffer in
                let out = UnsafeMutableBufferPointer(rebasing: buffer[0 ..< count * blockSize])
                try GGMLCodec.dequantize(type, from: source, into: out, count: count * blockSize)
                stats.append(ValueScan.scan(UnsafeBufferPointer(out)))
            }
            block += count
        }
        return stats
    }
}
