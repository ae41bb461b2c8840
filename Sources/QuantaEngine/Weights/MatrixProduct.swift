import CQuantaKernels
#if canImport(Glibc)
import Glibc
#endif
import QuantaCore

/// y (+)= x · Wᵀ for any stored weight W [n × k] and activations x [t × k]: the engine's one
/// entry point for linear layers.
///
/// Paths, chosen per call:
/// - f32 storage: sgemm on the stored rows (no copy), columns split across cores;
/// - int8 GEMM (`.ggml` numerics, a type with an int8 form): activations quantized once as ggml
///   quantizes them, then per worker a panel of weight rows unpacked to int8 + block scales,
///   packed, and multiplied by `quanta_i8_gemm`;
/// - BF16 GEMM (`.ggml` numerics, bf16 storage, a CPU with AVX512_BF16): activations rounded to
///   bf16 once, then per worker a panel of stored rows multiplied by `quanta_bf16_gemm`
///   (vdpbf16ps, twice the multiply-adds of an f32 FMA; no decode);
/// - otherwise: activations rounded / fake-quantized to the vec_dot_type under `.ggml` numerics
///   (untouched under `.exact`), then per worker a panel of rows decoded into a cache-sized f32 tile
///   and handed to sgemm.
/// Panels are balanced across cores; a tile holds about max(1 M, 256·k) floats so sgemm's
/// repacking of x stays a few percent of the work.
public enum MatrixProduct {
    /// Whether the int8 GEMM path may be used (QUANTA_INT8_GEMM=0 turns it off, for measurements).
    static let int8Enabled: Bool = {
        guard let value = getenv("QUANTA_INT8_GEMM") else { return true }
        return String(cString: value) != "0"
    }()

    /// Whether the BF16 GEMM runs here (AVX512_BF16; QUANTA_BF16GEMM=0 turns it off).
    static let bf16Enabled: Bool = quanta_bf16_gemm_available() != 0

    public static func multiply(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows t: Int, inputStride: Int,
                                into y: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool,
                                numerics: Numerics, scratch: ProductScratch) {
        let n = w.rows, k = w.columns
        guard t > 0, n > 0, k > 0 else { return }
        Gemm.configure()
        let format = numerics == .ggml ? w.activationFormat : .f32
        if let dense = w.denseFloats {
            sgemmColumns(x, lda: inputStride, dense, t: t, n: n, k: k, into: y, ldc: outputStride, accumulate: accumulate)
            return
        }
        if int8Enabled, numerics == .ggml, let form = w.int8Form, format != .f32, format != .f16, format != .bf16 {
            multiplyInt8(w, form: form, x, rows: t, inputStride: inputStride, format: format, into: y,
                         outputStride: outputStride, accumulate: accumulate, scratch: scratch)
            return
        }
        if numerics == .ggml, format == .bf16, k % 2 == 0, let stored = w.bf16Rows, bf16Enabled {
            multiplyBF16(stored, n: n, k: k, x, rows: t, inputStride: inputStride, into: y, outputStride: outputStride,
                         accumulate: accumulate, scratch: scratch)
            return
        }
        var input = x, lda = inputStride
        if format != .f32 {
            let converted = scratch.activations(count: t * k)
            ActivationConversion.fakeQuantize(x, rows: t, k: k, stride: inputStride, format: format, into: converted, scratch: scratch)
            input = UnsafePointer(converted)
            lda = k
        }
        let plan = PanelPlan(rows: n, columns: k)
        scratch.reserveTiles(workers: plan.workers, bytes: plan.panelRows * k * 4)
        let beta: Float = accumulate ? 1 : 0
        let xAddress = UInt(bitPattern: input), yAddress = UInt(bitPattern: y)
        plan.forEachPanel { worker, start, count in
            guard let x = UnsafePointer<Float>(bitPattern: xAddress), let y = UnsafeMutablePointer<Float>(bitPattern: yAddress) else { return }
            let tile = scratch.tile(worker).assumingMemoryBound(to: Float.self)
            w.decodeRows(start, count, into: tile)
            Gemm.sgemm(transA: false, transB: true, m: t, n: count, k: k, alpha: 1, a: x, lda: lda,
                       b: tile, ldb: k, beta: beta, c: y + start, ldc: outputStride)
        }
    }

    /// sgemm against f32 rows, output columns split across cores in multiples of 16.
    static func sgemmColumns(_ x: UnsafePointer<Float>, lda: Int, _ w: UnsafePointer<Float>, t: Int, n: Int, k: Int,
                             into y: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        let beta: Float = accumulate ? 1 : 0
        let parts = n >= 256 && t * n * k >= 1 << 20 ? Parallel.cores : 1
        let block = ((n + parts - 1) / parts + 15) / 16 * 16
        let xAddress = UInt(bitPattern: x), wAddress = UInt(bitPattern: w), yAddress = UInt(bitPattern: y)
        Parallel.forEach(parts) { part in
            let start = part * block, width = min(block, n - start)
            guard width > 0, let x = UnsafePointer<Float>(bitPattern: xAddress), let w = UnsafePointer<Float>(bitPattern: wAddress),
                  let y = UnsafeMutablePointer<Float>(bitPattern: yAddress) else { return }
            Gemm.sgemm(transA: false, transB: true, m: t, n: width, k: k, alpha: 1, a: x, lda: lda,
                       b: w + start * k, ldb: k, beta: beta, c: y + start, ldc: ldc)
        }
    }

