/// Turns one pre-token word (raw bytes) into token ids by applying merges lowest rank first, leftmost
/// first among equal ranks — the order of llama.cpp's `llm_bigram_bpe` queue and of HF's `Word::merge_all`.
/// One encoder per thread: it owns a word cache and scratch buffers.
struct BPEWordEncoder {
    let table: BPEMergeTable
    private var cache: [[UInt8]: [Int32]] = [:]
    private var symbols: [Int32] = []
    private var heapState = HeapState()

    /// Words longer than this use the queue instead of rescanning all pairs after each merge.
    static let linearScanLimit = 48
    /// Stop adding to the cache past this many distinct words (memory stays bounded on huge inputs).
    static let cacheCapacity = 1 << 18

    init(table: BPEMergeTable) {
        self.table = table
    }

    mutating func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        guard !word.isEmpty else { return }
        let key = Array(word)
        if let cached = cache[key] {
            output.append(contentsOf: cached)
            return
        }
        let start = output.count
        if let wholeWords = table.wholeWords, let id = wholeWords[key] {
            output.append(id)
        } else {
            symbols.removeAll(keepingCapacity: true)
            for byte in word { symbols.append(table.byteSymbols[Int(byte)]) }
            if symbols.count <= Self.linearScanLimit {
                Self.mergeByScanning(&symbols, table)
            } else {
                heapState.merge(&symbols, table)
            }
            appendExpanded(symbols, into: &output)
        }
        if cache.count < Self.cacheCapacity { cache[key] = Array(output[start...]) }
    }

    private func appendExpanded(_ symbols: [Int32], into output: inout [Int32]) {
        let vocabularyCount = table.vocabularyCount
        for symbol in symbols {
            if Int(symbol) < vocabularyCount {
                output.append(symbol)
            } else {
                output.append(contentsOf: table.virtualExpansion[Int(symbol) - vocabularyCount])
            }
        }
    }

    /// O(n²) in the word length, no allocation: the usual case (words of a few characters).
    static func mergeByScanning(_ symbols: inout [Int32], _ table: BPEMergeTable) {
        while symbols.count > 1 {
            var bestRank = UInt32.max
            var bestIndex = -1
            var bestResult: Int32 = 0
            for index in 0 ..< symbols.count - 1 {
                if let found = table.merge(symbols[index], symbols[index + 1]), found.rank < bestRank {
                    bestRank = found.rank
                    bestIndex = index
                    bestResult = found.result
                }
            }
            if bestIndex < 0 { return }
            symbols[bestIndex] = bestResult
            symbols.remove(at: bestIndex + 1)
        }
    }

    /// Linked symbols and a min-queue of candidate pairs keyed (rank, left position), as llama.cpp does;
    /// a popped pair is used only if both symbols are still the ones it was made from.
    struct HeapState {
        private struct Candidate {
            var rank: UInt32
            var left: Int32
            var right: Int32
            var leftSymbol: Int32
            var rightSymbol: Int32
            var result: Int32

            @inline(__always) func precedes(_ other: Candidate) -> Bool {
                rank != other.rank ? rank < other.rank : left < other.left
            }
        }

        private var ids: [Int32] = []
        private var previous: [Int32] = []
        private var next: [Int32] = []
        private var heap: [Candidate] = []

        mutating func merge(_ symbols: inout [Int32], _ table: BPEMergeTable) {
            let count = symbols.count
            ids = symbols
            previous = (0 ..< count).map { Int32($0) - 1 }
            next = (0 ..< count).map { $0 + 1 < count ? Int32($0 + 1) : -1 }
            heap.removeAll(keepingCapacity: true)
            for index in 0 ..< count - 1 { push(Int32(index), Int32(index + 1), table) }

            while let top = pop() {
                let left = Int(top.left), right = Int(top.right)
                guard ids[left] == top.leftSymbol, ids[right] == top.rightSymbol, next[left] == top.right else {
                    continue
                }
                ids[left] = top.result
                ids[right] = -1
                next[left] = next[right]
                if next[right] >= 0 { previous[Int(next[right])] = top.left }
                if previous[left] >= 0 { push(previous[left], top.left, table) }
                if next[left] >= 0 { push(top.left, next[left], table) }
            }

            symbols.removeAll(keepingCapacity: true)
            var cursor: Int32 = 0
            while cursor >= 0 {
                symbols.append(ids[Int(cursor)])
                cursor = next[Int(cursor)]
            }
        }

        private mutating func push(_ left: Int32, _ right: Int32, _ table: BPEMergeTable) {
            let leftSymbol = ids[Int(left)], rightSymbol = ids[Int(right)]
            guard let found = table.merge(leftSymbol, rightSymbol) else { return }
            heap.append(Candidate(rank: found.rank, left: left, right: right, leftSymbol: leftSymbol,
                                  rightSymbol: rightSymbol, result: found.result))
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].precedes(heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }

        private mutating func pop() -> Candidate? {
            guard let first = heap.first else { return nil }
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let leftChild = 2 * parent + 1, rightChild = leftChild + 1
                    var smallest = parent
                    if leftChild < heap.count && heap[leftChild].precedes(heap[smallest]) { smallest = leftChild }
                    if rightChild < heap.count && heap[rightChild].precedes(heap[smallest]) { smallest = rightChild }
                    if smallest == parent { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return first
        }
    }
}
