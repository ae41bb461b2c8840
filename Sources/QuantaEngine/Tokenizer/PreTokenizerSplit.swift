/// Hand-written word splitting, one function per regex, mirroring llama.cpp's src/unicode.cpp
/// `unicode_regex_split_custom_*` step by step so that the pieces are identical, including its
/// behaviour at fragment edges (a position outside [start, end) reads as "no character", flags 0).
///
/// Input: the fragment's scalar values and their `CodepointFlags`; output: the end index of every
/// piece, appended to `ends` (pieces are contiguous, the first starts at `start`).
enum PreTokenizerSplit {
    static func split(kind: PreTokenizerKind, scalars: UnsafeBufferPointer<UInt32>,
                      flags: UnsafeBufferPointer<UInt16>, start: Int, end: Int, into ends: inout [Int]) {
        switch kind {
        case .gpt2:
            gpt2(scalars, flags, start, end, &ends)
        case .llama3:
            llama3(scalars, flags, start, end, maxDigits: 3, &ends)
        case .qwen2:
            llama3(scalars, flags, start, end, maxDigits: 1, &ends)
        case .smollm:
            // llama.cpp runs `\p{N}` first (std::regex on its collapsed text: each number codepoint is one
            // piece, the runs between them are pieces), then the GPT-2 splitter inside each piece.
            var runStart = start
            for position in start ..< end where flags[position] & CodepointFlags.number != 0 {
                if position > runStart { gpt2(scalars, flags, runStart, position, &ends) }
                ends.append(position + 1)
                runStart = position + 1
            }
            if end > runStart { gpt2(scalars, flags, runStart, end, &ends) }
        }
    }

    private static let outOfRange: UInt32 = 0xFFFF_FFFF
    private static let space: UInt32 = 0x20
    private static let apostrophe: UInt32 = 0x27
    private static let carriageReturn: UInt32 = 0x0D
    private static let lineFeed: UInt32 = 0x0A

    /// Reads inside one fragment; outside it there is no character (llama.cpp's OUT_OF_RANGE / flags{}).
    private struct Fragment {
        let scalars: UnsafeBufferPointer<UInt32>
        let flags: UnsafeBufferPointer<UInt16>
        let start: Int
        let end: Int

        @inline(__always) func scalar(_ position: Int) -> UInt32 {
            position >= start && position < end ? scalars[position] : outOfRange
        }

        @inline(__always) func flag(_ position: Int) -> UInt16 {
            position >= start && position < end ? flags[position] : 0
        }