    /// The BF16 path: activations rounded to bf16 once, stored rows multiplied panel by panel.
    static func multiplyBF16(_ stored: BF16Rows, n: Int, k: Int, _ x: UnsafePointer<Float>, rows t: Int, inputStride: Int,
                             into y: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool, scratch: ProductScratch) {
        let xa = scratch.bf16Activations(count: t * k)
        Parallel.forRanges(t, minimumPerTask: 8) { range in
            quanta_to_bf16(x + range.lowerBound * inputStride, range.count, k, inputStride, xa + range.lowerBound * k)
        }
        let plan = PanelPlan(rows: n, columns: k)
        scratch.reserveTiles(workers: plan.workers, bytes: quanta_bf16_scratch_bytes(k))
        let yAddress = UInt(bitPattern: y), xaAddress = UInt(bitPattern: xa), base = UInt(bitPattern: stored.base)
        stored.storedRow.withPointer { rowmap in
            let mapAddress = UInt(bitPattern: rowmap)
            plan.forEachPanel { worker, start, count in
                guard let y = UnsafeMutablePointer<Float>(bitPattern: yAddress), let xa = UnsafePointer<UInt16>(bitPattern: xaAddress),
                      let base = UnsafeRawPointer(bitPattern: base) else { return }
                quanta_bf16_gemm(base, UnsafePointer<Int32>(bitPattern: mapAddress), start, count, k, xa, t, y + start, outputStride,
                                 accumulate ? 1 : 0, scratch.tile(worker))
            }
        }
    }

    /// The int8 path: activations quantized once, weight panels unpacked + packed per worker.
    static func multiplyInt8(_ w: WeightMatrix, form: Int8Form, _ x: UnsafePointer<Float>, rows t: Int, inputStride: Int,
                             format: ActivationFormat, into y: UnsafeMutablePointer<Float>, outputStride: Int, accumulate: Bool,
                             scratch: ProductScratch) {
        let n = w.rows, k = w.columns, bs = form.blockSize, blocks = k / bs
        let (qa, da, sa) = scratch.quantized(count: t * k, blocks: t * blocks)
        ActivationConversion.quantize(x, rows: t, k: k, stride: inputStride, format: format, blockSize: bs, q: qa, d: da, sum: sa)
        let plan = PanelPlan(rows: n, columns: k)
        let panelRows = plan.panelRows
        let unpackBytes = panelRows * k + 2 * panelRows * blocks * 4
        let packedBytes = quanta_i8_packed_size(panelRows, k, Int32(bs), form.hasMin ? 1 : 0)
        let packedOffset = (unpackBytes + 63) / 64 * 64
        scratch.reserveTiles(workers: plan.workers, bytes: packedOffset + packedBytes)
        let yAddress = UInt(bitPattern: y), qaAddress = UInt(bitPattern: qa), daAddress = UInt(bitPattern: da), saAddress = UInt(bitPattern: sa)
        plan.forEachPanel { worker, start, count in
            guard let y = UnsafeMutablePointer<Float>(bitPattern: yAddress), let qa = UnsafePointer<Int8>(bitPattern: qaAddress),
                  let da = UnsafePointer<Float>(bitPattern: daAddress), let sa = UnsafePointer<Int32>(bitPattern: saAddress) else { return }
            let base = scratch.tile(worker)
            let q = base.assumingMemoryBound(to: Int8.self)
            let scale = (base + panelRows * k).assumingMemoryBound(to: Float.self)
            let minimum = scale + panelRows * blocks
            let packed = base + packedOffset
            w.unpackInt8Rows(start, count, q: q, scale: scale, min: minimum)
            quanta_i8_pack(q, scale, form.hasMin ? minimum : nil, count, k, Int32(bs), form.hasMin ? 1 : 0, packed)
            quanta_i8_gemm(packed, count, k, Int32(bs), form.hasMin ? 1 : 0, qa, da, sa, t, y + start, outputStride,
                           accumulate ? 1 : 0)
        }
    }
}

extension Optional where Wrapped == [Int32] {
    /// `body` with the array's storage, or with nil.
    fileprivate func withPointer<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        guard let array = self else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// How a weight's rows are cut into panels for the workers.
struct PanelPlan {
    let rows: Int
    let workers: Int
    let panels: Int
    let panelRows: Int

    init(rows n: Int, columns k: Int) {
        rows = n
        workers = max(1, min(Parallel.cores, (n + 15) / 16))
        // A tile of about max(1 M, 256·k) floats: big enough that sgemm's repacking of the
        // activations is a few percent of the product, small enough for the L2/L3 caches.
        let targetElements = max(1 << 20, 256 * k)
        var count = max(workers, (n * k + targetElements - 1) / targetElements)
        count = (count + workers - 1) / workers * workers
        let rows = ((n + count - 1) / count + 15) / 16 * 16
        panelRows = max(16, rows)
        panels = (n + panelRows - 1) / panelRows
    }

    /// Runs `body(worker, firstRow, rowCount)` for every panel, panels dealt round-robin to the
    /// workers (each worker owns its scratch tile).
    func forEachPanel(_ body: (_ worker: Int, _ start: Int, _ count: Int) -> Void) {
        let n = rows
        Parallel.forEach(workers) { worker in
            var panel = worker
            while panel < panels {
                let start = panel * panelRows
                if start < n { body(worker, start, min(panelRows, n - start)) }
                panel += workers
            }
        }
    }
}
