import Foundation
import QuantaCore
import Testing
@testable import QuantaEngine

/// The vectorized exp-based row kernels (CQuantaKernels) against the same maths in f64 with
/// Foundation's exp, over lengths that exercise the vector body and the scalar tail.
@Suite("Elementwise kernels")
struct ElementwiseKernelTests {
    /// Deterministic values in [−scale, scale].
    static func values(_ count: Int, scale: Float, seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed)
        return (0 ..< count).map { _ in (Float(generator.next() >> 40) / Float(1 << 24) * 2 - 1) * scale }
    }

    @Test("softmax equals exp(x − max)/Σ within 1e-5 relative (f32 sums), sums to 1", arguments: [1, 7, 16, 17, 100, 512, 49_152])
    func softmax(count: Int) {
        var x = Self.values(count, scale: 30, seed: UInt64(count))
        let reference: [Double] = {
            let m = Double(x.max()!)
            let e = x.map { Foundation.exp(Double($0) - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }()
        x.withUnsafeMutableBufferPointer { Elementwise.softmax($0.baseAddress!, count: count) }
        var sum = 0.0
        for i in 0 ..< count {
            sum += Double(x[i])
            #expect(abs(Double(x[i]) - reference[i]) <= 1e-5 * reference[i] + 1e-37, "element \(i)")
        }
        #expect(abs(sum - 1) < 1e-5)
    }

    @Test("log-sum-exp equals the f64 computation within 1e-6", arguments: [1, 15, 16, 33, 1024, 1025, 49_152])
    func logSumExp(count: Int) {
        let x = Self.values(count, scale: 20, seed: 7 &+ UInt64(count))
        let m = Double(x.max()!)
        let reference = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
        let value = x.withUnsafeBufferPointer { Elementwise.logSumExp($0.baseAddress!, count: count) }
        #expect(abs(value - reference) < 1e-6)
    }

    @Test("SwiGLU equals g·σ(g)·u within 2e-6 relative, finite at extreme inputs", arguments: [1, 16, 31, 1536])
    func swiglu(count: Int) {
        var gate = Self.values(count, scale: 12, seed: 99 &+ UInt64(count))
        if count > 3 { gate[0] = -200; gate[1] = 200; gate[2] = 0 }
        let up = Self.values(count, scale: 3, seed: 5 &+ UInt64(count))
        let reference = (0 ..< count).map { i -> Double in
            let g = Double(gate[i])
            return g / (1 + Foundation.exp(-g)) * Double(up[i])
        }
        gate.withUnsafeMutableBufferPointer { g in
            up.withUnsafeBufferPointer { Elementwise.swiglu(g.baseAddress!, $0.baseAddress!, count: count) }
        }
        for i in 0 ..< count {
            #expect(gate[i].isFinite)
            #expect(abs(Double(gate[i]) - reference[i]) <= 2e-6 * abs(reference[i]) + 1e-30, "element \(i)")
        }
    }
}
