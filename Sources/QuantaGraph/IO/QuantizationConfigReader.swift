import QuantaCore

/// Typed reads of a checkpoint's `quantization_config` with the error naming the file and key:
/// an absent or `null` entry takes the default (when there is one); anything else of the wrong
/// type is an error, never a silent default. Shared by the GPTQ and AWQ importers.
struct QuantizationConfigReader {
    let object: JSONObject
    /// The file the config came from, for error messages.
    let source: String

    private func fail(_ name: String, _ reason: String) -> GraphError {
        GraphError.invalidConfig(path: source, key: "quantization_config.\(name)", reason: reason)
    }

    private func isAbsent(_ name: String) -> Bool {
        guard let entry = object[name] else { return true }
        if case .null = entry { return true }
        return false
    }

    func int(_ name: String, default value: Int?) throws -> Int {
        if let v = object[name]?.intValue { return v }
        if let value, isAbsent(name) { return value }
        throw fail(name, "must be an integer")
    }

    func bool(_ name: String, default value: Bool) throws -> Bool {
        if isAbsent(name) { return value }
        guard let b = object[name]?.boolValue else { throw fail(name, "must be true or false") }
        return b
    }
}
