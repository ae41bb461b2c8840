import Foundation
import QuantaCore

/// Writes PyTorch zip checkpoints that `torch.load(path, weights_only=True)` loads, byte-identical
/// to `torch.save(OrderedDict(name → contiguous tensor))` in torch 2.15.0 when the archive name
/// matches (torch takes it from the file name's stem).
///
/// The records, in torch's order (torch/serialization.py `_save`, then `writeEndOfFile`):
/// `data.pkl`, `.format_version` ("1"), `.storage_alignment` ("64"), `byteorder` ("little"),
/// `data/0` … `data/N-1` (one storage per tensor, in state-dict order), `version` ("3\n"), and
/// `.data/serialization_id`. Tensor data is streamed (in-kernel copies for mapped views) with its
/// CRC-32 computed on the way; nothing is compressed.
public enum TorchWriter {
    public static let indexFileName = TorchCheckpoint.indexFileName
    public static let singleFileName = TorchCheckpoint.singleFileName

    /// The archive folder torch.save uses for `path`: the file name without its last extension
    /// (caffe2 `basename`), or "archive" when that is empty or the path is not ASCII (torch then
    /// writes through a Python stream, which names the folder "archive").
    public static func archiveName(forPath path: String) -> String {
        guard path.utf8.allSatisfy({ $0 < 0x80 }) else { return "archive" }
        let scalars = Array(path.utf8)
        var start = 0
        for (index, byte) in scalars.enumerated() where byte == UInt8(ascii: "/") || byte == UInt8(ascii: "\\") {
            start = index + 1
        }
        guard start < scalars.count else { return "archive" }
        var end = scalars.count
        var index = scalars.count
        while index > start {
            if scalars[index - 1] == UInt8(ascii: ".") { end = index - 1; break }
            index -= 1
        }
        guard end > start else { return "archive" }
        return String(decoding: scalars[start ..< end], as: UTF8.self)
    }

    /// Writes `tensors` (state-dict order) to `path`, created or truncated. Names and sizes are
    /// validated before the file is created; a failure part-way removes it. `archiveName`
    /// defaults to the one torch derives from `path` (pass the final path's when writing to a
    /// temporary one). Callers wanting all-or-nothing output write into an `AtomicOutput` path.
    public static func write(tensors: [(name: String, payload: TensorPayload)], to path: String,
                             archiveName: String? = nil, progress: ProgressReporter? = nil) throws {
        try write(tensors: tensors, to: path, archiveName: archiveName ?? Self.archiveName(forPath: path),
                  progress: progress, zip64Threshold: 0xFFFF_FFFF)
    }

    /// As `write`, with the ZIP64 threshold lowered (tests exercise the ZIP64 fields on small files).
    static func write(tensors: [(name: String, payload: TensorPayload)], to path: String, archiveName: String,
                      progress: ProgressReporter?, zip64Threshold: Int) throws {
        let described = try validate(tensors)
        let pickle = TorchPickler.stateDict(described)
        let output = try OutputFile(creating: path)
        do {
            let zip = TorchZipWriter(output: output, archive: archiveName, zip64Threshold: zip64Threshold)
            try zip.add("data.pkl", bytes: pickle)
            try zip.add(".format_version", bytes: Array("1".utf8))
            try zip.add(".storage_alignment", bytes: Array(String(TorchZipWriter.alignment).utf8))
            try zip.add("byteorder", bytes: Array("little".utf8))
            for (index, tensor) in tensors.enumerated() {
                try zip.add("data/\(index)", size: tensor.payload.byteCount) { sink in
                    try stream(tensor.payload, into: &sink)
                }
                progress?.advance(by: Int64(tensor.payload.byteCount))
            }
            try zip.add("version", bytes: Array("3\n".utf8))  // kProducedFileFormatVersion
            try zip.finish()
            try output.close()
        } catch {
            try? output.close()
            unlink(path)
            throw error
        }
    }

