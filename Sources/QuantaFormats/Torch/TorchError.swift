import QuantaCore

/// Everything that can go wrong reading or writing PyTorch zip checkpoints. Each case names the
/// file, and the entry, tensor, global, opcode or byte offset where there is one.
public enum TorchError: Error, CustomStringConvertible, Sendable, Equatable {
    // The zip container.
    case notZip(file: String, reason: String)
    case legacyFormat(file: String, kind: String)
    case zipCorrupt(file: String, offset: Int, reason: String)
    case zipLimit(file: String, limit: String, value: Int, cap: Int)
    case compressedEntry(file: String, entry: String, method: Int)
    case encryptedEntry(file: String, entry: String)
    case entryOutsideFile(file: String, entry: String, start: Int, end: Int, limit: Int)
    case overlappingEntries(file: String, entry: String, other: String)
    case duplicateEntry(file: String, entry: String)
    case invalidEntryName(file: String, offset: Int, reason: String)
    case mixedArchiveFolders(file: String, entry: String, expected: String)
    case missingRecord(file: String, record: String)
    case crcMismatch(file: String, entry: String, stored: UInt32, computed: UInt32)
    case invalidRecord(file: String, record: String, reason: String)

    // The pickle.
    case unsupportedOpcode(file: String, opcode: UInt8, name: String, offset: Int)
    case forbiddenGlobal(file: String, global: String, offset: Int)
    case pickleLimit(file: String, limit: String, value: Int, cap: Int, offset: Int)
    case invalidPickle(file: String, offset: Int, reason: String)

    // Storages and tensors.
    case unsupportedDType(file: String, what: String, offset: Int)
    case storageTooLarge(file: String, key: String, needed: Int, available: Int)
    case tensorOutOfStorage(file: String, offset: Int, reason: String)
    case noStateDict(file: String, reason: String)
    case invalidTensor(file: String, tensor: String, reason: String)

    // Opening a checkpoint (directory, index or file).
    case noCheckpoint(path: String, reason: String)
    case invalidIndex(file: String, reason: String)
    case unsafeShardPath(index: String, tensor: String, shard: String)
    case missingShard(index: String, shard: String)
    case tensorMissingFromShard(index: String, tensor: String, shard: String)
    case tensorInTwoShards(index: String, tensor: String, mappedTo: String, alsoIn: String)
    case tensorNotInIndex(index: String, tensor: String, shard: String)
    case duplicateTensor(file: String, tensor: String)

    // Writing.
    case emptyTensorName(position: Int)
    case duplicateTensorName(name: String)
    case payloadSizeMismatch(file: String, tensor: String, expected: Int, written: Int)
    case tooManyRecords(count: Int, limit: Int)

