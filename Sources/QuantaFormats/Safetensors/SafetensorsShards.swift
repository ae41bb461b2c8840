import Foundation
import QuantaCore

/// Sharded safetensors output as transformers 5.23 `save_pretrained` writes it: the split of
/// huggingface_hub `split_state_dict_into_shards_factory`, shard names
/// `model-00001-of-00003.safetensors` (a single shard is `model.safetensors` with no index),
/// and `model.safetensors.index.json` as `json.dumps(index, indent=2, sort_keys=True) + "\n"`.
public enum SafetensorsShards {
    public static let indexFileName = "model.safetensors.index.json"
    public static let singleFileName = "model.safetensors"

    /// Groups tensors (given by byte size, in state-dict order) into shards, as huggingface_hub does:
    /// walk in order; a tensor larger than the limit gets a shard of its own, appended at once
    /// (so before the shard still being filled); otherwise, when adding it would pass the limit,
    /// the current shard is closed and a new one started. Returns tensor indices per shard.
    public static func plan(sizes: [Int], maxShardSize: Int) -> [[Int]] {
        var shards: [[Int]] = []
        var current: [Int] = []
        var currentSize = 0
        for (index, size) in sizes.enumerated() {
            if size > maxShardSize {
                shards.append([index])
                continue
            }
            let (sum, overflow) = currentSize.addingReportingOverflow(size)
            if overflow || sum > maxShardSize {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(index)
            currentSize += size
        }
        if !current.isEmpty { shards.append(current) }
        return shards
    }

    /// Shard file names for `count` shards: `model.safetensors` alone, else
    /// `model-00001-of-0000N.safetensors` (huggingface_hub's `-{i:05d}-of-{n:05d}` suffix).
    public static func fileNames(count: Int) -> [String] {
        if count <= 1 { return [singleFileName] }
        return (1 ... count).map { "model-\(zeroPadded($0))-of-\(zeroPadded(count)).safetensors" }
    }

    private static func zeroPadded(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The index text transformers writes: `{"metadata": {"total_parameters", "total_size"},
    /// "weight_map": {tensor: file}}`, keys sorted by code point, indent 2, ASCII-only escapes
    /// (Python's default `ensure_ascii`), and a trailing newline.
    public static func indexJSON(weightMap: [(tensor: String, file: String)], totalSize: Int, totalParameters: Int) -> String {
        let sorted = weightMap.sorted { $0.tensor.utf8.lexicographicallyPrecedes($1.tensor.utf8) }
        var map = JSONObject()
        for entry in sorted { map[entry.tensor] = .string(entry.file) }
        let metadata = JSONObject([("total_parameters", .int(Int64(totalParameters))), ("total_size", .int(Int64(totalSize)))])
        let index = JSONObject([("metadata", .object(metadata)), ("weight_map", .object(map))])
        return JSONWriter.pretty(.object(index), indent: 2, asciiOnly: true) + "\n"
    }

    /// Writes the shards (and the index when there is more than one) into the existing folder
    /// `directory`, normally an `AtomicOutput` temporary folder. `tensors` are in state-dict order,
    /// which decides the split. `totalParameters` defaults to the sum of element counts (what
    /// `num_parameters()` reports for a plain model). Every name, header and shard is planned
    /// before the first byte is written. Returns the file names written, index last.
    @discardableResult
    public static func writeDirectory(tensors: [(name: String, payload: TensorPayload)], metadata: [(String, String)]?,
                                      into directory: String, maxShardSize: Int, totalParameters: Int? = nil,
                                      progress: ProgressReporter? = nil) throws -> [String] {
        try SafetensorsWriter.validateNames(tensors.map(\.name))
        var totalSize = 0
        var elementTotal = 0
        for tensor in tensors {
            totalSize = try ShapeMath.add(totalSize, tensor.payload.byteCount, context: "total size")
            let elements = try ShapeMath.elementCount(tensor.payload.shape, context: "tensor '\(tensor.name)'")
            elementTotal = try ShapeMath.add(elementTotal, elements, context: "total parameters")
        }
        var groups = plan(sizes: tensors.map(\.payload.byteCount), maxShardSize: maxShardSize)
        if groups.isEmpty { groups = [[]] }  // no tensors: still write an (empty) model.safetensors
        let names = fileNames(count: groups.count)
        let shardTensors = groups.map { group in group.map { tensors[$0] } }
        let layouts = try shardTensors.map { shard in
            try SafetensorsWriter.layout(
                tensors: shard.map { ($0.name, $0.payload.dtype, $0.payload.shape, $0.payload.byteCount) },
                metadata: metadata)
        }
        let folder = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var written: [String] = []
        for ((name, shard), layout) in zip(zip(names, shardTensors), layouts) {
            try SafetensorsWriter.write(tensors: shard, layout: layout, to: folder + "/" + name, progress: progress)
            written.append(name)
        }
        if groups.count > 1 {
            var weightMap: [(tensor: String, file: String)] = []
            for (name, shard) in zip(names, shardTensors) {
                for tensor in shard { weightMap.append((tensor.name, name)) }
            }
            let text = indexJSON(weightMap: weightMap, totalSize: totalSize, totalParameters: totalParameters ?? elementTotal)
            let output = try OutputFile(creating: folder + "/" + indexFileName)
            try output.write(text)
            try output.close()
            written.append(indexFileName)
        }
        return written
    }

    /// A size such as `5GB`, `500MB`, `2GiB` or `1000` (bytes), read as transformers'
    /// `convert_file_size_to_int`: GB/MB/KB are powers of 10, GiB/MiB/KiB powers of 2, and a
    /// unit written with a lower-case final `b` (`5Gb`, `5gb`) means bits, so it is divided by 8.
    /// A bare integer is a byte count.
    public static func parseByteSize(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let upper = trimmed.uppercased()
        let units: [(suffix: String, multiplier: Int, bitsAllowed: Bool)] = [
            ("GIB", 1 << 30, false), ("MIB", 1 << 20, false), ("KIB", 1 << 10, false),
            ("GB", 1_000_000_000, true), ("MB", 1_000_000, true), ("KB", 1_000, true),
        ]
        for unit in units where upper.hasSuffix(unit.suffix) {
            let number = String(trimmed.dropLast(unit.suffix.count)).trimmingCharacters(in: .whitespaces)
            guard let value = plainInteger(number) else { throw SafetensorsError.invalidByteSize(text: text) }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: unit.multiplier)
            guard !overflow else { throw SafetensorsError.invalidByteSize(text: text) }
            return unit.bitsAllowed && trimmed.hasSuffix("b") ? bytes / 8 : bytes
        }
        guard let value = plainInteger(trimmed) else { throw SafetensorsError.invalidByteSize(text: text) }
        return value
    }

    private static func plainInteger(_ text: String) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(text)
    }
}
