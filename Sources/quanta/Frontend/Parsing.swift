import ArgumentParser
import QuantaCore
import QuantaGraph
import QuantaKit
import QuantaFormats

extension ModelFormat: ExpressibleByArgument {}

/// "5GB", "500MB", "2GiB", "1000" → bytes (transformers' spelling).
struct ByteSize: ExpressibleByArgument {
    let bytes: Int
    init?(argument: String) {
        guard let value = try? SafetensorsShards.parseByteSize(argument) else { return nil }
        bytes = value
    }
}

struct FloatDType: ExpressibleByArgument {
    let dtype: DType
    init?(argument: String) {
        guard let d = DType(cliName: argument), [.f32, .f16, .bf16].contains(d) else { return nil }
        dtype = d
    }
    static var allValueStrings: [String] { ["f32", "f16", "bf16"] }
}

extension GGUFOutType: ExpressibleByArgument {}
