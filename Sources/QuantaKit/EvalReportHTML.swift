import Foundation
import QuantaCore

/// `quanta eval --report out.html`: one self-contained page (inline CSS and SVG, no scripts or
/// network) with the summary table and a per-chunk PPL plot of the model against its baseline.
extension EvalReport {
    public func html() -> String {
        var rows: [(String, String)] = [
            ("model", model),
            ("protocol", "\(options.evalProtocol.rawValue), ctx \(options.contextLength), \(result.chunkCount) chunks, \(result.tokensScored) tokens scored"),
            ("perplexity", String(format: "%.4f ± %.5f", result.perplexity, result.standardError)),
            ("speed", String(format: "%.1f tokens/s", result.tokensPerSecond)),
        ]
        if let baseline, let c = result.comparison {
            rows += [
                ("baseline", baseline),
                ("baseline perplexity", String(format: "%.4f", c.baselinePerplexity)),
                ("PPL ratio", String(format: "%.4f", c.perplexityRatio)),
                ("KL divergence", String(format: "mean %.6f · median %.6f · p99 %.6f", c.klMean, c.klMedian, c.kl99)),
                ("top-1 agreement", String(format: "%.2f %%", c.top1Agreement * 100)),
                ("RMS Δp", String(format: "%.3f %%", c.rmsDeltaP * 100)),
            ]
        }
        let table = rows.map { "<tr><th>\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }.joined(separator: "\n")
        var series: [(label: String, values: [Double], color: String)] = [("model", result.chunkPerplexity, "#d94f30")]
        if let base = result.baselineChunkPerplexity { series.append(("baseline", base, "#2d6cb5")) }
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>quanta eval — \(Self.escape(model))</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
        table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}
        th{font-weight:600;color:#555}figure{margin:0}figcaption{color:#555;font-size:.9rem}
        </style></head><body>
        <h1>quanta eval</h1>
        <table>
        \(table)
        </table>
        <figure>\(Self.plot(series))<figcaption>Perplexity of each chunk (its own second half, as scored).</figcaption></figure>
        </body></html>
        """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A line chart in SVG: x = chunk, y = PPL.
    static func plot(_ series: [(label: String, values: [Double], color: String)]) -> String {
        let width = 900.0, height = 360.0, left = 56.0, right = 16.0, top = 16.0, bottom = 40.0
        let all = series.flatMap(\.values).filter(\.isFinite)
        guard let low = all.min(), let high = all.max(), let count = series.map(\.values.count).max(), count > 0 else {
            return "<p>no chunks</p>"
        }
        let span = max(high - low, 1e-9)
        let yMin = low - span * 0.05, yMax = high + span * 0.05
        func x(_ i: Int) -> Double { left + (width - left - right) * (count == 1 ? 0.5 : Double(i) / Double(count - 1)) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - (v - yMin) / (yMax - yMin)) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"per-chunk perplexity\">"
        for k in 0 ... 4 {
            let v = yMin + (yMax - yMin) * Double(k) / 4
            svg += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", left, width - right, y(v), y(v))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#666\">%.2f</text>", left - 6, y(v) + 4, v)
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" fill=\"#444\">chunk (1…%d)</text>", (left + width - right) / 2, height - 8, count)
        for (index, s) in series.enumerated() {
            let points = s.values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\" points=\"\(points)\"/>"
            svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"3\" fill=\"%@\"/>", left + 10, top + 8 + Double(index) * 16, s.color)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">%@</text>", left + 28, top + 12 + Double(index) * 16, s.label)
        }
        return svg + "</svg>"
    }
}
