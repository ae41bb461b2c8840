// libFuzzer harness for the PyTorch checkpoint reader (built by bench/fuzz-torch.sh; not part of
// the package or of `make test`). The first input byte (mod 3) picks what the rest is:
//   0 → a whole checkpoint file: zip layer, records, unpickler, storages, every tensor view
//       (the ends of each view are read, so a bad range would fault under AddressSanitizer);
//   1 → a data.pkl: the restricted unpickler and the state-dict search;
//   2 → a data.pkl packed into a zip (built here) with 24 storage records `data/0`…`data/23` of 512
//       bytes each, then read as in 0 — mutated shapes, strides and offsets reach the tensor
//       views here (in mode 0 the data.pkl CRC stops most of them).
// Errors are expected; crashes, sanitizer reports and timeouts are findings.
import Foundation
import QuantaCore
@testable import QuantaFormats

/// One scratch file in /dev/shm reused for every input (TorchFile reads through an mmap).
private let scratchPath: String = {
    let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return folder + "/quanta-fuzz-torch-\(getpid()).pt"
}()

private let storageBytes: [UInt8] = (0 ..< 512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

private func writeScratch(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    guard let base = bytes.baseAddress else { return true }
    var offset = 0
    while offset < bytes.count {
        let written = write(fd, base + offset, bytes.count - offset)
        if written <= 0 { return false }
        offset += written
    }
    return true
}

/// A stored zip (classic, no ZIP64) of data.pkl and the fixed records, built in memory.
private func packPickle(_ pickle: UnsafeRawBufferPointer) -> Bool {
    var records: [(String, [UInt8])] = [("fuzz/data.pkl", Array(pickle)), ("fuzz/byteorder", Array("little".utf8))]
    for key in 0 ..< 24 { records.append(("fuzz/data/\(key)", storageBytes)) }
    records.append(("fuzz/version", Array("3\n".utf8)))
    var body: [UInt8] = [], central: [UInt8] = []
    body.reserveCapacity(pickle.count + records.count * 600)
    central.reserveCapacity(records.count * 64)
    func le16(_ v: Int, _ out: inout [UInt8]) { out.append(UInt8(v & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)) }
    func le32(_ v: Int, _ out: inout [UInt8]) { for shift in [0, 8, 16, 24] { out.append(UInt8((v >> shift) & 0xFF)) } }
    for (name, data) in records {
        let crc = data.withUnsafeBytes { Int(ZipCRC32.checksum($0)) }
        let nameBytes = Array(name.utf8)
        let offset = body.count
        le32(0x0403_4B50, &body)
        for _ in 0 ..< 5 { le16(0, &body) }  // version, flags, method, time, date
        le32(crc, &body); le32(data.count, &body); le32(data.count, &body)
        le16(nameBytes.count, &body); le16(0, &body)
        body.append(contentsOf: nameBytes); body.append(contentsOf: data)
        le32(0x0201_4B50, &central)
        for _ in 0 ..< 6 { le16(0, &central) }  // made by, needed, flags, method, time, date
        le32(crc, &central); le32(data.count, &central); le32(data.count, &central)
        le16(nameBytes.count, &central)
        for _ in 0 ..< 4 { le16(0, &central) }  // extra, comment, disk, internal attributes
        le32(0, &central); le32(offset, &central)
        central.append(contentsOf: nameBytes)
    }
    var end: [UInt8] = []
    le32(0x0605_4B50, &end); le16(0, &end); le16(0, &end); le16(records.count, &end); le16(records.count, &end)
    le32(central.count, &end); le32(body.count, &end); le16(0, &end)
    return (body + central + end).withUnsafeBytes { writeScratch($0) }
}

private func readCheckpoint() throws {
    let file = try TorchFile(path: scratchPath)
    var checksum: UInt8 = 0
    for tensor in file.tensors {
        // The first and last byte of the range (a gathered copy reads every source element itself).
        let view = try file.view(of: tensor)
        view.withUnsafeBytes { raw in
            if let first = raw.first, let last = raw.last { checksum &+= first &+ last }
        }
    }
    if checksum == 0xFF && file.tensors.count == 0xFFFF { print("unlikely") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let body = UnsafeRawBufferPointer(start: UnsafeRawPointer(data + 1), count: size - 1)
    switch data[0] % 3 {
    case 0:
        guard writeScratch(body) else { return 0 }
        try? readCheckpoint()
    case 1:
        do {
            let pickle = try TorchUnpickler.parse(body, file: "fuzz")
            _ = try TorchStateDict.entries(of: pickle, file: "fuzz")
        } catch {}
    default:
        guard packPickle(body) else { return 0 }
        try? readCheckpoint()
    }
    return 0
}
