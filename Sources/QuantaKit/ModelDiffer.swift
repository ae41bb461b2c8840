import Dispatch
import QuantaCore
import QuantaGraph
import QuantaQuant

/// Element-wise comparison of two tensors' values.
public struct TensorComparison: Sendable, Equatable {
    public var maxAbsoluteError: Double
    public var rootMeanSquareError: Double
    public var cosineSimilarity: Double
    /// Elements with |a − b| > atol + rtol·|b| (NaN on one side only counts too).
    public var elementsOutOfTolerance: Int

    /// Compares `a` against the reference `b`, splitting the work across cores.
    public static func compare(_ a: [Float], _ b: [Float], atol: Double, rtol: Double) -> TensorComparison {
        let count = min(a.count, b.count)
        let chunk = 1 << 16
        let chunks = max(1, (count + chunk - 1) / chunk)
        struct Partial { var maxAbs = 0.0, sumSq = 0.0, dot = 0.0, normA = 0.0, normB = 0.0, bad = 0 }
        let partials = UnsafeMutableBufferPointer<Partial>.allocate(capacity: chunks)
        partials.initialize(repeating: Partial())
        defer { partials.deallocate() }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let addressA = UInt(bitPattern: pa.baseAddress), addressB = UInt(bitPattern: pb.baseAddress)
                let out = UInt(bitPattern: partials.baseAddress)
                DispatchQueue.concurrentPerform(iterations: chunks) { index in
                    guard let xa = UnsafePointer<Float>(bitPattern: addressA), let xb = UnsafePointer<Float>(bitPattern: addressB),
                          let result = UnsafeMutablePointer<Partial>(bitPattern: out) else { return }
                    var p = Partial()
                    let end = min(count, (index + 1) * chunk)
                    for i in index * chunk ..< end {
                        let va = Double(xa[i]), vb = Double(xb[i])
                        if va.isNaN || vb.isNaN {
                            if !(va.isNaN && vb.isNaN) { p.bad += 1 }
                            continue
                        }
                        let diff = va == vb ? 0 : abs(va - vb)  // equal infinities differ by 0
                        p.maxAbs = max(p.maxAbs, diff)
                        p.sumSq += diff * diff
                        p.dot += va * vb; p.normA += va * va; p.normB += vb * vb
                        if diff > atol + rtol * abs(vb) || (diff.isNaN) { p.bad += 1 }
                    }
                    result[index] = p
                }
            }
        }
        var total = Partial()
        for p in partials {
            total.maxAbs = max(total.maxAbs, p.maxAbs); total.sumSq += p.sumSq; total.dot += p.dot
            total.normA += p.normA; total.normB += p.normB; total.bad += p.bad
        }
        let denominator = (total.normA * total.normB).squareRoot()
        let cosine = denominator > 0 ? total.dot / denominator : (total.normA == total.normB ? 1 : 0)
        return TensorComparison(maxAbsoluteError: total.maxAbs,
                                rootMeanSquareError: count > 0 ? (total.sumSq / Double(count)).squareRoot() : 0,
                                cosineSimilarity: cosine, elementsOutOfTolerance: total.bad)
    }
}

/// `quanta diff`: per tensor, names missing on either side, shape/type mismatches and errors.
public struct DiffReport: Sendable {
    public struct Row: Sendable {
        public var name: String
        public var typeA: String
        public var typeB: String
        public var shape: [Int]
        public var comparison: TensorComparison
        public var passes: Bool { comparison.elementsOutOfTolerance == 0 }
    }

    public var onlyInFirst: [String]
    public var onlyInSecond: [String]
    public var shapeMismatches: [(name: String, first: [Int], second: [Int])]
    public var rows: [Row]
    public var atol: Double
    public var rtol: Double

    public var withinTolerance: Bool {
        onlyInFirst.isEmpty && onlyInSecond.isEmpty && shapeMismatches.isEmpty && rows.allSatisfy(\.passes)
    }

