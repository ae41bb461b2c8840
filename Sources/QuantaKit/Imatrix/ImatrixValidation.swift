/// The checks every importance matrix passes, whether read from a file or built in memory: what
/// llama-quantize would otherwise trip on later (a size that does not divide into matrices,
/// NaN/Inf — quantize refuses "imatrix contains non-finite value" — or an entry no token reached).
enum ImatrixValidation {
    static func check(_ entry: ImportanceMatrix.Entry, name: String, format: ImportanceMatrix.SourceFormat, path: String) throws {
        func fail(_ reason: String) -> ImatrixError { .entry(path: path, tensor: name, reason: reason) }
        guard !name.isEmpty else { throw fail("the name is empty") }
        guard !entry.counts.isEmpty else { throw fail("it has no counts") }
        guard !entry.sums.isEmpty else { throw fail("it has no values") }
        guard entry.sums.count % entry.counts.count == 0 else {
            throw fail("\(entry.sums.count) values do not split into \(entry.counts.count) matrices of equal width")
        }
        if let bad = entry.counts.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 9.0e18 }) {
            throw fail("count \(bad) is \(shown(entry.counts[bad])); counts are non-negative whole numbers of rows")
        }
        switch format {
        case .gguf:
            // A matrix with count 0 is an expert no token was routed to: llama-quantize uses 1s for it.
            // When every count is 0 the entry carries nothing (llama-imatrix's legacy writer drops it).
            guard entry.counts.contains(where: { $0.rounded(.toNearestOrAwayFromZero) > 0 }) else {
                throw fail("its counts are zero: no token reached this weight, so it has no importance to give")
            }
        case .legacy:
            guard entry.counts.count == 1, entry.counts[0] >= 1 else {
                throw fail("ncall is \(shown(entry.counts.first ?? 0)); it must be at least 1")
            }
        }
        if let bad = entry.sums.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw fail("value \(bad) is \(entry.sums[bad]); sums of squares are finite and non-negative")
        }
    }

    /// A count as a whole number when it is one ("512", not "512.0").
    static func shown(_ count: Double) -> String {
        count.isFinite && count == count.rounded() && abs(count) < 1e15 ? String(Int64(count)) : String(count)
    }

    /// Names in byte order, as `std::sort` of `std::string`s orders them.
    static func sortedNames<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
