import Testing
@testable import QuantaCore
