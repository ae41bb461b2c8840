import Foundation
import Testing

/// `quanta diff`: exit 0 when equal within tolerance, 1 otherwise, naming what differs.
@Suite struct DiffCommandTests {
    static let fixture = "engine/tiny-llama"
    static let changedTensor = "model.layers.1.mlp.down_proj.weight"

    @Test func identicalModelsMatch() throws {
        let path = FixturePaths.fixture(Self.fixture)
        let text = try QuantaCLI.run(["diff", "--quiet", path, path])
        #expect(text.exitCode == 0, "\(text)")
        #expect(text.stdout.hasSuffix("MATCH\n"), "\(text)")
        #expect(!text.stdout.contains("DIFF"), "\(text)")

        let json = try QuantaCLI.run(["diff", "--json", path, path])
        #expect(json.exitCode == 0, "\(json)")
        let report = try json.jsonObject()
        #expect(report["match"] as? Bool == true)
        let rows = try #require(report["tensors"] as? [[String: Any]])
        #expect(rows.count == InspectCommandTests.tinyLlamaTensors)
        for row in rows {
            #expect(row["max_abs_error"] as? Double == 0, "\(row)")
            #expect(row["beyond_tolerance"] as? Int == 0, "\(row)")
        }
    }

    /// One byte flipped in one element of a known tensor (the copy is made from the fixture's
    /// bytes, not by our writer).
    struct Flip: CustomStringConvertible, Sendable {
        var byteInElement: Int
        var mask: UInt8
        var description: String { "byte \(byteInElement) ^ 0x\(String(mask, radix: 16))" }
    }

    /// The lowest mantissa bit (a one-ulp change) and the sign bit.
    static let flips = [Flip(byteInElement: 0, mask: 0x01), Flip(byteInElement: 3, mask: 0x80)]

    /// Copies the fixture directory and flips one byte of element `element` of `changedTensor`.
    /// Returns the copy's folder and the element's value before and after.
    static func modifiedCopy(_ flip: Flip, element: Int, in scratch: String) throws -> (path: String, before: Float, after: Float) {
        let copy = scratch + "/modified"
        try TestFiles.copy(FixturePaths.fixture(fixture), to: copy)
        let file = copy + "/model.safetensors"
        let layout = try SafetensorsLayout(path: file)
        let entry = try #require(layout.tensors[changedTensor])
        try #require(entry.dtype == "F32" && (element + 1) * 4 <= entry.end - entry.begin)
        var bytes = try TestFiles.bytes(file)
        let elementOffset = layout.dataStart + entry.begin + element * 4
        let before = TestFiles.float32(bytes, at: elementOffset)
        bytes[bytes.startIndex + elementOffset + flip.byteInElement] ^= flip.mask
        let after = TestFiles.float32(bytes, at: elementOffset)
        try #require(before.isFinite && after.isFinite && before != after && before != 0)
        try TestFiles.write(bytes, to: file)
        return (copy, before, after)
    }

    @Test(arguments: flips)
    func oneChangedValueIsFoundAndNamed(_ flip: Flip) throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-diff")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let original = FixturePaths.fixture(Self.fixture)
        let (modified, before, after) = try Self.modifiedCopy(flip, element: 37, in: scratch)
        let delta = abs(Double(after) - Double(before))

        let text = try QuantaCLI.run(["diff", "--quiet", modified, original])
        #expect(text.exitCode == 1, "\(text)")
        let differing = text.stdout.split(separator: "\n").filter { $0.hasPrefix("DIFF") }
        #expect(differing.count == 1, "\(text)")
        #expect(differing.first?.contains(" \(Self.changedTensor) ") == true, "\(text)")
        #expect(differing.first?.contains("(1 beyond tolerance)") == true, "\(text)")
        #expect(text.stdout.hasSuffix("DIFFER\n"), "\(text)")

        let json = try QuantaCLI.run(["diff", "--json", modified, original])
        #expect(json.exitCode == 1, "\(json)")
        let report = try json.jsonObject()
        #expect(report["match"] as? Bool == false)
        for row in try #require(report["tensors"] as? [[String: Any]]) {
            let name = row["name"] as? String
            if name == Self.changedTensor {
                #expect(row["beyond_tolerance"] as? Int == 1, "\(row)")
                #expect(row["max_abs_error"] as? Double == delta, "\(row)")
            } else {
                #expect(row["max_abs_error"] as? Double == 0, "\(row)")
            }
        }

        // |a − b| ≤ atol passes; just below it does not.
        let atolPass = try QuantaCLI.run(["diff", "--quiet", "--atol", "\(delta)", modified, original])
        #expect(atolPass.exitCode == 0, "\(atolPass)")
        #expect(atolPass.stdout.hasSuffix("MATCH\n"), "\(atolPass)")
        let atolFail = try QuantaCLI.run(["diff", "--quiet", "--atol", "\(delta * 0.5)", modified, original])
        #expect(atolFail.exitCode == 1, "\(atolFail)")
    }

    /// rtol is relative to the second model: a sign flip is |a − b| = 2|b|.
    @Test func relativeToleranceIsMeasuredAgainstTheSecondModel() throws {
        let scratch = try FixturePaths.scratchDirectory("quanta-cli-diff")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let original = FixturePaths.fixture(Self.fixture)
        let (modified, _, _) = try Self.modifiedCopy(Self.flips[1], element: 5, in: scratch)
        let tight = try QuantaCLI.run(["diff", "--quiet", "--rtol", "1.9", modified, original])
        #expect(tight.exitCode == 1, "\(tight)")
        let loose = try QuantaCLI.run(["diff", "--quiet", "--rtol", "2", modified, original])
        #expect(loose.exitCode == 0, "\(loose)")
    }

    /// Two different models: tensors missing on one side and shape mismatches are named.
    @Test func differentModelsNameMissingTensorsAndShapes() throws {
        let tiny = FixturePaths.fixture(Self.fixture), sharded = FixturePaths.fixture("safetensors/sharded")
        let result = try QuantaCLI.run(["diff", "--quiet", tiny, sharded])
        #expect(result.exitCode == 1, "\(result)")
        // tiny-llama ties its embeddings (no lm_head) and has 3 layers; the sharded one has 2.
        #expect(result.stdout.contains("only in second: lm_head.weight"), "\(result)")
        #expect(result.stdout.contains("only in first:  model.layers.2.mlp.down_proj.weight"), "\(result)")
        #expect(result.stdout.contains("shape mismatch: model.embed_tokens.weight [320, 64] vs [256, 32]"), "\(result)")
    }

    @Test func negativeToleranceIsRefused() throws {
        let path = FixturePaths.fixture(Self.fixture)
        let result = try QuantaCLI.run(["diff", "--quiet", "--atol=-1", path, path])
        #expect(result.exitCode != 0, "\(result)")
        #expect(result.exitedNormally, "\(result)")
        #expect(result.stderr.contains("atol"), "\(result)")
    }
}
