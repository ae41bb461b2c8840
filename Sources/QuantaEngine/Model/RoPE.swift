import Foundation
import QuantaGraph

/// Rotary position embedding tables in Hugging Face's convention (`rotate_half`: dimension i
/// pairs with i + hd/2). Frequencies are computed in f32 as transformers' `_compute_default_rope_parameters`.
public struct RotaryTable: Sendable {
    public let headDimension: Int
    public let cosines: [Float]   // [positions × hd/2]
    public let sines: [Float]

    public init(hyperparameters h: Hyperparameters, positions: Int, frequencyFactors: [Float]? = nil) {
        let half = h.headDimension / 2
        var inverse = [Float](repeating: 0, count: half)
        let base = Float(h.ropeTheta)
        for i in 0 ..< half {
            inverse[i] = 1 / powf(base, Float(2 * i) / Float(h.headDimension))
        }
        switch h.ropeScaling {
        case let .linear(factor)?:
            for i in 0 ..< half { inverse[i] /= Float(factor) }
        case let .llama3(factor, low, high, original)?:
            // transformers `_compute_llama3_parameters`.
            let lowWavelength = Float(original) / Float(low)
            let highWavelength = Float(original) / Float(high)
            for i in 0 ..< half {
                let wavelength = 2 * Float.pi / inverse[i]
                if wavelength > lowWavelength {
                    inverse[i] /= Float(factor)
                } else if wavelength >= highWavelength {
                    let smooth = (Float(original) / wavelength - Float(low)) / (Float(high) - Float(low))
                    inverse[i] = (1 - smooth) * inverse[i] / Float(factor) + smooth * inverse[i]
                }
            }
        default:
            break
        }
        if let factors = frequencyFactors, factors.count == half {
            for i in 0 ..< half { inverse[i] /= factors[i] }
        }
        var cosines = [Float](repeating: 0, count: positions * half)
        var sines = [Float](repeating: 0, count: positions * half)
        for p in 0 ..< positions {
            for i in 0 ..< half {
                let angle = Float(p) * inverse[i]
                cosines[p * half + i] = cosf(angle)
                sines[p * half + i] = sinf(angle)
            }
        }
        headDimension = h.headDimension
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates one head vector in place at `position`.
    @inline(__always)
    public func apply(_ x: UnsafeMutablePointer<Float>, position: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        let half = headDimension / 2
        let c = cos + position * half, s = sin + position * half
        for i in 0 ..< half {
            let a = x[i], b = x[i + half]
            x[i] = a * c[i] - b * s[i]
            x[i + half] = b * c[i] + a * s[i]
        }
    }
}
