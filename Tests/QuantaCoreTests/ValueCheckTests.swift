import Foundation
import Testing
@testable import QuantaCore

/// NaN/±Inf and zero counting by bit pattern, and the checks writers run while a payload streams:
/// non-finite values refused (or allowed) by name, casts that overflow to infinity always refused.
@Suite struct ValueCheckTests {
    static func scan(_ values: [Float], as dtype: DType) throws -> ValueStats {
        let view = try TensorView.float32(values, shape: [values.count]).converted(to: dtype)
        return view.withUnsafeBytes { ValueScan.scan($0, dtype: dtype, count: values.count) }
    }

    @Test("NaN, ±Inf and zeros are counted in every float dtype, with the first non-finite index",
          arguments: [DType.f64, .f32, .f16, .bf16, .f8e5m2])
    func countsByBits(dtype: DType) throws {
        let stats = try Self.scan([1, 0, -0.0, .nan, 2, .infinity, -.infinity, 0.5], as: dtype)
        #expect(stats.count == 8)
        #expect(stats.nan == 1)
        #expect(stats.infinite == 2)
        #expect(stats.zeros == 2)
        #expect(stats.firstNonFinite == 3)
        #expect(stats.nonFiniteDescription == "1 NaN and 2 infinite values")
    }

    @Test("E4M3FN has no infinity: only its NaN pattern counts")
    func e4m3() throws {
        let stats = try Self.scan([1, .nan, 0, .infinity], as: .f8e4m3)  // inf saturates to 448
        #expect(stats.nan == 1 && stats.infinite == 0 && stats.zeros == 1 && stats.firstNonFinite == 1)
    }

    @Test("integer tensors have neither non-finite values nor zeros to report")
    func integers() {
        let values: [Int32] = [0, 0, 0]
        let stats = values.withUnsafeBytes { ValueScan.scan($0, dtype: .i32, count: 3) }
        #expect(stats.count == 3 && stats.nonFinite == 0 && !stats.allZero)
    }

    @Test("a run split across cores keeps the first index and every count")
    func parallelRun() {
        var values = [Float](repeating: 0, count: 3 * ValueScan.elementsPerTask + 17)
        values[2 * ValueScan.elementsPerTask + 5] = .nan
        values[3 * ValueScan.elementsPerTask + 1] = -.infinity
        let stats = values.withUnsafeBufferPointer { ValueScan.scan($0) }
        #expect(stats.firstNonFinite == 2 * ValueScan.elementsPerTask + 5)
        #expect(stats.nan == 1 && stats.infinite == 1 && stats.zeros == values.count - 2)
    }

    /// Streams `payload` into memory.
    struct MemorySink: PayloadSink {
        var bytes: [UInt8] = []
        mutating func write(_ data: UnsafeRawBufferPointer) throws { bytes += data }
        mutating func copy(from file: MappedFile, offset: Int, count: Int) throws {
            bytes += try file.bytes(offset: offset, count: count, context: "test")
        }
    }

    static func stream(_ payload: TensorPayload) throws -> [UInt8] {
        var sink = MemorySink()
        try payload.stream(into: &sink)
        return sink.bytes
    }

    @Test("a NaN is refused with the tensor's name, or written as it is when allowed")
    func nonFiniteRefusedOrAllowed() throws {
        let view = try TensorView.float32([1, .nan, 3], shape: [3])
        for payload in [TensorPayload(view: view), try TensorPayload(converting: view, to: .bf16)] {
            #expect {
                _ = try Self.stream(payload.checked(ValueCheck(tensor: "model.norm.weight")))
            } throws: { error in
                guard case let .nonFinite(tensor, stats) = error as? ValueCheckError else { return false }
                return tensor == "model.norm.weight" && stats.nan == 1 && stats.firstNonFinite == 1
                    && "\(error)".contains("--allow-nonfinite")
            }
            let written = try Self.stream(payload.checked(ValueCheck(tensor: "model.norm.weight", nonFinite: .allow)))
            #expect(written.count == payload.byteCount)
        }
        // Unchecked payloads stream as before.
        #expect(try Self.stream(TensorPayload(view: view)).count == 12)
    }

    @Test("a finite f32 that overflows f16 is refused even when non-finite values are allowed; an input infinity is not an overflow")
    func overflowRefused() throws {
        let view = try TensorView.float32([1, 70000, -1e6, 2], shape: [4])
        #expect {
            _ = try Self.stream(try TensorPayload(converting: view, to: .f16).checked(ValueCheck(tensor: "lm_head.weight", nonFinite: .allow)))
        } throws: { error in
            guard case let .overflow(tensor, dtype, count, first, value) = error as? ValueCheckError else { return false }
            return tensor == "lm_head.weight" && dtype == .f16 && count == 2 && first == 1 && value == 70000
        }
        let infinite = try TensorView.float32([1, .infinity], shape: [2])
        let written = try Self.stream(try TensorPayload(converting: infinite, to: .f16).checked(ValueCheck(tensor: "t", nonFinite: .allow)))
        #expect(written == [0x00, 0x3C, 0x00, 0x7C])
        // bf16 keeps f32's range but for the top of it.
        #expect(DTypeConversion.canOverflow(from: .f32, to: .bf16))
        #expect(!DTypeConversion.canOverflow(from: .bf16, to: .f32))
        #expect(!DTypeConversion.canOverflow(from: .f16, to: .bf16))
        #expect(!DTypeConversion.canOverflow(from: .f32, to: .f8e4m3))  // saturates
    }
}
