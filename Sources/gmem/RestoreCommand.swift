import ArgumentParser
import KVM
import MicroVM

/// `gmem restore FILE [--clones N] [--json]`: resume a snapshot in new VMs.
struct RestoreCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Resume a snapshot in a new VM whose guest_memfd is its own: memory is copied, never rebound.",
        discussion: """
            Each restore creates a new VM, a new guest_memfd per region created by that VM, and copies \
            the saved pages into the new file's shared mapping, checking each chunk's CRC32C. With \
            --clones N, N machines are restored from the one file and run at once. The exit code is 0 \
            when every guest exits with status 0; a bad snapshot gives one line on stderr and exit code 1.
            """
    )

    @Argument(help: "A snapshot file written by gmem run --snapshot.") var file: String
    @Option(
        name: .long,
        help: "How many machines to restore from the snapshot and run at once (1 to \(Snapshot.maximumClones)).")
    var clones: Int = 1
    @Option(
        name: .long,
        help:
            "Wall-clock limit of each restored run in seconds (default 30 per clone per host CPU: clones share the CPUs)."
    )
    var timeout: Double?
    @Flag(name: .long, help: "Print the report as JSON.") var json = false
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        _ = try OptionValues.checked { try RestoreOptions(clones: clones, timeoutSeconds: timeout) }
    }

    func run() throws {
        var options = try OptionValues.checked { try RestoreOptions(clones: clones, timeoutSeconds: timeout) }
        let console = ConsoleLineWriter()
        let live = !json && clones == 1
        options.console = { byte in if live { console.write(byte) } }
        let runs = try attempt("gmem restore") { try Snapshot(path: file).restoreAndRun(clones: clones, options) }
        console.flush()
        let summary = RestoreSummary(file: file, runs: runs)
        if json { try printJSON(summary) } else { emit(summary.formatted()) }
        try failUnless(summary.succeeded, summary.failureLines, command: "gmem restore")
    }
}
