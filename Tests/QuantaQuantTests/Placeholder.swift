import Testing
@Test func placeholder_QuantaQuantTests() { #expect(true) }
