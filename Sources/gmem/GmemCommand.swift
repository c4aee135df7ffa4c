import ArgumentParser

/// The entry point: makes the standard descriptors safe (`StandardStreams.prepare`), then
/// parses and runs the command.
@main
enum GmemMain {
    static func main() {
        StandardStreams.prepare()
        GmemCommand.main()
    }
}

/// `gmem`: run, check and explore KVM virtual machines whose RAM is guest_memfd.
struct GmemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gmem",
        abstract: "Run, check and explore KVM virtual machines whose RAM is guest_memfd.",
        discussion: """
            GmemKit boots small guests whose memory is guest_memfd, checks the host kernel's \
            guest_memfd against an executable model of its contract, and explores the design \
            space of guest_memfd's lifetime rules.
            """,
        subcommands: [RunCommand.self, CheckCommand.self, ExploreCommand.self, RulesCommand.self, RestoreCommand.self, SnapshotCommand.self, BenchCommand.self, InfoCommand.self, FuzzCommand.self, SoakCommand.self],
        defaultSubcommand: nil
    )
}
