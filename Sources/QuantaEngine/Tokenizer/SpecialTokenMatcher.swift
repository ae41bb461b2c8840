/// A token matched verbatim in the text before pre-tokenization (llama.cpp: CONTROL, USER_DEFINED and
/// UNKNOWN tokens; HF: `added_tokens`).
public struct SpecialToken: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Matched only when the caller asks to parse specials (llama.cpp CONTROL/UNKNOWN, HF `special: true`).
        case control
        /// Always matched (llama.cpp USER_DEFINED, HF `special: false`).
        case userDefined
    }

    public var id: Int32
    public var text: String
    public var kind: Kind
    /// HF `lstrip` / `rstrip`: whitespace on that side is swallowed by the token.
    public var stripLeft: Bool
    public var stripRight: Bool

    public init(id: Int32, text: String, kind: Kind, stripLeft: Bool = false, stripRight: Bool = false) {
        self.id = id
        self.text = text
        self.kind = kind
        self.stripLeft = stripLeft
        self.stripRight = stripRight
    }
}

/// One piece of the input after special-token matching.
enum TextFragment: Equatable {
    case text(Range<Int>)
    case token(Int32)
}

/// llama.cpp's `tokenizer_st_partition`: special tokens are tried longest text first; each one takes its
/// leftmost non-overlapping occurrences that lie wholly inside text no earlier token has taken.
struct SpecialTokenMatcher: Sendable {
    private struct Entry: Sendable {
        let token: SpecialToken
        let bytes: [UInt8]
    }

    private let entries: [Entry]

    init(_ tokens: [SpecialToken]) {
        // Longest first (llama.cpp sorts cache_special_tokens by text size); ties by id so the order is fixed.
        entries = tokens.filter { !$0.text.isEmpty }
            .map { Entry(token: $0, bytes: Array($0.text.utf8)) }
            .sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.token.id < $1.token.id }
    }

    var isEmpty: Bool { entries.isEmpty }

    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [TextFragment] {
        let active = entries.indices.filter { parseSpecial || entries[$0].token.kind == .userDefined }
        guard !active.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(0 ..< text.count)] }

        let occurrences = findOccurrences(of: active, in: text)
        // Taken intervals, sorted by start, each with the token that took it.
        var claims: [(range: Range<Int>, id: Int32)] = []
        for (slot, entryIndex) in active.enumerated() {
            let entry = entries[entryIndex]
            var searchFrom = 0
            for start in occurrences[slot] where start >= searchFrom {
                let end = start + entry.bytes.count
                let insertAt = claims.partitionIndex { $0.range.lowerBound >= end }
                // Free iff the claim just before it ends at or before `start`.
                if insertAt > 0 && claims[insertAt - 1].range.upperBound > start { continue }
                let fragmentStart = insertAt > 0 ? claims[insertAt - 1].range.upperBound : 0
                let fragmentEnd = insertAt < claims.count ? claims[insertAt].range.lowerBound : text.count
                var claimStart = start, claimEnd = end
                if entry.token.stripLeft {
                    while claimStart > fragmentStart && Self.isCSpace(text[claimStart - 1]) { claimStart -= 1 }
                }
                if entry.token.stripRight {
                    while claimEnd < fragmentEnd && Self.isCSpace(text[claimEnd]) { claimEnd += 1 }
                }
                claims.insert((claimStart ..< claimEnd, entry.token.id), at: insertAt)
                searchFrom = claimEnd
            }
        }

        var fragments: [TextFragment] = []
        var cursor = 0
        for claim in claims {
            if claim.range.lowerBound > cursor { fragments.append(.text(cursor ..< claim.range.lowerBound)) }
            fragments.append(.token(claim.id))
            cursor = claim.range.upperBound
        }
        if cursor < text.count { fragments.append(.text(cursor ..< text.count)) }
        return fragments
    }

    /// Every start position (overlapping ones included, ascending) of each active entry, in one pass.
    private func findOccurrences(of active: [Int], in text: UnsafeBufferPointer<UInt8>) -> [[Int]] {
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (slot, entryIndex) in active.enumerated() {
            byFirstByte[Int(entries[entryIndex].bytes[0])].append(slot)
        }
        var occurrences = [[Int]](repeating: [], count: active.count)
        for position in 0 ..< text.count {
            let candidates = byFirstByte[Int(text[position])]
            if candidates.isEmpty { continue }
            for slot in candidates {
                let bytes = entries[active[slot]].bytes
                guard text.count - position >= bytes.count else { continue }
                var matches = true
                for offset in 1 ..< bytes.count where text[position + offset] != bytes[offset] {
                    matches = false
                    break
                }
                if matches { occurrences[slot].append(position) }
            }
        }
        return occurrences
    }

    /// C `isspace` in the "C" locale, which llama.cpp uses for lstrip/rstrip.
    @inline(__always) private static func isCSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}

extension Array {
    /// Index of the first element satisfying `predicate`, for a predicate false then true along the array.
    fileprivate func partitionIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
