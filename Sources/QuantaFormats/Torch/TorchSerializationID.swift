/// The `.data/serialization_id` record torch.save (2.15) writes last, reproduced exactly.
///
/// torch's `PyTorchStreamWriter::writeSerializationId` (caffe2/serialize/inline_container.cc) makes
/// 40 decimal digits: 20 for a hash of every record name written so far, combined with
/// `c10::hash_combine` in the iteration order of its `std::unordered_set<std::string>`, then 20 for
/// the CRC-32s of the records' data, combined in write order. The CRCs are picked up by the write
/// callback from every write that starts with the data-descriptor signature `PK\u{7}\u{8}`, so a
/// record whose data itself starts with those four bytes (and is at least 8 long) contributes its
/// bytes 4..<8 too. Records of 0 bytes have no descriptor and contribute nothing.
///
/// Reproducing the name order means reproducing libstdc++: `std::hash<std::string>` is
/// `_Hash_bytes` (MurmurHash2-64A variant, seed 0xc70f6907) and the set is a `_Hashtable` with
/// cached hash codes and `_Prime_rehash_policy` (max load factor 1, growth factor 2, bucket counts
/// from `__prime_list`). Verified against torch 2.15.0 for 0…1,100 storages.
struct TorchSerializationID {
    private var names: [[UInt8]] = []
    private var combinedCRC: UInt64 = 0

    /// Records a written record: its name (without the archive folder) and the data written.
    mutating func add(record name: String, crc32: UInt32, size: Int, firstBytes: [UInt8]) {
        names.append(Array(name.utf8))
        guard size > 0 else { return }
        // The data write itself looks like a descriptor to torch's callback.
        if size >= 8, firstBytes.count >= 8, firstBytes[0] == 0x50, firstBytes[1] == 0x4B, firstBytes[2] == 0x07, firstBytes[3] == 0x08 {
            let fake = UInt32(firstBytes[4]) | UInt32(firstBytes[5]) << 8 | UInt32(firstBytes[6]) << 16 | UInt32(firstBytes[7]) << 24
            combinedCRC = Self.hashCombine(combinedCRC, UInt64(fake))
        }
        combinedCRC = Self.hashCombine(combinedCRC, UInt64(crc32))
    }

    /// The record's 40 ASCII digits.
    func value() throws -> String {
        var table = LibstdcxxStringSet()
        for name in names { try table.insert(name, hash: Self.stdHash(name)) }
        var combinedNames: UInt64 = 0
        for node in table.iterationOrder() { combinedNames = Self.hashCombine(combinedNames, table.hashes[node]) }
        return Self.zeroPadded(combinedNames) + Self.zeroPadded(combinedCRC)
    }

    private static func zeroPadded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    /// `c10::hash_combine` (c10/util/hash.h): seed ^ (value + 0x9e3779b9 + (seed << 6) + (seed >> 2)).
    static func hashCombine(_ seed: UInt64, _ value: UInt64) -> UInt64 {
        seed ^ (value &+ 0x9E37_79B9 &+ (seed << 6) &+ (seed >> 2))
    }

    /// libstdc++ `std::_Hash_bytes(ptr, len, 0xc70f6907)` for 64-bit size_t (libsupc++/hash_bytes.cc).
    static func stdHash(_ bytes: [UInt8]) -> UInt64 {
        let multiplier: UInt64 = (0xC6A4_A793 << 32) &+ 0x5BD1_E995
        func shiftMix(_ v: UInt64) -> UInt64 { v ^ (v >> 47) }
        let length = bytes.count
        var hash = 0xC70F_6907 ^ (UInt64(length) &* multiplier)
        let aligned = length & ~7
        var index = 0
        while index < aligned {
            var data: UInt64 = 0
            for byte in (0 ..< 8).reversed() { data = data << 8 | UInt64(bytes[index + byte]) }
            data = shiftMix(data &* multiplier) &* multiplier
            hash ^= data
            hash = hash &* multiplier
            index += 8
        }
        if length & 7 != 0 {
            var data: UInt64 = 0
            for byte in (aligned ..< length).reversed() { data = data << 8 | UInt64(bytes[byte]) }
            hash ^= data
            hash = hash &* multiplier
        }
        hash = shiftMix(hash) &* multiplier
        return shiftMix(hash)
    }
}

/// The node order of a libstdc++ `std::unordered_set` with unique keys and cached hash codes
/// (bits/hashtable.h `_M_insert_unique_node`, `_M_insert_bucket_begin`, `_M_rehash_aux`;
/// src/c++11/hashtable_c++0x.cc `_Prime_rehash_policy`). Nodes form one singly linked list;
/// a bucket stores the node *before* its first node, `beforeBegin` standing for the list head.
struct LibstdcxxStringSet {
    private(set) var hashes: [UInt64] = []
    private var next: [Int] = []           // node → next node, or -1
    private var buckets: [Int] = [-1]      // bucket → node before its first node (beforeBegin), or -1
    private var head = -1                  // beforeBegin's next
    private var nextResize = 0
    private static let beforeBegin = -2

    var count: Int { hashes.count }

