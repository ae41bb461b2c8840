import Foundation
import QuantaCore
import QuantaFormats
import QuantaGraph

/// `quanta inspect`: what a model path holds.
public struct InspectReport: Sendable {
    public struct TypeCount: Sendable { public var type: String; public var tensors: Int; public var bytes: Int }
    public struct TensorRow: Sendable { public var name: String; public var type: String; public var shape: [Int]; public var bytes: Int }

    public var path: String
    public var format: ModelFormat
    public var architecture: String
    public var hyperparameters: Hyperparameters?
    public var tensorCount: Int
    public var parameterCount: Int
    public var totalBytes: Int
    public var types: [TypeCount]
    public var metadata: [(key: String, value: String)]
    /// Typed metadata for `--json` (GGUF key/values as numbers, strings, arrays).
    public var metadataJSON: JSONObject
    public var tensors: [TensorRow]

    public func text(listTensors: Bool) -> String {
        var lines = [
            "path:          \(path)",
            "format:        \(format.rawValue)",
            "architecture:  \(architecture)",
            "tensors:       \(tensorCount)",
            "parameters:    \(parameterCount) (\(ProgressReporter.human(Double(parameterCount), "")))".replacingOccurrences(of: " )", with: ")"),
            "bytes:         \(totalBytes) (\(ProgressReporter.human(Double(totalBytes), "B")))",
        ]
        if let h = hyperparameters {
            lines.append("hyperparameters: layers \(h.layerCount), hidden \(h.hiddenSize), ffn \(h.intermediateSize), heads \(h.headCount)/\(h.kvHeadCount) kv, head dim \(h.headDimension), vocab \(h.vocabSize), context \(h.contextLength), rope θ \(h.ropeTheta), rms ε \(h.rmsNormEpsilon), tied embeddings \(h.tieWordEmbeddings)")
        }
        lines.append("types:")
        for t in types {
            lines.append("  \(t.type.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(t.tensors).leftPad(6)) tensors  \(ProgressReporter.human(Double(t.bytes), "B"))")
        }
        if !metadata.isEmpty {
            lines.append("metadata:")
            for (key, value) in metadata {
                let shown = value.count > 120 ? String(value.prefix(117)) + "…" : value
                lines.append("  \(key) = \(shown.replacingOccurrences(of: "\n", with: "\\n"))")
            }
        }
        if listTensors {
            lines.append("tensors:")
            for t in tensors {
                lines.append("  \(t.name)  \(t.type)  \(t.shape)  \(t.bytes) B")
            }
        }
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        var object = JSONObject([
            ("path", .string(path)), ("format", .string(format.rawValue)), ("architecture", .string(architecture)),
            ("tensor_count", .int(Int64(tensorCount))), ("parameter_count", .int(Int64(parameterCount))),
            ("bytes", .int(Int64(totalBytes))),
            ("types", .array(types.map { .object(JSONObject([("type", .string($0.type)), ("tensors", .int(Int64($0.tensors))), ("bytes", .int(Int64($0.bytes)))])) })),
            ("metadata", .object(metadataJSON)),
        ])
        object["tensors"] = .array(tensors.map {
            .object(JSONObject([("name", .string($0.name)), ("type", .string($0.type)),
                                ("shape", .array($0.shape.map { .int(Int64($0)) })), ("bytes", .int(Int64($0.bytes)))]))
        })
        return JSONWriter.pretty(.object(object))
    }
}

public enum Inspector {
    public static func inspect(path: String, format: ModelFormat? = nil) throws -> InspectReport {
        let resolved = try format ?? ModelFormat.detect(path: path)
        let graph = try ModelLoader.load(path: path, format: resolved)
        var order: [String] = []
        var counts: [String: (Int, Int)] = [:]
        var rows: [InspectReport.TensorRow] = []
        for tensor in graph.tensors {
            let type = tensor.typeName
            if counts[type] == nil { order.append(type) }
            counts[type, default: (0, 0)].0 += 1
            counts[type, default: (0, 0)].1 += tensor.storedBytes
            rows.append(.init(name: tensor.name, type: type, shape: tensor.shape, bytes: tensor.storedBytes))
        }
        return InspectReport(
            path: path, format: resolved, architecture: graph.architecture.rawValue,
            hyperparameters: graph.hyperparameters, tensorCount: rows.count,
            parameterCount: graph.tensors.reduce(0) { $0 + $1.elementCount },
            totalBytes: rows.reduce(0) { $0 + $1.bytes },
            types: order.map { .init(type: $0, tensors: counts[$0]?.0 ?? 0, bytes: counts[$0]?.1 ?? 0) },
            metadata: metadataText(graph), metadataJSON: metadataJSON(graph), tensors: rows)
    }

    static func metadataText(_ graph: ModelGraph) -> [(key: String, value: String)] {
        guard let gguf = graph.ggufMetadata else { return graph.metadata }
        return gguf.map { ($0.key, GGUFValueJSON.text($0.value)) }
    }

    static func metadataJSON(_ graph: ModelGraph) -> JSONObject {
        guard let gguf = graph.ggufMetadata else { return JSONObject(graph.metadata.map { ($0.key, JSONValue.string($0.value)) }) }
        return JSONObject(gguf.map { ($0.key, GGUFValueJSON.json($0.value)) })
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
