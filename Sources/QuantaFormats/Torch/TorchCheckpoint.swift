import Foundation
import QuantaCore

/// A PyTorch checkpoint: one `.bin`/`.pt`/`.pth` zip, or shards listed by a
/// `pytorch_model.bin.index.json` (transformers' layout).
///
/// Opens a file, an index, or a folder holding `pytorch_model.bin.index.json` (or another single
/// `*.bin.index.json`), else `pytorch_model.bin`, else exactly one `.bin`/`.pt`/`.pth` file. The
/// index is checked against the shards before any tensor is handed out. Contiguous tensors are
/// zero-copy views into the maps; views with offsets into shared storages stay zero-copy, while
/// non-contiguous (e.g. transposed) and big-endian tensors are gathered into owned memory here.
public final class TorchCheckpoint: Sendable {
    public static let indexFileName = "pytorch_model.bin.index.json"
    public static let singleFileName = "pytorch_model.bin"

    /// The index file, when the checkpoint is sharded.
    public let indexPath: String?
    /// The index's `metadata` object; nil without an index.
    public let indexMetadata: JSONObject?
    /// Shard files in load order (for an index: unique file names sorted, as transformers loads them).
    public let files: [TorchFile]
    /// Every tensor's description: shards in order, each in its pickle's order.
    public let descriptors: [TorchTensor]
    /// Every tensor, in the same order.
    public let tensors: [(name: String, view: TensorView)]
    private let indexByName: [String: Int]

    /// Shard file paths in load order.
    public var shardPaths: [String] { files.map(\.path) }

    public func tensor(named name: String) -> TensorView? { indexByName[name].map { tensors[$0].view } }

    public convenience init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TorchError.noCheckpoint(path: path, reason: "no such file or folder")
        }
        try self.init(resolvedPath: isDirectory.boolValue ? try Self.choose(inDirectory: path) : path)
    }

    private init(resolvedPath path: String) throws {
        if path.hasSuffix(".index.json") {
            let (shardNames, weightMap, metadata) = try Self.readIndex(path)
            let folder = (path as NSString).deletingLastPathComponent
            var opened: [TorchFile] = []
            for shard in shardNames {
                let shardPath = folder.isEmpty ? shard : folder + "/" + shard
                guard FileManager.default.fileExists(atPath: shardPath) else { throw TorchError.missingShard(index: path, shard: shard) }
                opened.append(try TorchFile(path: shardPath))
            }
            try Self.check(index: path, weightMap: weightMap, shardNames: shardNames, shards: opened)
            indexPath = path
            indexMetadata = metadata
            files = opened
        } else {
            indexPath = nil
            indexMetadata = nil
            files = [try TorchFile(path: path)]
        }
        var all: [TorchTensor] = []
        var views: [(name: String, view: TensorView)] = []
        var index: [String: Int] = [:]
        for shard in files {
            for tensor in shard.tensors {
                guard index.updateValue(all.count, forKey: tensor.name) == nil else {
                    throw TorchError.duplicateTensor(file: shard.path, tensor: tensor.name)
                }
                all.append(tensor)
                views.append((tensor.name, try shard.view(of: tensor)))
            }
        }
        descriptors = all
        tensors = views
        indexByName = index
    }

    /// Picks the file to open inside a folder.
    private static func choose(inDirectory directory: String) throws -> String {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw TorchError.noCheckpoint(path: directory, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        let join = { (name: String) in directory.hasSuffix("/") ? directory + name : directory + "/" + name }
        if names.contains(indexFileName) { return join(indexFileName) }
        let indexes = names.filter { $0.hasSuffix(".bin.index.json") }
        if indexes.count == 1 { return join(indexes[0]) }
        if indexes.count > 1 {
            throw TorchError.noCheckpoint(path: directory, reason: "holds several index files (\(indexes.sorted().joined(separator: ", "))); pass the one to open")
        }
        if names.contains(singleFileName) { return join(singleFileName) }
        let files = names.filter { $0.hasSuffix(".bin") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth") }
        if files.count == 1 { return join(files[0]) }
        if files.isEmpty {
            throw TorchError.noCheckpoint(path: directory, reason: "holds no .bin, .pt or .pth file and no \(indexFileName)")
        }
        throw TorchError.noCheckpoint(path: directory, reason: "holds \(files.count) PyTorch files but no index; pass the file to open")
    }

    /// Parses an index: `weight_map` (tensor → shard file) and optional `metadata`.
    private static func readIndex(_ path: String) throws -> (shards: [String], weightMap: JSONObject, metadata: JSONObject?) {
        let file = try MappedFile(path: path)
        guard file.size <= TorchLimits.maxIndexBytes else {
            throw TorchError.invalidIndex(file: path, reason: "is \(file.size) bytes, over the \(TorchLimits.maxIndexBytes)-byte limit")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(file.bytes, context: path)
        } catch let CoreError.json(_, offset, message) {
            throw TorchError.invalidIndex(file: path, reason: "not valid JSON at byte \(offset): \(message)")
        }
        guard let weightMap = root["weight_map"]?.objectValue else {
            throw TorchError.invalidIndex(file: path, reason: "has no \"weight_map\" object")
        }
        var metadata: JSONObject?
        if let value = root["metadata"], value != .null {
            guard let object = value.objectValue else { throw TorchError.invalidIndex(file: path, reason: "\"metadata\" is not an object") }
            metadata = object
        }
        var shardSet: Set<String> = []
        for (tensor, value) in weightMap.entries {
            guard let shard = value.stringValue else {
                throw TorchError.invalidIndex(file: path, reason: "weight_map entry '\(tensor)' is not a file name")
            }
            guard SafetensorsCheckpoint.isSafeRelativePath(shard) else {
                throw TorchError.unsafeShardPath(index: path, tensor: tensor, shard: shard)
            }
            shardSet.insert(shard)
        }
        // transformers loads `sorted(set(weight_map.values()))`; byte order equals code point order.
        let ordered = shardSet.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return (ordered, weightMap, metadata)
    }

    /// Every mapped tensor is in its shard, and every shard tensor is mapped to that shard.
    private static func check(index: String, weightMap: JSONObject, shardNames: [String], shards: [TorchFile]) throws {
        var shardOf: [String: String] = [:]
        for (tensor, value) in weightMap.entries { shardOf[tensor] = value.stringValue }
        var present: [String: Set<String>] = [:]
        for (shardName, shard) in zip(shardNames, shards) {
            var names: Set<String> = []
            for tensor in shard.tensors {
                guard let mapped = shardOf[tensor.name] else {
                    throw TorchError.tensorNotInIndex(index: index, tensor: tensor.name, shard: shardName)
                }
                if mapped != shardName {
                    throw TorchError.tensorInTwoShards(index: index, tensor: tensor.name, mappedTo: mapped, alsoIn: shardName)
                }
                names.insert(tensor.name)
            }
            present[shardName] = names
        }
        for (tensor, value) in weightMap.entries {
            guard let shardName = value.stringValue else { continue }
            if present[shardName]?.contains(tensor) != true {
                throw TorchError.tensorMissingFromShard(index: index, tensor: tensor, shard: shardName)
            }
        }
    }
}
