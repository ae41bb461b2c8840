import Testing
@testable import QuantaCore

@Suite("JSONWriter")
struct JSONWriterTests {
    static let sample = JSONValue.object(JSONObject([
        ("a", .array([.int(1), .int(2)])),
        ("b", .object(JSONObject())),
        ("c", .array([])),
        ("d", .object(JSONObject([
            ("x", .string("é😀\u{7F}\u{01}\"\\/")),
            ("y", .null),
            ("z", .bool(true)),
        ]))),
    ]))

    /// Python: json.dumps(sample, indent=2) (ensure_ascii on by default).
    @Test func prettyMatchesPythonIndent2() {
        let python = "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"x\": \"\\u00e9\\ud83d\\ude00\\u007f\\u0001\\\"\\\\/\",\n    \"y\": null,\n    \"z\": true\n  }\n}"
        #expect(JSONWriter.pretty(Self.sample, indent: 2, asciiOnly: true) == python)
    }

    /// serde_json compact: no spaces, non-ASCII and DEL raw, control characters as \u00xx.
    @Test func compactMatchesSerde() {
        let expected = "{\"a\":[1,2],\"b\":{},\"c\":[],\"d\":{\"x\":\"é😀\u{7F}\\u0001\\\"\\\\/\",\"y\":null,\"z\":true}}"
        #expect(JSONWriter.compact(Self.sample) == expected)
    }

    @Test func controlCharacterEscapes() {
        #expect(JSONWriter.quoted("\u{08}\u{0C}\n\r\t\u{0}\u{1F}") == #""\b\f\n\r\t\u0000\u001f""#)
    }

    @Test func roundTripsThroughParser() throws {
        for text in [JSONWriter.compact(Self.sample), JSONWriter.pretty(Self.sample, indent: 2, asciiOnly: true),
                     JSONWriter.pretty(Self.sample, indent: 4, asciiOnly: false)] {
            #expect(try JSONParser.parse(text, context: "rt") == Self.sample)
        }
    }

    /// Python's float repr (what json.dumps writes).
    @Test(arguments: [
        (1e-05, "1e-05"), (10000.0, "10000.0"), (1e16, "1e+16"), (1e15, "1000000000000000.0"), (0.1, "0.1"),
        (1e22, "1e+22"), (123456789.0, "123456789.0"), (2.5e-7, "2.5e-07"), (1e-4, "0.0001"), (1.0, "1.0"),
        (-0.0, "-0.0"), (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992.0"), (123456789012345680.0, "1.2345678901234568e+17"),
    ])
    func doublesFormatLikePython(_ value: Double, _ python: String) {
        #expect(JSONWriter.formatDouble(value) == python)
    }
}
