// libFuzzer target over the scenario language and the model: the parser, the printer and
// every action of the model backend.
//
// Built from source by Scripts/fuzz-scenario.sh with `swiftc -sanitize=fuzzer,address`
// (GmemModel as a module, then the Foundation-free files of GmemConformance that parse,
// print and run scenarios on the model). Every input must parse or be refused with a
// ParseError; every parsed scenario must run on the model to the end and print as text
// that parses back to the same steps. Any crash, trap or hang is a bug; crashers are kept
// in Fuzz/Scenario/regressions/ and replayed by ScenarioPropertyTests.

import GmemModel

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let scenarios = try? ScenarioFormat.parse(text, source: "fuzz") else { return 0 }
    var capabilities = ModelCapabilities.referenceHost
    capabilities.descriptorLimit = 64
    for scenario in scenarios {
        let backend = ModelBackend(capabilities: capabilities)
        for step in scenario.steps { _ = backend.perform(step.action) }
        let printed = ScenarioFormat.text(of: scenario)
        guard let again = try? ScenarioFormat.parse(printed, source: "printed"), again.count == 1 else {
            preconditionFailure("a parsed scenario prints as text that does not parse:\n\(printed)")
        }
        precondition(
            again[0].steps.map(\.action) == scenario.steps.map(\.action), "round trip changed the steps:\n\(printed)")
        precondition(
            again[0].steps.map(\.expected) == scenario.steps.map(\.expected),
            "round trip changed the expectations:\n\(printed)")
    }
    return 0
}
