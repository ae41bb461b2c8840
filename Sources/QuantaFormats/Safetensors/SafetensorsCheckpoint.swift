import Foundation
import QuantaCore

/// A safetensors checkpoint: one file, or shards listed by a `*.safetensors.index.json`.
///
/// Opens a `.safetensors` file, an index file, or a folder holding `model.safetensors.index.json`
/// (or another single `*.safetensors.index.json`), else `model.safetensors`, else exactly one
/// `*.safetensors`. The index is checked against the shards before any tensor is handed out.
public final class SafetensorsCheckpoint: Sendable {
    /// The index file, when the checkpoint is sharded.
    public let indexPath: String?
    /// Shard files in load order (for an index: unique file names sorted, as transformers loads them).
    public let shards: [SafetensorsFile]
    /// Every tensor: shards in order, each in data-offset order.
    public let tensors: [SafetensorsTensor]
    /// The index's `metadata` object (e.g. total_size, total_parameters); nil without an index.
    public let indexMetadata: JSONObject?
    private let indexByName: [String: Int]

    /// Shard file paths in load order.
    public var shardPaths: [String] { shards.map(\.path) }
    /// `__metadata__` of the first shard.
    public var metadata: [(key: String, value: String)] { shards.first?.metadata ?? [] }

    public func tensor(named name: String) -> SafetensorsTensor? { indexByName[name].map { tensors[$0] } }

    public convenience init(path: String) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SafetensorsError.noCheckpoint(path: path, reason: "no such file or folder")
        }
        if isDirectory.boolValue {
            let chosen = try Self.choose(inDirectory: path)
            try self.init(resolvedPath: chosen)
        } else {
            try self.init(resolvedPath: path)
        }
    }

    private init(resolvedPath path: String) throws {
        if path.hasSuffix(".index.json") {
            let (shardFiles, weightMap, metadata) = try Self.readIndex(path)
            let folder = (path as NSString).deletingLastPathComponent
            var opened: [SafetensorsFile] = []
            for shard in shardFiles {
                let shardPath = folder.isEmpty ? shard : folder + "/" + shard
                guard FileManager.default.fileExists(atPath: shardPath) else {
                    throw SafetensorsError.missingShard(index: path, shard: shard)
                }
                opened.append(try SafetensorsFile(path: shardPath))
            }
            try Self.check(index: path, weightMap: weightMap, shardNames: shardFiles, shards: opened)
            indexPath = path
            indexMetadata = metadata
            shards = opened
        } else {
            indexPath = nil
            indexMetadata = nil
            shards = [try SafetensorsFile(path: path)]
        }
        var all: [SafetensorsTensor] = []
        var index: [String: Int] = [:]
        for shard in shards {
            for tensor in shard.tensors {
                index[tensor.name] = all.count
                all.append(tensor)
            }
        }
        tensors = all
        indexByName = index
    }

    /// Picks the file to open inside a folder.
    private static func choose(inDirectory directory: String) throws -> String {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw SafetensorsError.noCheckpoint(path: directory, reason: "cannot list the folder: \(error.localizedDescription)")
        }
        let join = { (name: String) in directory.hasSuffix("/") ? directory + name : directory + "/" + name }
        if names.contains(SafetensorsShards.indexFileName) { return join(SafetensorsShards.indexFileName) }
        let indexes = names.filter { $0.hasSuffix(".safetensors.index.json") }
        if indexes.count == 1 { return join(indexes[0]) }
        if indexes.count > 1 {
            throw SafetensorsError.noCheckpoint(path: directory, reason: "holds several index files (\(indexes.sorted().joined(separator: ", "))); pass the one to open")
        }
        if names.contains(SafetensorsShards.singleFileName) { return join(SafetensorsShards.singleFileName) }
        let files = names.filter { $0.hasSuffix(".safetensors") }
        if files.count == 1 { return join(files[0]) }
        if files.isEmpty {
            throw SafetensorsError.noCheckpoint(path: directory, reason: "holds no .safetensors file and no model.safetensors.index.json")
        }
        throw SafetensorsError.noCheckpoint(path: directory, reason: "holds \(files.count) .safetensors files but no index; pass the file to open")
    }

    /// Parses an index: `weight_map` (tensor → shard file) and optional `metadata`.
    private static func readIndex(_ path: String) throws -> (shards: [String], weightMap: JSONObject, metadata: JSONObject?) {
        let file = try MappedFile(path: path)
        let root: JSONValue
        do {
            root = try JSONParser.parse(file.bytes, context: path)
        } catch let CoreError.json(_, offset, message) {
            throw SafetensorsError.invalidIndex(file: path, reason: "not valid JSON at byte \(offset): \(message)")
        }
        guard let weightMap = root["weight_map"]?.objectValue else {
            throw SafetensorsError.invalidIndex(file: path, reason: "has no \"weight_map\" object")
        }
        var metadata: JSONObject?
        if let value = root["metadata"], value != .null {
            guard let object = value.objectValue else {
                throw SafetensorsError.invalidIndex(file: path, reason: "\"metadata\" is not an object")
            }
            metadata = object
        }
        var shardSet: Set<String> = []
        for (tensor, value) in weightMap.entries {
            guard let shard = value.stringValue else {
                throw SafetensorsError.invalidIndex(file: path, reason: "weight_map entry '\(tensor)' is not a file name")
            }
            guard isSafeRelativePath(shard) else {
                throw SafetensorsError.unsafeShardPath(index: path, tensor: tensor, shard: shard)
            }
            shardSet.insert(shard)
        }
        // transformers loads `sorted(set(weight_map.values()))`; byte order equals code point order.
        let ordered = shardSet.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return (ordered, weightMap, metadata)
    }

    /// A relative path that stays inside the folder: no absolute path, no empty, `.` or `..`
    /// component. Symlinks are allowed (the Hugging Face cache links shards to blobs).
    static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\0") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
        }
    }

    /// Every mapped tensor is in its shard, and every shard tensor is mapped to that shard.
    private static func check(index: String, weightMap: JSONObject, shardNames: [String], shards: [SafetensorsFile]) throws {
        var shardOf: [String: String] = [:]
        for (tensor, value) in weightMap.entries { shardOf[tensor] = value.stringValue }
        for (shardName, shard) in zip(shardNames, shards) {
            for tensor in shard.tensors {
                guard let mapped = shardOf[tensor.name] else {
                    throw SafetensorsError.tensorNotInIndex(index: index, tensor: tensor.name, shard: shardName)
                }
                if mapped != shardName {
                    throw SafetensorsError.tensorInTwoShards(index: index, tensor: tensor.name, mappedTo: mapped, alsoIn: shardName)
                }
            }
        }
        let byName = Dictionary(uniqueKeysWithValues: zip(shardNames, shards))
        for (tensor, value) in weightMap.entries {
            guard let shardName = value.stringValue, let shard = byName[shardName] else { continue }
            if shard.tensor(named: tensor) == nil {
                throw SafetensorsError.tensorMissingFromShard(index: index, tensor: tensor, shard: shardName)
            }
        }
    }
}
