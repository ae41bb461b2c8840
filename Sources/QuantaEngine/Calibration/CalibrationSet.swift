import QuantaCore

/// Calibration windows: `count` random windows of `length` tokens from a tokenized text, as the
/// GPTQ reference samples them (`i = randint(0, len − length − 1)`; `tokens[i ..< i + length]`),
/// with a seeded generator so runs repeat exactly.
public struct CalibrationSet: Sendable {
    public let windows: [[Int32]]
    public let seed: UInt64

    public init(tokens: [Int32], count: Int, length: Int, seed: UInt64 = 0) throws {
        guard count > 0, length > 1 else { throw EngineError.invalidInput("calibration needs at least one window of 2+ tokens") }
        guard tokens.count > length + 1 else {
            throw EngineError.invalidInput("the calibration text has \(tokens.count) tokens; windows of \(length) need more")
        }
        var generator = SplitMix64(seed: seed)
        windows = (0 ..< count).map { _ in
            let start = Int(generator.next() % UInt64(tokens.count - length - 1))
            return Array(tokens[start ..< start + length])
        }
        self.seed = seed
    }
}
