import Testing
@testable import QuantaCore

@Suite("JSONParser")
struct JSONParserTests {
    func parse(_ text: String, _ options: JSONParser.Options = .init()) throws -> JSONValue {
        try JSONParser.parse(text, context: "test.json", options: options)
    }

    /// The message of the CoreError.json thrown for `text`, or nil when it parses.
    func failure(_ text: String, _ options: JSONParser.Options = .init()) -> (offset: Int, message: String)? {
        do {
            _ = try parse(text, options)
            return nil
        } catch let CoreError.json(context, offset, message) {
            #expect(context == "test.json")
            return (offset, message)
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func escapesDecode() throws {
        let value = try parse(#""q\"b\\s\/ \b\f\n\r\t \u00e9\u4e2d \ud83d\ude00 \u0000""#)
        #expect(value == .string("q\"b\\s/ \u{08}\u{0C}\n\r\t é中 😀 \u{0}"))
    }

    @Test func rawUTF8Passes() throws {
        #expect(try parse("\"café 😀\"") == .string("café 😀"))
    }

    @Test(arguments: [#""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud83d x""#, #""\ud83d\ud83d""#])
    func unpairedSurrogatesFail(_ text: String) {
        let failure = failure(text)
        #expect(failure?.message.contains("surrogate") == true, "\(text) → \(String(describing: failure))")
    }

    @Test(arguments: [#""\x""#, #""\u12""#, #""\u12G4""#, "\"abc", "\"a\u{01}b\"", "\"tab\there\""])
    func badStringsFail(_ text: String) {
        #expect(failure(text) != nil, "\(text) parsed")
    }

    @Test func invalidUTF8Fails() throws {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(throws: CoreError.self) { try JSONParser.parse(bytes, context: "x") }
        let overlong: [UInt8] = [0x22, 0xC0, 0xAF, 0x22]
        #expect(throws: CoreError.self) { try JSONParser.parse(overlong, context: "x") }
    }

    @Test func depthCap() throws {
        var options = JSONParser.Options()
        options.maxDepth = 3
        #expect(try parse("[[[1]]]", options) == .array([.array([.array([.int(1)])])]))
        #expect(failure("[[[[1]]]]", options)?.message.contains("nesting") == true)
        #expect(failure(#"{"a":{"b":{"c":{"d":1}}}}"#, options)?.message.contains("nesting") == true)
        // The default cap stops hostile nesting long before the stack would.
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(failure(deep)?.message.contains("nesting") == true)
    }

    @Test func duplicateKeys() throws {
        let text = #"{"a":1,"b":2,"a":3}"#
        let failure = failure(text)
        #expect(failure?.message.contains("duplicate key \"a\"") == true)
        #expect(failure?.offset == 13)  // the second "a"
        var lenient = JSONParser.Options()
        lenient.rejectDuplicateKeys = false
        let value = try parse(text, lenient)
        #expect(value["a"] == .int(3))
        #expect(value.objectValue?.keys == ["a", "b"])
    }

    @Test func objectKeepsOrder() throws {
        let value = try parse(#" { "z" : 1 , "a" : [ true , false , null ] , "m" : { } } "#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value["a"] == .array([.bool(true), .bool(false), .null]))
        #expect(value["m"] == .object(JSONObject()))
    }

    @Test(arguments: [
        ("0", JSONValue.int(0)), ("-0", .int(0)), ("42", .int(42)), ("-17", .int(-17)),
        ("9223372036854775807", .int(Int64.max)), ("-9223372036854775808", .int(Int64.min)),
        ("9223372036854775808", .double(9223372036854775808.0)), ("1.5", .double(1.5)),
        ("1e3", .double(1000)), ("-2.5E-3", .double(-0.0025)), ("1E+2", .double(100)), ("0.1", .double(0.1)),
    ])
    func numbers(_ text: String, _ expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test(arguments: ["01", "1.", ".5", "+1", "1e", "1e+", "-", "--1", "0x10", "1.2.3", "[1,]", "{\"a\":1,}", "[1 2]"])
    func badNumbersAndSyntaxFail(_ text: String) {
        #expect(failure(text) != nil, "\(text) parsed")
    }

    @Test func trailingDataFails() {
        #expect(failure("{} x")?.message.contains("after the JSON value") == true)
        #expect(failure("{}{}") != nil)
        #expect(failure("") != nil)
        #expect(failure("   ") != nil)
    }

    @Test func errorOffsetPointsAtTheProblem() {
        #expect(failure(#"{"a": tru}"#)?.offset == 6)
        #expect(failure("[1, @]")?.offset == 4)
    }

    @Test func intValueAcceptsOnlyExactIntegers() {
        #expect(JSONValue.double(3.0).intValue == 3)
        #expect(JSONValue.double(3.5).intValue == nil)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.int(7).doubleValue == 7)
    }
}
