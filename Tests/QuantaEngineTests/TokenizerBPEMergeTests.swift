import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// The two merge loops (pair rescan for short words, priority queue for long ones) must agree.
@Suite("Tokenizer BPE merge loops")
struct TokenizerBPEMergeTests {
    @Test("Queue merging equals rescanning on long random spans of real text")
    func queueEqualsScan() throws {
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        let table = tokenizer.mergeTable
        let bytes = Array(try TokenizerFixtures.dataText("wikitext-2-raw-test").utf8)
        var generator = SplitMix64(seed: 0x5EED)
        var heap = BPEWordEncoder.HeapState()
        for _ in 0 ..< 300 {
            let length = Int(generator.next() % 400) + 2
            let start = Int(generator.next() % UInt64(bytes.count - length))
            let initial = bytes[start ..< start + length].map { table.byteSymbols[Int($0)] }
            var scanned = initial, queued = initial
            BPEWordEncoder.mergeByScanning(&scanned, table)
            heap.merge(&queued, table)
            #expect(scanned == queued, "span at \(start) length \(length)")
            #expect(scanned.count < initial.count)
        }
    }

    @Test("Words longer than the scan limit encode to the same ids as through the cache-free scan")
    func longWordsThroughEncoder() throws {
        let tokenizer = try TokenizerFixtures.smolFromGGUF()
        let word = String(repeating: "=", count: 200) + String(repeating: "ab", count: 100)
        var encoder = BPEWordEncoder(table: tokenizer.mergeTable)
        var viaEncoder: [Int32] = []
        Array(word.utf8).withUnsafeBufferPointer { encoder.encode($0, into: &viaEncoder) }
        var scanned = word.utf8.map { tokenizer.mergeTable.byteSymbols[Int($0)] }
        BPEWordEncoder.mergeByScanning(&scanned, tokenizer.mergeTable)
        #expect(viaEncoder == scanned)
        #expect(try tokenizer.decode(viaEncoder) == word)
    }
}

