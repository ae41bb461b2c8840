import Foundation
import QuantaCore

extension BPETokenizer {
    /// Token ids of `text`.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS when the tokenizer asks for them (llama.cpp `add_special`).
    ///   - parseSpecial: match control tokens written in the text, e.g. `<|im_start|>` (llama.cpp
    ///     `parse_special`; user-defined tokens are always matched). `llama-perplexity` tokenizes with
    ///     add_special true, parse_special false; `llama-tokenize` parses specials unless
    ///     `--no-parse-special`; HF `tokenizers` always matches its added tokens (use true to compare).
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = false) -> [Int32] {
        var output: [Int32] = []
        if addSpecial, addBOS, let bosTokenID { output.append(bosTokenID) }
        let words = preTokenize(text, parseSpecial: parseSpecial)
        output.append(contentsOf: encodeWords(words))
        if addSpecial, addEOS, let eosTokenID { output.append(eosTokenID) }
        return output
    }

    /// The pre-token words of `text` (raw UTF-8 text, not the byte alphabet), special tokens as their text.
    public func preTokenizedWords(_ text: String, parseSpecial: Bool = false) -> [String] {
        let words = preTokenize(text, parseSpecial: parseSpecial)
        return words.pieces.map { piece in
            if piece.token >= 0 { return vocabulary[Int(piece.token)] }
            return String(decoding: words.bytes[piece.start ..< piece.end], as: UTF8.self)
        }
    }

    /// Below this many bytes the text is encoded on the calling thread.
    static var parallelThreshold: Int { 64 * 1024 }

    func encodeWords(_ words: PreTokenizedText) -> [Int32] {
        let pieces = words.pieces
        let workers = min(Parallel.cores, 16)
        guard workers > 1, words.bytes.count >= Self.parallelThreshold, pieces.count >= 2 * workers else {
            return encodeRange(words, 0 ..< pieces.count)
        }
        // Cut the piece list (never a word) into runs of about equal byte size; words are independent,
        // so the concatenated ids are those of a single pass.
        var bounds = [0]
        let target = max(1, words.bytes.count / workers)
        var accumulated = 0
        for (index, piece) in pieces.enumerated() {
            accumulated += piece.end - piece.start
            if accumulated >= target * bounds.count && bounds.count < workers { bounds.append(index + 1) }
        }
        if bounds.last != pieces.count { bounds.append(pieces.count) }
        let chunkBounds = bounds
        let chunkCount = chunkBounds.count - 1

        let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: chunkCount)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        // Each task writes only its own slot of `results`.
        Parallel.forEach(chunkCount) { chunk in
            results[chunk] = encodeRange(words, chunkBounds[chunk] ..< chunkBounds[chunk + 1])
        }
        var output: [Int32] = []
        output.reserveCapacity(results.reduce(0) { $0 + $1.count })
        for chunk in results { output.append(contentsOf: chunk) }
        return output
    }

    private func encodeRange(_ words: PreTokenizedText, _ range: Range<Int>) -> [Int32] {
        var encoder = BPEWordEncoder(table: mergeTable)
        var output: [Int32] = []
        output.reserveCapacity((range.count * 5) / 4)
        words.bytes.withUnsafeBufferPointer { bytes in
            for index in range {
                let piece = words.pieces[index]
                if piece.token >= 0 {
                    output.append(piece.token)
                } else if let base = bytes.baseAddress {
                    encoder.encode(UnsafeBufferPointer(start: base + piece.start, count: piece.end - piece.start),
                                   into: &output)
                }
            }
        }
        return output
    }
}

/// The input cut into special tokens and pre-token words; words point into `bytes`.
struct PreTokenizedText {
    struct Piece {
        var start: Int
        var end: Int
        /// A special token's id, or -1 for a word `bytes[start ..< end]`.
        var token: Int32
    }

    var bytes: [UInt8]
    var pieces: [Piece]
}

extension BPETokenizer {
    func preTokenize(_ text: String, parseSpecial: Bool) -> PreTokenizedText {
        let original = Array(text.utf8)
        let fragments = original.withUnsafeBufferPointer { specialMatcher.partition($0, parseSpecial: parseSpecial) }
        let rewritesFragments = addPrefixSpace || normalizesToNFC
        var result = PreTokenizedText(bytes: rewritesFragments ? [] : original, pieces: [])
        result.pieces.reserveCapacity(original.count / 4 + 16)
        var scratch = FragmentScratch()
        for fragment in fragments {
            switch fragment {
            case let .token(id):
                result.pieces.append(PreTokenizedText.Piece(start: 0, end: 0, token: id))
            case let .text(range):
                var start = range.lowerBound, end = range.upperBound
                if rewritesFragments {
                    var fragmentText = String(decoding: original[range], as: UTF8.self)
                    if normalizesToNFC { fragmentText = fragmentText.precomposedStringWithCanonicalMapping }
                    if addPrefixSpace && !fragmentText.hasPrefix(" ") { fragmentText = " " + fragmentText }
                    start = result.bytes.count
                    result.bytes.append(contentsOf: fragmentText.utf8)
                    end = result.bytes.count
                }
                result.bytes.withUnsafeBufferPointer { bytes in
                    scratch.split(bytes, start ..< end, kind: preTokenizer, into: &result.pieces)
                }
            }
        }
        return result
    }
}

/// Reused buffers for decoding one fragment to scalars and splitting it.
struct FragmentScratch {
    private var scalars: [UInt32] = []
    private var flags: [UInt16] = []
    private var byteStarts: [Int] = []
    private var ends: [Int] = []

    mutating func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, kind: PreTokenizerKind,
                        into pieces: inout [PreTokenizedText.Piece]) {
        scalars.removeAll(keepingCapacity: true)
        flags.removeAll(keepingCapacity: true)
        byteStarts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        var position = range.lowerBound
        while position < range.upperBound {
            let (value, length) = Self.decodeScalar(bytes, position, range.upperBound)
            scalars.append(value)
            flags.append(CodepointFlags.of(value))
            byteStarts.append(position)
            position += length
        }
        byteStarts.append(range.upperBound)
        let count = scalars.count
        scalars.withUnsafeBufferPointer { scalarBuffer in
            flags.withUnsafeBufferPointer { flagBuffer in
                PreTokenizerSplit.split(kind: kind, scalars: scalarBuffer, flags: flagBuffer, start: 0, end: count,
                                        into: &ends)
            }
        }
        var previous = 0
        for end in ends {
            pieces.append(PreTokenizedText.Piece(start: byteStarts[previous], end: byteStarts[end], token: -1))
            previous = end
        }
    }

    /// One scalar of well-formed UTF-8 (our input comes from a Swift String); a truncated or malformed
    /// sequence reads as U+FFFD over one byte, like llama.cpp's `unicode_cpts_from_utf8`.
    @inline(__always)
    static func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ position: Int, _ end: Int) -> (UInt32, Int) {
        let lead = UInt32(bytes[position])
        if lead < 0x80 { return (lead, 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0
        guard length > 0, end - position >= length else { return (0xFFFD, 1) }
        var value = lead & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1 ..< length {
            let continuation = UInt32(bytes[position + offset])
            guard continuation & 0xC0 == 0x80 else { return (0xFFFD, 1) }
            value = value << 6 | (continuation & 0x3F)
        }
        return (value, length)
    }
}
