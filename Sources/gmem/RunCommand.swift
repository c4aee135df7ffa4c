import ArgumentParser
import Foundation
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

    func run() throws {
        let config = try makeConfig()
        if snapshot != nil || snapshotAt != nil { return try runWithSnapshot(config) }  // SnapshotCommand.swift
        let report: RunReport
        let console = ConsoleWriter()
        let live = !json
        do {
            report = try Machine.run(config, console: { byte in if live { console.write(byte) } })
        } catch {
            if case .kernel(let kernel) = error, kernel.operation == .openDevice {
                throw CommandFailure("gmem: " + KVMHost.describeOpenFailure(kernel.errno, path: "/dev/kvm"))
            }
            throw CommandFailure("gmem run: \(error)")
        }
        console.flush()
        if json { try printJSON(report) } else { emit(report.formatted()) }
        try failUnless(report.succeeded, report.failureLines, command: "gmem run")
    }

    /// The longest `--timeout` (≈ 31.7 years): beyond it a deadline is not a deadline.
    static let maximumTimeout: Double = 1e9

    private func makeConfig() throws -> MachineConfig {
        let catalogEntry = GuestCatalog.entry(named: guest)
        let name = catalogEntry?.name ?? guest
        var parameter: UInt32 = param ?? catalogEntry?.defaultParameter ?? 1
        guard let bytes = parseSize(memory) else {
            throw CommandFailure(
                "gmem run: cannot read memory size '\(memory)': use a number with an optional K, M or G suffix")
        }
        guard timeout.isFinite, timeout >= 0.001, timeout <= Self.maximumTimeout else {
            throw CommandFailure(
                "gmem run: the timeout must be between 0.001 and \(Int(Self.maximumTimeout)) seconds (got \(timeout))")
        }
        var extras: [UInt64] = []
        for text in extra {
            guard let size = parseSize(text) else {
                throw CommandFailure("gmem run: cannot read extra region size '\(text)'")
            }
            extras.append(size)
        }
        if name == "release" {
            // The release guest finds its extra region at the parameter, in MiB.
            if extras.isEmpty { extras = [2 << 20] }
            if param == nil { parameter = UInt32(clamping: bytes >> 20) }
        }
        // At most 1e9 s, so the product is below 2^63 nanoseconds.
        var config = MachineConfig(
            name: name, image: catalogEntry?.image ?? [], memorySize: bytes, vcpus: vcpus,
            timeout: .nanoseconds(Int64(timeout * 1e9)), parameter: parameter)
        config.extraRegions = extras
        config.measuresResidency = true  // the report shows it
        do { try config.validate() } catch { throw CommandFailure("gmem run: \(error)") }
        if catalogEntry == nil {
            // A path: read only the headers and the segments that fit (never the whole file).
            guard FileManager.default.fileExists(atPath: guest) else {
                throw CommandFailure(
                    "gmem run: '\(guest)' is neither a built-in guest (\(GuestCatalog.entries.map(\.name).joined(separator: ", "))) nor a file"
                )
            }
            do {
                config.parsedImage = try ELFImage.load(path: guest, memorySize: bytes, vcpus: vcpus)
            } catch {
                throw CommandFailure("gmem run: \(error)")
            }
        }
        return config
    }

}

/// "16M", "64MiB", "1G", "4096" → bytes.
func parseSize(_ text: String) -> UInt64? {
    let lower = text.lowercased().trimmingCharacters(in: .whitespaces)
    let units: [(String, UInt64)] = [
        ("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
    ]
    for (suffix, factor) in units where lower.hasSuffix(suffix) {
        guard let value = UInt64(lower.dropLast(suffix.count)) else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? nil : bytes
    }
    return UInt64(lower)
}
