import Testing
@Test func placeholder_QuantaEngineTests() { #expect(true) }
