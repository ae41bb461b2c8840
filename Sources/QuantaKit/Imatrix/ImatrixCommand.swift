import Dispatch
import Foundation
import QuantaCore

/// What `quanta imatrix` ran and wrote.
public struct ImatrixSummary: Sendable {
    public var model: String
    public var output: String
    public var entries: Int
    public var chunks: Int
    public var chunkSize: Int
    public var seconds: Double

    public var tokensPerSecond: Double { seconds > 0 ? Double(chunks * chunkSize) / seconds : 0 }

    public func text() -> String {
        String(format: "wrote %@: %d entries, %d chunks × %d tokens (%.1f s, %.0f tokens/s)",
               output, entries, chunks, chunkSize, seconds, tokensPerSecond)
    }

    public func json() -> String {
        JSONWriter.pretty(.object(JSONObject([
            ("model", .string(model)), ("output", .string(output)), ("entries", .int(Int64(entries))),
            ("chunks", .int(Int64(chunks))), ("chunk_size", .int(Int64(chunkSize))),
            ("seconds", .double(seconds)), ("tokens_per_second", .double(tokensPerSecond)),
        ])))
    }
}

/// `quanta imatrix`: compute, then write the GGUF imatrix atomically. The output's folder and
/// (without `force`) its absence are checked before the model is run, so a doomed run fails at once
/// and a failed one leaves nothing behind.
public enum ImatrixCommand {
    public static func run(model: String, options: ImatrixOptions, output: String, force: Bool) throws -> ImatrixSummary {
        let start = DispatchTime.now().uptimeNanoseconds
        let atomic = try AtomicOutput(path: output, isDirectory: false, force: force)
        do {
            let matrix = try ImportanceMatrixBuilder.compute(model: model, options: options)
            try ImatrixGGUF.writer(for: matrix).write(to: atomic.temporaryPath)
            try atomic.commit()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return ImatrixSummary(model: model, output: atomic.finalPath, entries: matrix.entries.count,
                                  chunks: matrix.chunkCount, chunkSize: matrix.chunkSize, seconds: seconds)
        } catch {
            atomic.abort()
            throw error
        }
    }
}
