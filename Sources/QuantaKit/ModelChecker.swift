import Foundation
import QuantaCore
import QuantaGraph
import QuantaQuant

/// One thing `quanta inspect --check` found in one tensor.
public struct CheckFinding: Sendable, Equatable {
    public enum Kind: String, Sendable { case nonFinite = "non-finite", allZero = "all-zero", scale }

    public var tensor: String
    public var kind: Kind
    /// What, in words ("1 NaN and 2 infinite values of 4096", "absmax zero in 3 of 128 blocks").
    public var what: String
    public var count: Int
    /// Where the first one is ("element 17", "block 5 (value inf)"), when it is one place.
    public var first: String?

    public var line: String { "\(tensor): \(kind.rawValue): \(what)" + (first.map { " (first at \($0))" } ?? "") }
}

/// What `quanta inspect --check` found in a whole model.
public struct CheckReport: Sendable {
    public var path: String
    public var format: ModelFormat
    public var tensorsChecked: Int
    public var valuesChecked: Int
    public var findings: [CheckFinding]

    public var isClean: Bool { findings.isEmpty }

    public var summary: String {
        let scope = "checked \(tensorsChecked) tensors (\(valuesChecked) values) of \(path)"
        guard !findings.isEmpty else { return scope + ": no findings" }
        let tensors = Set(findings.map(\.tensor)).count
        return scope + ": \(findings.count) finding\(findings.count == 1 ? "" : "s") in \(tensors) tensor\(tensors == 1 ? "" : "s")"
    }

    /// One line per finding, then the summary.
    public func text() -> String { (findings.map(\.line) + [summary]).joined(separator: "\n") }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("path", .string(path)), ("format", .string(format.rawValue)), ("ok", .bool(isClean)),
            ("tensors_checked", .int(Int64(tensorsChecked))), ("values_checked", .int(Int64(valuesChecked))),
            ("findings", .array(findings.map { finding in
                .object(JSONObject([("tensor", .string(finding.tensor)), ("kind", .string(finding.kind.rawValue)),
                                    ("what", .string(finding.what)), ("count", .int(Int64(finding.count))),
                                    ("first", finding.first.map { .string($0) } ?? .null)]))
            })),
        ])))
    }
}

/// `quanta inspect --check`: every tensor of any model the readers know, one at a time (dense
/// bytes scanned where they are mapped, quantized tensors decoded tensor by tensor), for NaN/±Inf
/// values, all-zero float tensors and quantization scales out of range (`QuantizedScaleCheck`).
public enum ModelChecker {
    public static func check(path: String, format: ModelFormat? = nil) throws -> CheckReport {
        let resolved = try format ?? ModelFormat.detect(path: path)
        let graph = try ModelLoader.load(path: path, format: resolved)
        let tensors = graph.tensors
        let progress = ProgressReporter(label: "check", total: Int64(tensors.reduce(0) { $0 + $1.storedBytes }))
        var findings: [CheckFinding] = []
        var values = 0
        for tensor in tensors {
            findings += try check(tensor)
            values += tensor.elementCount
            tensor.releaseSourcePages()
            progress.advance(by: Int64(tensor.storedBytes))
        }
        progress.finish()
        return CheckReport(path: path, format: resolved, tensorsChecked: tensors.count, valuesChecked: values, findings: findings)
    }

    /// The findings of one tensor: its scales first (the cause), then its values (the effect).
    static func check(_ tensor: GraphTensor) throws -> [CheckFinding] {
        var findings: [CheckFinding] = []
        if case let .quantized(q) = tensor.value {
            for scale in try QuantizedScaleCheck.check(q, name: tensor.name) {
                let problem = scale.problem == .huge ? "huge (decodes beyond ±65504)" : scale.problem.rawValue
                findings.append(CheckFinding(
                    tensor: tensor.name, kind: .scale,
                    what: "\(scale.component) \(problem) in \(scale.count) of \(scale.total) \(scale.unit)s",
                    count: scale.count, first: "\(scale.unit) \(scale.firstIndex) (value \(scale.firstValue))"))
            }
        }
        let stats = try TensorValueScan.scan(tensor)
        if stats.nonFinite > 0 {
            findings.append(CheckFinding(tensor: tensor.name, kind: .nonFinite, what: "\(stats.nonFiniteDescription) of \(stats.count)",
                                         count: stats.nonFinite, first: "element \(stats.firstNonFinite ?? 0)"))
        }
        if stats.allZero {
            findings.append(CheckFinding(tensor: tensor.name, kind: .allZero, what: "all \(stats.count) values are zero",
                                         count: stats.count, first: nil))
        }
        return findings
    }
}