    /// Non-empty unique names; sizes that match dtype × shape; a record count the zip layer reads.
    static func validate(_ tensors: [(name: String, payload: TensorPayload)]) throws -> [TorchPickler.Tensor] {
        let records = tensors.count + 7
        guard records <= TorchLimits.maxEntries else { throw TorchError.tooManyRecords(count: tensors.count, limit: TorchLimits.maxEntries - 7) }
        var seen: Set<String> = []
        seen.reserveCapacity(tensors.count)
        var described: [TorchPickler.Tensor] = []
        described.reserveCapacity(tensors.count)
        for (position, tensor) in tensors.enumerated() {
            guard !tensor.name.isEmpty else { throw TorchError.emptyTensorName(position: position) }
            guard seen.insert(tensor.name).inserted else { throw TorchError.duplicateTensorName(name: tensor.name) }
            let payload = tensor.payload
            let context = "tensor '\(tensor.name)'"
            let elements = try ShapeMath.elementCount(payload.shape, context: context)
            let bytes = try ShapeMath.multiply(elements, payload.dtype.byteSize, context: context)
            guard bytes == payload.byteCount else {
                throw TorchError.payloadSizeMismatch(file: "(writing)", tensor: tensor.name, expected: bytes, written: payload.byteCount)
            }
            // Strides and offsets in the pickle must not overflow either.
            _ = try TorchTensor.contiguousStrides(payload.shape).reduce(0) { try ShapeMath.add($0, $1, context: context) }
            described.append(TorchPickler.Tensor(name: tensor.name, dtype: payload.dtype, shape: payload.shape,
                                                 elementCount: elements, storageKey: String(position)))
        }
        return described
    }

    /// Streams one payload (and its value checks) through the record sink, one chunk at a time.
    static func stream(_ payload: TensorPayload, into sink: inout RecordSink) throws {
        try payload.stream(into: &sink)
    }

    // MARK: Sharded checkpoints

    /// Shard file names: `pytorch_model.bin` alone, else `pytorch_model-00001-of-0000N.bin`
    /// (huggingface_hub's `-{i:05d}-of-{n:05d}` suffix, as transformers 4.x saved .bin shards).
    public static func fileNames(count: Int) -> [String] {
        if count <= 1 { return [singleFileName] }
        return (1 ... count).map { "pytorch_model-\(zeroPadded($0))-of-\(zeroPadded(count)).bin" }
    }

    private static func zeroPadded(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The index huggingface_hub's `split_torch_state_dict_into_shards` describes and transformers
    /// 4.x wrote for .bin shards: `{"metadata": {"total_size"}, "weight_map": {tensor: file}}`
    /// as `json.dumps(index, indent=2, sort_keys=True) + "\n"`.
    public static func indexJSON(weightMap: [(tensor: String, file: String)], totalSize: Int) -> String {
        let sorted = weightMap.sorted { $0.tensor.utf8.lexicographicallyPrecedes($1.tensor.utf8) }
        var map = JSONObject()
        for entry in sorted { map[entry.tensor] = .string(entry.file) }
        let metadata = JSONObject([("total_size", .int(Int64(totalSize)))])
        let index = JSONObject([("metadata", .object(metadata)), ("weight_map", .object(map))])
        return JSONWriter.pretty(.object(index), indent: 2, asciiOnly: true) + "\n"
    }

    /// Writes the shards (and the index when there is more than one) into the existing folder
    /// `directory`, normally an `AtomicOutput` temporary folder. Tensors are split in order as
    /// huggingface_hub splits them (`SafetensorsShards.plan`). Everything is validated before the
    /// first byte is written. Returns the file names written, index last.
    @discardableResult
    public static func writeDirectory(tensors: [(name: String, payload: TensorPayload)], into directory: String,
                                      maxShardSize: Int, progress: ProgressReporter? = nil) throws -> [String] {
        _ = try validate(tensors)
        var totalSize = 0
        for tensor in tensors { totalSize = try ShapeMath.add(totalSize, tensor.payload.byteCount, context: "total size") }
        var groups = SafetensorsShards.plan(sizes: tensors.map(\.payload.byteCount), maxShardSize: maxShardSize)
        if groups.isEmpty { groups = [[]] }  // no tensors: still write an (empty) pytorch_model.bin
        let names = fileNames(count: groups.count)
        let folder = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var written: [String] = []
        var weightMap: [(tensor: String, file: String)] = []
        for (name, group) in zip(names, groups) {
            let shard = group.map { tensors[$0] }
            try write(tensors: shard, to: folder + "/" + name, archiveName: archiveName(forPath: name), progress: progress)
            written.append(name)
            for tensor in shard { weightMap.append((tensor.name, name)) }
        }
        if groups.count > 1 {
            let output = try OutputFile(creating: folder + "/" + indexFileName)
            try output.write(indexJSON(weightMap: weightMap, totalSize: totalSize))
            try output.close()
            written.append(indexFileName)
        }
        return written
    }
}
