/// Explicit caps on what a GGUF file may declare. Every count and length is also checked against
/// the bytes left in the file before anything is allocated; these caps stop absurd but "fitting"
/// values and name the rule in the error. llama.cpp (ggml/src/gguf.cpp) has no caps of its own for
/// most of these: it relies on catching `bad_alloc` and on `fread` failing.
public enum GGUFLimits {
    /// Versions we read. v1 (u32 counts) was dropped by llama.cpp ("GGUFv1 is no longer supported");
    /// v2 and v3 share one little-endian layout (v3 only "Adds big-endian support", docs/gguf.md).
    public static let supportedVersions: ClosedRange<UInt32> = 2 ... 3

    /// Version we write (gguf-py `GGUF_VERSION`).
    public static let writtenVersion: UInt32 = 3

    /// `general.alignment` when the key is absent (gguf-py `GGUF_DEFAULT_ALIGNMENT`).
    public static let defaultAlignment = 32

    /// Metadata keys: docs/gguf.md says a key "must be at most 2^16-1 (65535) bytes long".
    public static let maxKeyBytes = 65_535

    /// String values. The largest real ones are `tokenizer.huggingface.json` (tens of MB for a
    /// 250k vocabulary) and chat templates; 256 MiB leaves room and stops a length near 2^64.
    public static let maxStringBytes = 256 << 20

    /// Tensor names: llama.cpp rejects `name.length() >= GGML_MAX_NAME` (64) when loading, so a
    /// longer name could never load there; we refuse it when reading and when writing.
    public static let maxTensorNameBytes = 63

    /// Elements in one metadata array. Vocabularies reach ~260k tokens and ~500k merges;
    /// 2^26 is two orders of magnitude above that.
    public static let maxArrayElements = 1 << 26

    /// Arrays of arrays of …: llama.cpp refuses nested arrays outright, gguf-py writes them;
    /// we accept a few levels and stop the recursion there.
    public static let maxArrayNestingDepth = 8

    /// Key/value pairs in the header (real models carry 30–60).
    public static let maxMetadataCount = 1 << 20

    /// Tensors in one file (the largest MoE GGUFs hold a few thousand).
    public static let maxTensorCount = 1 << 20

    /// ggml tensors have at most GGML_MAX_DIMS = 4 dimensions.
    public static let maxDimensions = 4

    /// Fewest bytes one KV can take: u64 key length + 1 key byte (keys are non-empty) + u32 type + 1 value byte.
    static let minimumMetadataEntryBytes = 8 + 1 + 4 + 1

    /// Fewest bytes one tensor info can take: u64 name length + u32 n_dims + u32 type + u64 offset.
    static let minimumTensorInfoBytes = 8 + 4 + 4 + 8
}
