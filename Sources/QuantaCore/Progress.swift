#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How progress is reported: a bar on a terminal, JSON lines for machines, or nothing.
public enum ProgressMode: Sendable {
    case automatic   // a bar when stderr is a TTY and the work takes over about a second
    case quiet
    case json
}

/// Process-wide default, set once by the CLI from `--quiet` / `--json`.
public enum ProgressSettings {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var storedMode: ProgressMode = .automatic
    public static var mode: ProgressMode {
        get { lock.lock(); defer { lock.unlock() }; return storedMode }
        set { lock.lock(); storedMode = newValue; lock.unlock() }
    }
}

/// A progress reporter for one piece of work measured in units (bytes, tokens, tensors).
/// Thread-safe: workers may call `advance` concurrently.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let total: Int64
    public let unit: String
    private let mode: ProgressMode
    private let lock = NSLock()
    private var done: Int64 = 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private var drewBar = false
    private let isTTY: Bool

    public init(label: String, total: Int64, unit: String = "B", mode: ProgressMode = ProgressSettings.mode) {
        self.label = label
        self.total = max(total, 0)
        self.unit = unit
        self.mode = mode
        self.isTTY = isatty(STDERR_FILENO) == 1
    }

    public func advance(by amount: Int64) {
        lock.lock()
        defer { lock.unlock() }
        done += amount
        let now = DispatchTime.now().uptimeNanoseconds
        let elapsed = now - start
        switch mode {
        case .quiet:
            return
        case .automatic:
            // Only work that lasts more than about a second earns a bar.
            guard isTTY, elapsed > 1_000_000_000, now - lastDraw > 100_000_000 else { return }
            lastDraw = now
            drawBar(elapsed: elapsed, final: false)
        case .json:
            guard now - lastDraw > 1_000_000_000 else { return }
            lastDraw = now
            emitJSON(event: "progress", elapsed: elapsed)
        }
    }

    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        switch mode {
        case .quiet: return
        case .automatic:
            if drewBar { drawBar(elapsed: elapsed, final: true) }
        case .json:
            emitJSON(event: "done", elapsed: elapsed)
        }
    }

    private func drawBar(elapsed: UInt64, final: Bool) {
        drewBar = true
        let seconds = Double(elapsed) / 1e9
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let width = 28
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 && total > done ? Double(total - done) / rate : 0
        let line = String(format: "\r%@ %@ %3d%% %@/%@ %@/s ETA %@", label, bar, Int(fraction * 100),
                          ProgressReporter.human(Double(done), unit), ProgressReporter.human(Double(total), unit),
                          ProgressReporter.human(rate, unit), ProgressReporter.duration(eta))
        FileHandle.standardError.write(Data((line + "\u{1B}[K" + (final ? "\n" : "")).utf8))
    }

    private func emitJSON(event: String, elapsed: UInt64) {
        let object = JSONObject([
            ("event", .string(event)), ("label", .string(label)), ("done", .int(done)),
            ("total", .int(total)), ("unit", .string(unit)), ("seconds", .double(Double(elapsed) / 1e9)),
        ])
        FileHandle.standardError.write(Data((JSONWriter.compact(.object(object)) + "\n").utf8))
    }

    /// A warning on stderr: "warning: …", or a JSON line `{"event":"warning","message":…}` in JSON mode.
    /// `--quiet` silences progress, not warnings.
    public static func warn(_ message: String) {
        let line: String
        if ProgressSettings.mode == .json {
            line = JSONWriter.compact(.object(JSONObject([("event", .string("warning")), ("message", .string(message))])))
        } else {
            line = "warning: " + message
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// "1.2 GB", "850 tok" — decimal units as `du -h --si` and transformers' shard sizes.
    public static func human(_ value: Double, _ unit: String) -> String {
        guard unit == "B" else {
            if value >= 1e6 { return String(format: "%.1fM %@", value / 1e6, unit) }
            if value >= 1e4 { return String(format: "%.1fk %@", value / 1e3, unit) }
            return String(format: "%.0f %@", value, unit)
        }
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = value
        var i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? String(format: "%.0f B", v) : String(format: "%.1f %@", v, units[i])
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.0fs", seconds) }
        if seconds < 3600 { return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60) }
        return String(format: "%dh%02dm", Int(seconds) / 3600, (Int(seconds) % 3600) / 60)
    }
}
