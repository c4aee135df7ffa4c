import ArgumentParser
import Foundation
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
            let inspection: SnapshotInspection
            do {
                inspection = try SnapshotInspection.inspect(path: file)
            } catch {
                throw CommandFailure("gmem snapshot inspect: \(error)")
            }
            if json { try printJSON(inspection) } else { emit(inspection.formatted()) }
        }
    }
}

extension RunCommand {
    /// `gmem run GUEST --snapshot FILE [--snapshot-at exits=N|ms=T]`.
    func runWithSnapshot(_ config: MachineConfig) throws {
        guard let path = snapshot else { throw CommandFailure("gmem run: --snapshot-at needs --snapshot FILE") }
        var trigger = SnapshotTrigger.guestRequest
        if let text = snapshotAt {
            guard let parsed = SnapshotTrigger(parsing: text) else {
                throw CommandFailure(
                    "gmem run: cannot read --snapshot-at '\(text)': use exits=N (N ≥ 1) or ms=T (0 to 86400000)")
            }
            trigger = parsed
        }
        let console = ConsoleWriter()
        let live = !json
        let outcome: SnapshotRunReport
        do {
            outcome = try Machine.run(
                config, snapshotTo: path, at: trigger, console: { byte in if live { console.write(byte) } })
        } catch {
            throw CommandFailure("gmem run: \(error)")
        }
        console.flush()
        if json { try printJSON(outcome) } else { emit(outcome.formatted()) }
        try failUnless(outcome.succeeded, outcome.failureLines, command: "gmem run")
    }
}