    mutating func insert(_ key: [UInt8], hash: UInt64) throws {
        if let buckets = try needRehash(bucketCount: buckets.count, elements: count, inserting: 1) {
            rehash(buckets)
        }
        let node = hashes.count
        hashes.append(hash)
        next.append(-1)
        let bucket = Int(hash % UInt64(buckets.count))
        let before = buckets[bucket]
        if before != -1 {
            // Bucket not empty: the node becomes its first.
            next[node] = before == Self.beforeBegin ? head : next[before]
            if before == Self.beforeBegin { head = node } else { next[before] = node }
        } else {
            // Empty bucket: the node goes to the front of the whole list.
            next[node] = head
            head = node
            if next[node] != -1 {
                buckets[Int(hashes[next[node]] % UInt64(buckets.count))] = node
            }
            buckets[bucket] = Self.beforeBegin
        }
    }

    func iterationOrder() -> [Int] {
        var order: [Int] = []
        order.reserveCapacity(count)
        var node = head
        while node != -1 {
            order.append(node)
            node = next[node]
        }
        return order
    }

    /// `_Prime_rehash_policy::_M_need_rehash` with max load factor 1.
    private mutating func needRehash(bucketCount: Int, elements: Int, inserting: Int) throws -> Int? {
        guard elements + inserting > nextResize else { return nil }
        let minimumBuckets = max(elements + inserting, nextResize != 0 ? 0 : 11)
        if minimumBuckets >= bucketCount {
            return try nextBucket(max(minimumBuckets + 1, bucketCount * 2))
        }
        nextResize = bucketCount
        return nil
    }

    /// `_Prime_rehash_policy::_M_next_bkt`.
    private mutating func nextBucket(_ n: Int) throws -> Int {
        let fast = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13]
        if n < fast.count {
            if n == 0 { return 1 }
            nextResize = fast[n]
            return fast[n]
        }
        // lower_bound over __prime_list[6 ..< last]
        var low = 6, high = Self.primes.count
        while low < high {
            let middle = (low + high) / 2
            if Self.primes[middle] < n { low = middle + 1 } else { high = middle }
        }
        guard low < Self.primes.count else { throw TorchError.tooManyRecords(count: count, limit: TorchLimits.maxEntries) }
        nextResize = Self.primes[low]
        return Self.primes[low]
    }

    /// `_M_rehash_aux(n, true_type)`: relink every node, in list order, into the new buckets.
    private mutating func rehash(_ bucketCount: Int) {
        var newBuckets = [Int](repeating: -1, count: bucketCount)
        var node = head
        head = -1
        var firstBucket = 0
        while node != -1 {
            let following = next[node]
            let bucket = Int(hashes[node] % UInt64(bucketCount))
            let before = newBuckets[bucket]
            if before == -1 {
                next[node] = head
                head = node
                newBuckets[bucket] = Self.beforeBegin
                if next[node] != -1 { newBuckets[firstBucket] = node }
                firstBucket = bucket
            } else {
                if before == Self.beforeBegin {
                    next[node] = head
                    head = node
                } else {
                    next[node] = next[before]
                    next[before] = node
                }
            }
            node = following
        }
        buckets = newBuckets
    }

    /// libstdc++ `__prime_list` (src/shared/hashtable-aux.cc), the entries below 2^40.
    static let primes: [Int] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103,
        109, 113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359,
        383, 409, 439, 467, 503, 541, 577, 619, 661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381,
        1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703, 5087,
        5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033, 15173, 16411,
        17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481, 49201,
        53201, 57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897, 116731, 126271, 136607,
        147793, 159871, 172933, 187091, 202409, 218971, 236897, 256279, 277261, 299951, 324503, 351061,
        379787, 410857, 444487, 480881, 520241, 562841, 608903, 658753, 712697, 771049, 834181, 902483,
        976369, 1056323, 1142821, 1236397, 1337629, 1447153, 1565659, 1693859, 1832561, 1982627, 2144977,
        2320627, 2510653, 2716249, 2938679, 3179303, 3439651, 3721303, 4026031, 4355707, 4712381, 5098259,
        5515729, 5967347, 6456007, 6984629, 7556579, 8175383, 8844859, 9569143, 10352717, 11200489, 12117689,
        13109983, 14183539, 15345007, 16601593, 17961079, 19431899, 21023161, 22744717, 24607243, 26622317,
        28802401, 31160981, 33712729, 36473443, 39460231, 42691603, 46187573, 49969847, 54061849, 58488943,
        63278561, 68460391, 74066549, 80131819, 86693767, 93793069, 101473717, 109783337, 118773397,
        128499677, 139022417, 150406843, 162723577, 176048909, 190465427, 206062531, 222936881, 241193053,
        260944219, 282312799, 305431229, 330442829, 357502601, 386778277, 418451333, 452718089, 489790921,
        529899637, 573292817, 620239453, 671030513, 725980837, 785430967, 849749479, 919334987, 994618837,
        1076067617, 1164186217, 1259520799, 1362662261, 1474249943, 1594975441, 1725587117, 1866894511,
        2019773507, 2185171673, 2364114217, 2557710269, 2767159799, 2993761039, 3238918481, 3504151727,
        3791104843, 4101556399, 4294967291, 6442450933, 8589934583, 12884901857, 17179869143, 25769803693,
        34359738337, 51539607367, 68719476731, 103079215087, 137438953447, 206158430123, 274877906899,
        412316860387, 549755813881, 824633720731, 1099511627689
    ]
}
