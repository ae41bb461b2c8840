import Testing
@Test func placeholder_quantaCLITests() { #expect(true) }
