import Foundation
import QuantaCore
import QuantaKit
import Testing

/// The goldens of fixtures/make_imatrix.sh: files written by llama.cpp's llama-imatrix (llama-cpp-python
/// 0.3.36 sdist) on a tiny random Llama GGUF made by gguf-py 0.19.0, and what gguf-py reads from them.
enum ImatrixFixtures {
    static func path(_ name: String) -> String { FixturePaths.fixture("imatrix/" + name) }
    static let model = path("tiny-llama-f32.gguf")
    static let text = path("calibration.txt")
    static let gguf = path("tiny.imatrix.gguf")
    static let withOutput = path("tiny-output.imatrix.gguf")
    static let legacy = path("tiny.imatrix.dat")
    static let legacyConverted = path("tiny-from-dat.imatrix.gguf")
    /// llama-imatrix's settings for the files above.
    static let contextLength = 64, chunks = 8

    /// One tensor as gguf-py 0.19.0 reads it (tiny.imatrix.json).
    struct Tensor {
        var name: String
        var type: String
        var ne: [Int]
        var values: [Float]
    }

    struct Dump {
        var keys: [String]
        var datasets: [String]
        var chunkCount: Int
        var chunkSize: Int
        var tensors: [Tensor]
    }

    static func dump() throws -> Dump {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("tiny.imatrix.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let metadata = try #require(root["metadata"] as? [String: [String: Any]])
        func value(_ key: String) throws -> Any { try #require(metadata[key]?["value"]) }
        let tensors = try #require(root["tensors"] as? [[String: Any]]).map { t in
            Tensor(name: try #require(t["name"] as? String), type: try #require(t["type"] as? String),
                   ne: try #require(t["ne"] as? [Int]),
                   values: try #require(t["values"] as? [Double]).map { Float($0) })
        }
        return Dump(keys: try #require(root["keys"] as? [String]), datasets: try #require(try value("imatrix.datasets") as? [String]),
                    chunkCount: try #require(try value("imatrix.chunk_count") as? Int),
                    chunkSize: try #require(try value("imatrix.chunk_size") as? Int), tensors: tensors)
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// The offset just after the first occurrence of `needle` in `haystack`.
    static func offset(after needle: String, in haystack: [UInt8]) throws -> Int {
        let pattern = Array(needle.utf8)
        guard pattern.count <= haystack.count else { throw ImatrixError.invalidInput("pattern longer than file") }
        for start in 0 ... haystack.count - pattern.count where haystack[start ..< start + pattern.count].elementsEqual(pattern) {
            return start + pattern.count
        }
        throw ImatrixError.invalidInput("'\(needle)' not found")
    }

    /// Relative differences |a − b| / |b| of two importance vectors (0 where both are 0).
    static func relativeDifferences(_ a: [Float], _ b: [Float]) -> [Double] {
        zip(a, b).map { x, y in
            let d = abs(Double(x) - Double(y))
            return y == 0 ? (d == 0 ? 0 : .infinity) : d / abs(Double(y))
        }
    }
}
