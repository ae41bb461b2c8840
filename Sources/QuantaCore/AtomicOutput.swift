import Foundation

/// "Decide, then write": output goes to a hidden temporary sibling of the final path and is
/// renamed into place only when complete. A failed run removes the temporary and leaves any
/// existing output (and always the input) untouched.
public final class AtomicOutput {
    public let finalPath: String
    public let temporaryPath: String
    public let isDirectory: Bool
    private let force: Bool
    private var finished = false

    /// Prepares an output at `path`. Refuses an existing path unless `force`.
    public init(path: String, isDirectory: Bool, force: Bool) throws {
        let manager = FileManager.default
        let url = URL(fileURLWithPath: path).standardizedFileURL
        finalPath = url.path
        if manager.fileExists(atPath: finalPath) && !force { throw CoreError.outputExists(path: finalPath) }
        let parent = url.deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard manager.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw CoreError.io(path: parent, reason: "the output's folder does not exist")
        }
        temporaryPath = parent + "/.\(url.lastPathComponent).quanta-tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        self.isDirectory = isDirectory
        self.force = force
        if isDirectory {
            do { try manager.createDirectory(atPath: temporaryPath, withIntermediateDirectories: false) }
            catch { throw CoreError.io(path: temporaryPath, reason: "cannot create: \(error.localizedDescription)") }
        }
    }

    deinit { if !finished { abort() } }

    /// Path of a file inside the temporary directory output.
    public func path(for name: String) -> String { temporaryPath + "/" + name }

    /// Moves the finished output into place.
    public func commit() throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: finalPath) {
            guard force else { throw CoreError.outputExists(path: finalPath) }
            let trash = temporaryPath + ".old"
            try? manager.moveItem(atPath: finalPath, toPath: trash)
            try rename(temporaryPath, finalPath)
            try? manager.removeItem(atPath: trash)
        } else {
            try rename(temporaryPath, finalPath)
        }
        finished = true
    }

    /// Removes the temporary output.
    public func abort() {
        finished = true
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    private func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw CoreError.io(path: to, reason: "cannot move the finished output into place: \(String(cString: strerror(errno)))")
        }
    }
}
