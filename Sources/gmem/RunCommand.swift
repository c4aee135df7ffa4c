import ArgumentParser
import GuestImages
import KVM
import MicroVM

/// `gmem run`: boot a guest whose RAM is guest_memfd and report what happened.
struct RunCommand: LoggedCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot a guest whose every byte of RAM is guest_memfd, show its output, and report.",
        discussion: """
            GUEST is a built-in guest (\(GuestCatalog.entries.map(\.name).joined(separator: ", "))) or the path \
            of a static x86-64 ELF64 executable that follows the guest ABI in Guests/README.md. \
            The exit code is 0 when the guest exits with status 0, 1 otherwise.
            """
    )

    @Argument(help: "A built-in guest name or a path to an ELF image.") var guest: String = "hello"
    @Option(name: .long, help: "Guest RAM, e.g. 16M, 64MiB, 1G (a multiple of 2 MiB, 4 MiB to 4 GiB).")
    var memory: String = "16M"
    @Option(name: .long, help: "Number of vCPUs (1 to 64).") var vcpus: Int = 1
    @Option(name: .long, help: "Wall-clock limit in seconds (0.001 to 1000000000).") var timeout: Double = 30
    @Option(
        name: .long, help: "The guest's parameter (pingpong: round trips; touch: passes). Default: the guest's own.")
    var param: UInt32?
    @Option(
        name: .long,
        help:
            "An extra region after RAM, its own guest_memfd and memslot (repeatable), e.g. 2M. The release guest gets one by default."
    )
    var extra: [String] = []
    @Flag(name: .long, help: "Print the report as JSON; the console output is part of it.") var json = false
    @Option(
        name: .customLong("snapshot-at"),
        help: "When to snapshot: exits=N (vCPU 0's Nth exit) or ms=T (T ms into the run); needs --snapshot.")
    var snapshotAt: String?
    @Option(
        name: .long,
        help:
            "Write a snapshot of the running guest to FILE (at --snapshot-at, and whenever the guest asks through port 0x514)."
    )
    var snapshot: String?
    @OptionGroup var logging: LoggingOptions

    /// The options as the library takes them (`MachineRequest` checks every range).
    var request: MachineRequest {
        let entry = GuestCatalog.entry(named: guest)
        var request = MachineRequest(name: entry?.name ?? guest, builtInImage: entry?.image)
        (request.memory, request.vcpus, request.timeoutSeconds, request.parameter) = (memory, vcpus, timeout, param)
        (request.extraRegions, request.builtInNames) = (extra, GuestCatalog.entries.map(\.name))
        if let entry {
            (request.defaultParameter, request.defaultExtraRegions) = (
                entry.defaultParameter, entry.defaultExtraRegions
            )
            request.parameterIsMemoryMiB = entry.parameterIsMemoryMiB
        }
        return request
    }

    /// Every range `MachineRequest.config()` checks, without reading a guest file (an empty
    /// image stands in for one: whether the file is a loadable image is not a usage question).
    func validate() throws {
        var request = self.request
        if request.builtInImage == nil { request.builtInImage = [] }
        _ = try OptionValues.checked { try request.config() }
        _ = try OptionValues.checked { try SnapshotTrigger(argument: snapshotAt) }
        if snapshotAt != nil, snapshot == nil { throw ValidationError("--snapshot-at needs --snapshot FILE") }
    }

    func run() throws {
        let config = try attempt("gmem run") { try request.config() }
        let console = ConsoleLineWriter()
        if snapshot != nil || snapshotAt != nil { return try runWithSnapshot(config, console: console) }
        let live = !json
        let report = try attempt("gmem run") {
            try Machine.run(config, console: { byte in if live { console.write(byte) } })
        }
        console.flush()
        if json { try printJSON(report) } else { emit(report.formatted()) }
        try failUnless(report.succeeded, report.failureLines, command: "gmem run")
    }
}
