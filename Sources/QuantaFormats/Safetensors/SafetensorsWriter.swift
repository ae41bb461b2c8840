import Foundation
import QuantaCore

/// Writes safetensors files byte-identical to `safetensors.torch.save_file` (safetensors 0.8.0).
///
/// What 0.8.0 does (Rust `tensor::prepare`, checked against the library):
/// - tensors are laid out sorted by dtype, descending in the `Dtype` enum order
///   (I64, F64, F32, I32, BF16, F16, I16, F8_E4M3, F8_E5M2, I8, U8, BOOL for ours), then by name
///   compared byte-wise (Rust `str` ordering); the caller's order does not matter;
/// - the header is compact serde_json: `__metadata__` first when given (even if empty), then the
///   tensors in layout order, each `{"dtype":…,"shape":[…],"data_offsets":[b,e]}`; strings escape
///   only `"`, `\` and control characters (`\b \t \n \f \r`, else `\u00xx`), non-ASCII stays UTF-8;
/// - the header is padded with spaces to a multiple of 8 bytes.
/// 0.8.0 writes `__metadata__` in hash-map order, which changes from run to run; we keep the
/// caller's order (same bytes whenever the metadata has at most one key, or the orders agree).
public enum SafetensorsWriter {
    /// One tensor's place in the file being planned.
    public struct Layout: Sendable {
        /// Header bytes (padded), without the 8-byte length.
        public let header: [UInt8]
        /// Indices into the caller's tensor list, in file order.
        public let order: [Int]
        /// Total size of the data section.
        public let dataLength: Int
        /// Size of the whole file.
        public var fileSize: Int { SafetensorsHeader.lengthFieldSize + header.count + dataLength }
    }

    /// Plans the file: validates names and metadata, sorts, computes offsets, and serializes
    /// the header. Nothing is written.
    public static func layout(tensors: [(name: String, dtype: DType, shape: [Int], byteCount: Int)],
                              metadata: [(String, String)]?) throws -> Layout {
        try validateNames(tensors.map(\.name))
        if let metadata {
            var seen: Set<String> = []
            for (key, _) in metadata where !seen.insert(key).inserted {
                throw SafetensorsError.duplicateMetadataKey(key: key)
            }
        }
        let order = tensors.indices.sorted { lhs, rhs in
            let left = tensors[lhs], right = tensors[rhs]
            let leftRank = dtypeRank(left.dtype), rightRank = dtypeRank(right.dtype)
            if leftRank != rightRank { return leftRank > rightRank }
            return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
        }
        var json = "{"
        var first = true
        if let metadata {
            json += JSONWriter.quoted(SafetensorsHeader.metadataKey) + ":{"
            json += metadata.map { JSONWriter.quoted($0.0) + ":" + JSONWriter.quoted($0.1) }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for index in order {
            let tensor = tensors[index]
            let needed = try ShapeMath.byteCount(tensor.shape, tensor.dtype, context: "tensor '\(tensor.name)'")
            guard needed == tensor.byteCount else {
                throw SafetensorsError.sizeMismatch(file: "(writing)", tensor: tensor.name, dtype: tensor.dtype,
                                                    shape: tensor.shape, declared: tensor.byteCount, needed: needed)
            }
            let end = try ShapeMath.add(offset, needed, context: "safetensors data section")
            if !first { json += "," }
            first = false
            json += JSONWriter.quoted(tensor.name)
            json += ":{\"dtype\":\"\(tensor.dtype.safetensorsName)\",\"shape\":["
            json += tensor.shape.map(String.init).joined(separator: ",")
            json += "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var header = Array(json.utf8)
        let padded = (header.count + 7) / 8 * 8
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padded - header.count))
        guard header.count <= SafetensorsHeader.maxHeaderLength else {
            throw SafetensorsError.headerTooLargeToWrite(length: header.count, limit: SafetensorsHeader.maxHeaderLength)
        }
        return Layout(header: header, order: order, dataLength: offset)
    }

    /// Writes `tensors` to `path` (created or truncated), streaming each payload. Names and
    /// metadata are validated before the file is created; a failure part-way removes the file.
    /// Callers wanting all-or-nothing output write into an `AtomicOutput` path.
    public static func write(tensors: [(name: String, payload: TensorPayload)], metadata: [(String, String)]?,
                             to path: String, progress: ProgressReporter? = nil) throws {
        let plan = try layout(tensors: tensors.map { ($0.name, $0.payload.dtype, $0.payload.shape, $0.payload.byteCount) },
                              metadata: metadata)
        try write(tensors: tensors, layout: plan, to: path, progress: progress)
    }

    /// Writes a planned file (`plan` made by `layout` from these same tensors).
    static func write(tensors: [(name: String, payload: TensorPayload)], layout plan: Layout,
                      to path: String, progress: ProgressReporter?) throws {
        let output = try OutputFile(creating: path)
        do {
            var length = UInt64(plan.header.count).littleEndian
            try withUnsafeBytes(of: &length) { try output.write($0) }
            try output.write(plan.header)
            for index in plan.order {
                let (name, payload) = tensors[index]
                let before = output.bytesWritten
                try payload.write(to: output)
                let written = output.bytesWritten - before
                guard written == payload.byteCount else {
                    throw SafetensorsError.payloadSizeMismatch(file: path, tensor: name, expected: payload.byteCount, written: written)
                }
                progress?.advance(by: Int64(written))
            }
            guard output.bytesWritten == plan.fileSize else {
                throw SafetensorsError.payloadSizeMismatch(file: path, tensor: "(whole file)", expected: plan.fileSize,
                                                           written: output.bytesWritten)
            }
            try output.close()
        } catch {
            try? output.close()
            unlink(path)
            throw error
        }
    }

    /// Non-empty, unique names.
    static func validateNames(_ names: [String]) throws {
        var seen: Set<String> = []
        seen.reserveCapacity(names.count)
        for (position, name) in names.enumerated() {
            guard !name.isEmpty else { throw SafetensorsError.emptyTensorName(position: position) }
            guard name != SafetensorsHeader.metadataKey else { throw SafetensorsError.reservedTensorName(name: name) }
            // Swift compares canonically equivalent names (é vs e + U+0301) as equal; such pairs
            // are refused too, since no reader keyed by String could tell them apart.
            guard seen.insert(name).inserted else { throw SafetensorsError.duplicateTensorName(name: name) }
        }
    }

    /// Position in huggingface/safetensors' `Dtype` enum (declared in increasing alignment);
    /// the writer sorts by it, descending.
    static func dtypeRank(_ dtype: DType) -> Int {
        switch dtype {
        case .bool: return 0
        case .u8: return 4
        case .i8: return 5
        case .f8e5m2: return 6
        case .f8e4m3: return 7
        case .i16: return 11
        case .f16: return 13
        case .bf16: return 14
        case .i32: return 15
        case .f32: return 17
        case .f64: return 19
        case .i64: return 20
        }
    }
}
