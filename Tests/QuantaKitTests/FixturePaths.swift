import Foundation

/// Locations of the committed fixtures and of scratch space, found from this source file.
enum FixturePaths {
    /// The repository root (two levels above Tests/<Target>/).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ relative: String) -> String { root.appendingPathComponent("fixtures/" + relative).path }

    /// A fresh empty directory under the system temp folder.
    static func scratchDirectory(_ label: String = "quanta-test") throws -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
