import Testing
@Test func placeholder_QuantaFormatsTests() { #expect(true) }