        /// Length of the English contraction at `position` ('s 't 'm 'd 're 've 'll), 0 if none.
        @inline(__always) func contractionLength(at position: Int, caseInsensitive: Bool) -> Int {
            guard scalars[position] == apostrophe, position + 1 < end else { return 0 }
            let next = caseInsensitive ? asciiLower(scalars[position + 1]) : scalars[position + 1]
            if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 } // s t m d
            guard position + 2 < end else { return 0 }
            let after = caseInsensitive ? asciiLower(scalars[position + 2]) : scalars[position + 2]
            if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) // re ve
                || (next == 0x6C && after == 0x6C) { return 3 } // ll
            return 0
        }
    }

    /// llama.cpp lowers with its full Unicode table; no non-ASCII codepoint lowers to one of the
    /// letters tested above (s t m d r e v l), so ASCII lowering gives the same answers.
    @inline(__always) private static func asciiLower(_ value: UInt32) -> UInt32 {
        value >= 0x41 && value <= 0x5A ? value + 0x20 : value
    }

    private static let letterOrNumberOrSpace = CodepointFlags.letter | CodepointFlags.number | CodepointFlags.whitespace

    /// `unicode_regex_split_custom_gpt2`.
    private static func gpt2(_ scalars: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt16>,
                             _ start: Int, _ end: Int, _ ends: inout [Int]) {
        let text = Fragment(scalars: scalars, flags: flags, start: start, end: end)
        var position = start
        @inline(__always) func emit(_ pieceEnd: Int) {
            if pieceEnd > position { ends.append(pieceEnd) }
            position = pieceEnd
        }
        while position < end {
            let current = scalars[position]
            let currentFlags = flags[position]

            let contraction = text.contractionLength(at: position, caseInsensitive: false)
            if contraction > 0 { emit(position + contraction); continue }

            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space is only U+0020.
            let leadingSpace = current == space ? 1 : 0
            var probe = leadingSpace == 1 ? text.flag(position + 1) : currentFlags
            if probe & CodepointFlags.letter != 0 {
                var next = position + leadingSpace
                while probe & CodepointFlags.letter != 0 { next += 1; probe = text.flag(next) }
                emit(next); continue
            }
            if probe & CodepointFlags.number != 0 {
                var next = position + leadingSpace
                while probe & CodepointFlags.number != 0 { next += 1; probe = text.flag(next) }
                emit(next); continue
            }
            if probe & letterOrNumberOrSpace == 0 && probe != 0 {
                var next = position + leadingSpace
                while probe & letterOrNumberOrSpace == 0 && probe != 0 { next += 1; probe = text.flag(next) }
                emit(next); continue
            }

            var whitespaceCount = 0
            while text.flag(position + whitespaceCount) & CodepointFlags.whitespace != 0 { whitespaceCount += 1 }
            // `\s+(?!\S)`: leave the last space to prefix the following word.
            if whitespaceCount > 1 && text.scalar(position + whitespaceCount) != outOfRange {
                emit(position + whitespaceCount - 1); continue
            }
            if whitespaceCount > 0 { emit(position + whitespaceCount); continue }
            emit(position + 1)
        }
    }

    /// `unicode_regex_split_custom_llama3` (maxDigits 3) and `_qwen2` (maxDigits 1).
    private static func llama3(_ scalars: UnsafeBufferPointer<UInt32>, _ flags: UnsafeBufferPointer<UInt16>,
                               _ start: Int, _ end: Int, maxDigits: Int, _ ends: inout [Int]) {
        let text = Fragment(scalars: scalars, flags: flags, start: start, end: end)
        var position = start
        @inline(__always) func emit(_ pieceEnd: Int) {
            if pieceEnd > position { ends.append(pieceEnd) }
            position = pieceEnd
        }
        while position < end {
            let current = scalars[position]
            let currentFlags = flags[position]

            let contraction = text.contractionLength(at: position, caseInsensitive: true)
            if contraction > 0 { emit(position + contraction); continue }

            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !(current == carriageReturn || current == lineFeed || currentFlags & CodepointFlags.number != 0) {
                if currentFlags & CodepointFlags.letter != 0 || text.flag(position + 1) & CodepointFlags.letter != 0 {
                    var next = position + 1
                    while text.flag(next) & CodepointFlags.letter != 0 { next += 1 }
                    emit(next); continue
                }
            }

            // `\p{N}{1,3}` (or `\p{N}`): consecutive digits cut every maxDigits.
            if currentFlags & CodepointFlags.number != 0 {
                var next = position
                var groupStart = position
                while text.flag(next) & CodepointFlags.number != 0 {
                    next += 1
                    if next - groupStart >= maxDigits { emit(next); groupStart = next }
                }
                emit(next); continue
            }

            // ` ?[^\s\p{L}\p{N}]+[\r\n]*` — llama.cpp tests the current flags for "is a character" here.
            var probe = current == space ? text.flag(position + 1) : currentFlags
            if probe & letterOrNumberOrSpace == 0 && currentFlags != 0 {
                var next = position + (current == space ? 1 : 0)
                while probe & letterOrNumberOrSpace == 0 && probe != 0 { next += 1; probe = text.flag(next) }
                var following = text.scalar(next)
                while following == carriageReturn || following == lineFeed { next += 1; following = text.scalar(next) }
                emit(next); continue
            }

            var whitespaceCount = 0
            var lastLineBreakEnd = 0
            while text.flag(position + whitespaceCount) & CodepointFlags.whitespace != 0 {
                let value = text.scalar(position + whitespaceCount)
                if value == carriageReturn || value == lineFeed { lastLineBreakEnd = position + whitespaceCount + 1 }
                whitespaceCount += 1
            }
            // `\s*[\r\n]+`
            if lastLineBreakEnd > 0 { emit(lastLineBreakEnd); continue }
            // `\s+(?!\S)`
            if whitespaceCount > 1 && text.scalar(position + whitespaceCount) != outOfRange {
                emit(position + whitespaceCount - 1); continue
            }
            if whitespaceCount > 0 { emit(position + whitespaceCount); continue }
            emit(position + 1)
        }
    }
}
