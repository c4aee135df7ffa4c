import ArgumentParser
import KVM

/// `gmem info`: the host's KVM and guest_memfd capabilities, and what GmemKit can do here.
struct InfoCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show this host's KVM and guest_memfd capabilities and what GmemKit can do with them.",
        discussion: "Exits non-zero, with the fix, when /dev/kvm is missing or not accessible."
    )

    @Flag(name: .long, help: "Print the report as JSON (stable keys, documented in README).") var json = false
    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let report = try attempt("gmem info") { try openKVM().report() }
        if json { try printJSON(report) } else { emit(report.formatted()) }
    }

}
