import QuantaCore

/// Text inputs (evaluation, calibration, `tokenize`): mapped and validated as UTF-8 in one place.
enum TextFile {
    /// The UTF-8 text at `path`; `what` names it in the error ("the text", "the calibration text").
    static func read(_ path: String, what: String = "the text") throws -> String {
        let file = try MappedFile(path: path)
        guard let text = String(validating: file.bytes, as: UTF8.self) else {
            throw KitError.invalidOption("\(path): \(what) is not valid UTF-8")
        }
        return text
    }
}
