import CQuantaSys

/// What `quanta --version` prints and what writers record as the producing tool.
public enum BuildInfo {
    public static let version = "0.1.0"

    /// The commit stamped in by `make build` (nil for a plain `swift build`).
    public static var commit: String? {
        let text = String(cString: quanta_build_commit())
        return text.isEmpty ? nil : text
    }

    /// "0.1.0 (commit 1a2b3c4)" or "0.1.0 (commit unknown: built without make)".
    public static var versionLine: String {
        "\(version) (commit \(commit ?? "unknown: built without make"))"
    }
}
