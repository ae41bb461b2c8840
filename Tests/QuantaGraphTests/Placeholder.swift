import Testing
@Test func placeholder_QuantaGraphTests() { #expect(true) }
