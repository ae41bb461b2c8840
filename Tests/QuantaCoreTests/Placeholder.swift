import Testing
@Test func placeholder_QuantaCoreTests() { #expect(true) }
