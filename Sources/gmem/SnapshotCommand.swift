import ArgumentParser
import MicroVM

/// `gmem snapshot inspect FILE`: what a snapshot holds, every checksum checked.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Inspect GmemKit snapshots (docs/snapshot-format.md).",
        subcommands: [Inspect.self]
    )

    struct Inspect: LoggedCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every checksum of a snapshot and show what it holds.",
            discussion: "Exit code 0 when the file is a valid snapshot for this host, 1 otherwise (one line on stderr)."
        )

        @Argument(help: "A snapshot file written by gmem run --snapshot.") var file: String
        @Flag(name: .long, help: "Print the contents as JSON.") var json = false
        @OptionGroup var logging: LoggingOptions

        func run() throws {
            let inspection = try attempt("gmem snapshot inspect") { try SnapshotInspection.inspect(path: file) }
            if json { try printJSON(inspection) } else { emit(inspection.formatted()) }
        }
    }
}

extension RunCommand {
    /// `gmem run GUEST --snapshot FILE [--snapshot-at exits=N|ms=T]`.
    func runWithSnapshot(_ config: MachineConfig, console: ConsoleLineWriter) throws {
        guard let path = snapshot else { throw CommandFailure("gmem run: --snapshot-at needs --snapshot FILE") }
        let trigger = try attempt("gmem run") { try SnapshotTrigger(argument: snapshotAt) }
        let live = !json
        let outcome = try attempt("gmem run") {
            try Machine.run(config, snapshotTo: path, at: trigger, console: { byte in if live { console.write(byte) } })
        }
        console.flush()
        if json { try printJSON(outcome) } else { emit(outcome.formatted()) }
        try failUnless(outcome.succeeded, outcome.failureLines, command: "gmem run")
    }
}
