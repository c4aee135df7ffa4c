/// The built-in scenarios: every rule of GMEM-SPEC, written in the scenario language itself
/// (so the language provably covers every operation the catalogue needs).
public enum Catalogue {
    /// Every built-in scenario, parsed.
    public static let scenarios: [Scenario] = {
        var all: [Scenario] = []
        for (name, text) in [
            ("creation and files", creationAndFiles), ("mappings and bindings", mappingsAndBindings),
            ("lifetime, guest and attributes", lifetimeGuestAndAttributes),
            ("objects and accesses", objectsAndAccesses),
        ] {
            do {
                all += try ScenarioFormat.parse(text, source: "catalogue: \(name)")
            } catch {
                preconditionFailure("the built-in catalogue does not parse (\(name)): \(error)")
            }
        }
        return all
    }()

    /// The GMEM-SPEC rule ids the catalogue cites, sorted.
    public static var coveredRules: [String] {
        Set(scenarios.flatMap(\.rules)).sorted()
    }
}
