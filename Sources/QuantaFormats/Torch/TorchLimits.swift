/// Caps on everything a PyTorch checkpoint declares. A real state dict stays far below each one;
/// a file that reaches one is corrupt or hostile, and the error names the cap.
public enum TorchLimits {
    // MARK: Zip container

    /// End-of-central-directory record: 22 bytes plus a comment of at most 65,535 bytes, so the
    /// record starts within the last 65,557 bytes (PKWARE APPNOTE 4.3.16).
    public static let eocdSearchWindow = 22 + 0xFFFF
    /// Entries in one archive. torch.save writes one per storage plus six records; a million
    /// storages is far beyond any model.
    public static let maxEntries = 1_000_000
    /// A central-directory header is at least 46 bytes (APPNOTE 4.3.12), so a directory of
    /// `n` bytes holds at most `n / 46` entries.
    public static let centralHeaderMinimumSize = 46
    /// Entry names: torch's are `<archive>/data/<key>`; the zip field allows 65,535 bytes.
    public static let maxEntryNameBytes = 4096

    // MARK: Pickle

    /// data.pkl size: a state dict of 100k tensors pickles to about 20 MB.
    public static let maxPickleBytes = 256 << 20
    /// Values created while unpickling (every push). About 30 per tensor in torch's pickles.
    public static let maxValues = 1 << 24
    /// Memo slots and the highest memo index (torch numbers them 0, 1, 2, …).
    public static let maxMemoEntries = 1 << 24
    public static let maxMemoIndex = 1 << 24
    /// Values on the stack at once. SETITEMS batches hold 2,000 (pickle's batch size is 1,000).
    public static let maxStackDepth = 1 << 20
    /// Open MARKs at once: one per nested container being built.
    public static let maxMarkDepth = 1000
    /// Containers inside containers. A state dict nests about six deep.
    public static let maxNestingDepth = 200
    /// Bytes in one string; names are short, but keep room for metadata strings.
    public static let maxStringBytes = 16 << 20
    /// Bytes in the `module` or `name` line of a GLOBAL.
    public static let maxGlobalLineBytes = 1024
    /// Tensor dimensions (torch has no hard cap; 64 is far beyond real tensors).
    public static let maxTensorDimensions = 64

    // MARK: Small records

    /// `version`, `byteorder`, `.format_version` and friends are a few bytes.
    public static let maxSmallRecordBytes = 4096
    /// `pytorch_model.bin.index.json` size.
    public static let maxIndexBytes = 256 << 20
}