    public func text(showAll: Bool) -> String {
        var lines: [String] = []
        for name in onlyInFirst { lines.append("only in first:  \(name)") }
        for name in onlyInSecond { lines.append("only in second: \(name)") }
        for m in shapeMismatches { lines.append("shape mismatch: \(m.name) \(m.first) vs \(m.second)") }
        for row in rows where showAll || !row.passes {
            let c = row.comparison
            lines.append("\(row.passes ? "ok  " : "DIFF") \(row.name) [\(row.typeA) vs \(row.typeB)] max|Δ| \(fmt(c.maxAbsoluteError)) rmse \(fmt(c.rootMeanSquareError)) cos \(String(format: "%.8f", c.cosineSimilarity))\(row.passes ? "" : " (\(c.elementsOutOfTolerance) beyond tolerance)")")
        }
        let failing = rows.filter { !$0.passes }.count
        lines.append("\(rows.count) tensors compared, \(failing) beyond tolerance (atol \(atol), rtol \(rtol)); \(onlyInFirst.count + onlyInSecond.count) missing, \(shapeMismatches.count) shape mismatches: \(withinTolerance ? "MATCH" : "DIFFER")")
        return lines.joined(separator: "\n")
    }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("match", .bool(withinTolerance)), ("atol", .double(atol)), ("rtol", .double(rtol)),
            ("only_in_first", .array(onlyInFirst.map { .string($0) })),
            ("only_in_second", .array(onlyInSecond.map { .string($0) })),
            ("shape_mismatches", .array(shapeMismatches.map { .string("\($0.name): \($0.first) vs \($0.second)") })),
            ("tensors", .array(rows.map { row in
                .object(JSONObject([
                    ("name", .string(row.name)), ("type_first", .string(row.typeA)), ("type_second", .string(row.typeB)),
                    ("max_abs_error", .double(row.comparison.maxAbsoluteError)),
                    ("rmse", .double(row.comparison.rootMeanSquareError)),
                    ("cosine", .double(row.comparison.cosineSimilarity)),
                    ("beyond_tolerance", .int(Int64(row.comparison.elementsOutOfTolerance))),
                ]))
            })),
        ])))
    }

    private func fmt(_ v: Double) -> String { String(format: "%.3e", v) }
}

public enum ModelDiffer {
    public static func diff(_ first: String, _ second: String, atol: Double, rtol: Double) throws -> DiffReport {
        guard atol >= 0, rtol >= 0 else { throw KitError.invalidOption("--atol and --rtol must be non-negative") }
        let a = try ModelLoader.load(path: first)
        let b = try ModelLoader.load(path: second)
        return try diff(a, b, atol: atol, rtol: rtol)
    }

    public static func diff(_ a: ModelGraph, _ b: ModelGraph, atol: Double, rtol: Double) throws -> DiffReport {
        let tensorsA = a.tensors, tensorsB = b.tensors
        let namesB = Dictionary(tensorsB.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let namesA = Set(tensorsA.map(\.name))
        var report = DiffReport(onlyInFirst: [], onlyInSecond: [], shapeMismatches: [], rows: [], atol: atol, rtol: rtol)
        report.onlyInSecond = tensorsB.map(\.name).filter { !namesA.contains($0) }
        let progress = ProgressReporter(label: "diff", total: Int64(tensorsA.count), unit: "tensors")
        for tensor in tensorsA {
            defer { progress.advance(by: 1) }
            guard let other = namesB[tensor.name] else { report.onlyInFirst.append(tensor.name); continue }
            guard tensor.shape == other.shape else {
                report.shapeMismatches.append((tensor.name, tensor.shape, other.shape)); continue
            }
            let comparison = TensorComparison.compare(try Dequantizer.floats(tensor), try Dequantizer.floats(other), atol: atol, rtol: rtol)
            report.rows.append(.init(name: tensor.name, typeA: tensor.typeName, typeB: other.typeName,
                                     shape: tensor.shape, comparison: comparison))
        }
        progress.finish()
        return report
    }
}
