import CQuantaSys
#if canImport(Glibc)
import Glibc
#endif

/// `--threads N`: the engine sizes its loops by the online cores, so a thread limit is applied as
/// an affinity mask — the whole process runs on N of the CPUs it may use.
public enum CPUAffinity {
    /// Limits the process to `count` CPUs; returns how many it kept.
    @discardableResult
    public static func limit(to count: Int) throws -> Int {
        guard count >= 1, count <= Int(Int32.max) else { throw CoreError.io(path: "/proc/self/task", reason: "a thread count must be at least 1, not \(count)") }
        let kept = quanta_limit_cpus(Int32(count))
        guard kept >= 1 else {
            throw CoreError.io(path: "/proc/self/task", reason: "cannot limit the process to \(count) CPUs: \(String(cString: strerror(errno)))")
        }
        return Int(kept)
    }
}