    public var description: String {
        switch self {
        case let .notZip(file, reason):
            return "\(file): not a PyTorch zip checkpoint (\(reason)); torch.save has written zip files since PyTorch 1.6"
        case let .legacyFormat(file, kind):
            return "\(file): \(kind) is the legacy torch.save format, which Quanta does not read (it can only be loaded by running pickle); load it with torch.load in a trusted environment and re-save it with a current torch.save"
        case let .zipCorrupt(file, offset, reason):
            return "\(file): corrupt zip structure at byte \(offset): \(reason)"
        case let .zipLimit(file, limit, value, cap):
            return "\(file): \(limit) is \(value), over the limit of \(cap); the file is corrupt or hostile"
        case let .compressedEntry(file, entry, method):
            return "\(file): entry '\(entry)' is compressed (zip method \(method)); torch.save never compresses; re-save with torch.save"
        case let .encryptedEntry(file, entry):
            return "\(file): entry '\(entry)' is encrypted; torch.save never encrypts; re-save with torch.save"
        case let .entryOutsideFile(file, entry, start, end, limit):
            return "\(file): entry '\(entry)' spans bytes \(start)..<\(end) but must end by byte \(limit); the file is truncated or corrupt"
        case let .overlappingEntries(file, entry, other):
            return "\(file): entries '\(other)' and '\(entry)' overlap; the file is corrupt or hostile"
        case let .duplicateEntry(file, entry):
            return "\(file): entry '\(entry)' appears twice in the zip directory; the file is corrupt or hostile"
        case let .invalidEntryName(file, offset, reason):
            return "\(file): entry name at byte \(offset) \(reason)"
        case let .mixedArchiveFolders(file, entry, expected):
            return "\(file): entry '\(entry)' is not inside the archive folder '\(expected)/'; a torch.save file keeps every record in one top-level folder"
        case let .missingRecord(file, record):
            return "\(file): the archive has no '\(record)' record; it is not a complete torch.save file"
        case let .crcMismatch(file, entry, stored, computed):
            return "\(file): entry '\(entry)' has CRC-32 \(hex(computed)) but the zip directory says \(hex(stored)); the file is corrupt"
        case let .invalidRecord(file, record, reason):
            return "\(file): record '\(record)' \(reason)"
        case let .unsupportedOpcode(file, opcode, name, offset):
            return "\(file): data.pkl byte \(offset): pickle opcode \(name) (0x\(String(opcode, radix: 16))) is not allowed; Quanta's restricted unpickler accepts only what torch.save writes for a state dict"
        case let .forbiddenGlobal(file, global, offset):
            return "\(file): data.pkl byte \(offset): global '\(global)' is not allowed; a state dict needs only tensors, storages, dtypes and OrderedDict, so this file may run code when loaded by pickle. Refusing it"
        case let .pickleLimit(file, limit, value, cap, offset):
            return "\(file): data.pkl byte \(offset): \(limit) reaches \(value), over the limit of \(cap); the pickle is corrupt or hostile"
        case let .invalidPickle(file, offset, reason):
            return "\(file): data.pkl byte \(offset): \(reason)"
        case let .unsupportedDType(file, what, offset):
            return "\(file): data.pkl byte \(offset): \(what) is not a dtype Quanta supports (supported: \(DType.allCases.map(\.rawValue).joined(separator: " ")))"
        case let .storageTooLarge(file, key, needed, available):
            return "\(file): storage '\(key)' claims \(needed) bytes but its data record holds \(available); the file is truncated or corrupt"
        case let .tensorOutOfStorage(file, offset, reason):
            return "\(file): data.pkl byte \(offset): \(reason)"
        case let .noStateDict(file, reason):
            return "\(file): no state dict found: \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "\(file): tensor '\(tensor)': \(reason)"
        case let .noCheckpoint(path, reason):
            return "\(path): \(reason)"
        case let .invalidIndex(file, reason):
            return "\(file): \(reason)"
        case let .unsafeShardPath(index, tensor, shard):
            return "\(index): tensor '\(tensor)' maps to '\(shard)', which is not a plain file name inside the checkpoint folder"
        case let .missingShard(index, shard):
            return "\(index): shard '\(shard)' does not exist next to the index; the checkpoint is incomplete"
        case let .tensorMissingFromShard(index, tensor, shard):
            return "\(index): tensor '\(tensor)' is mapped to '\(shard)' but that shard does not contain it"
        case let .tensorInTwoShards(index, tensor, mappedTo, alsoIn):
            return "\(index): tensor '\(tensor)' is mapped to '\(mappedTo)' but also stored in '\(alsoIn)'"
        case let .tensorNotInIndex(index, tensor, shard):
            return "\(index): shard '\(shard)' contains tensor '\(tensor)', which the weight_map does not list"
        case let .duplicateTensor(file, tensor):
            return "\(file): tensor '\(tensor)' appears twice"
        case let .emptyTensorName(position):
            return "tensor #\(position) has an empty name; every tensor needs a name"
        case let .duplicateTensorName(name):
            return "tensor name '\(name)' is used twice; names must be unique"
        case let .payloadSizeMismatch(file, tensor, expected, written):
            return "\(file): tensor '\(tensor)' produced \(written) bytes, expected \(expected)"
        case let .tooManyRecords(count, limit):
            return "\(count) tensors is more than one PyTorch zip file may hold here (\(limit)); write a sharded checkpoint"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
