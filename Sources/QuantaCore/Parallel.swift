import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Fork-join loops over the machine's cores. The body may capture raw pointers: each task
/// touches its own indices, which is what makes the unchecked sendability sound.
public enum Parallel {
    /// Online cores.
    public static let cores: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Runs `body(i)` for i in 0..<iterations on all cores and waits.
    public static func forEach(_ iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        if iterations == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let task = escapable
            DispatchQueue.concurrentPerform(iterations: iterations) { task($0) }
        }
    }

    /// Splits 0..<count into one contiguous range per core (none smaller than `minimumPerTask`)
    /// and runs `body(range)` for each.
    public static func forRanges(_ count: Int, minimumPerTask: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let tasks = max(1, min(cores, count / max(1, minimumPerTask)))
        let size = (count + tasks - 1) / tasks
        forEach(tasks) { task in
            let start = task * size
            let end = min(count, start + size)
            if start < end { body(start ..< end) }
        }
    }
}
