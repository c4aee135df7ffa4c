import ArgumentParser
import GmemModel

/// `gmem rules`: the guest_memfd contract's rule registry (the source of docs/GMEM-SPEC.md).
struct RulesCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print the guest_memfd contract's rules: id, scope, kernel profiles, statement.",
        discussion: """
            --markdown prints docs/GMEM-SPEC.md exactly (it is generated from this registry); \
            --json prints every field of every rule and profile.
            """
    )

    @Flag(name: .long, help: "Print the registry as JSON (profiles and rules).") var json = false
    @Flag(name: .long, help: "Print the specification as Markdown (docs/GMEM-SPEC.md).") var markdown = false
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if json && markdown { throw ValidationError("--json and --markdown exclude each other") }
    }

    func run() throws {
        let text = json ? RuleDocument.json() : markdown ? RuleDocument.markdown() : RuleDocument.table()
        // emit ends the text with its own newline.
        emit(text.hasSuffix("\n") ? String(text.dropLast()) : text)
    }
}
