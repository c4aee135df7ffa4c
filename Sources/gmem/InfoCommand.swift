import ArgumentParser
import KVM

/// `gmem info`: the host's KVM and guest_memfd capabilities, and what GmemKit can do here.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show this host's KVM and guest_memfd capabilities and what GmemKit can do with them.",
        discussion: "Exits non-zero, with the fix, when /dev/kvm is missing or not accessible."
    )

    @Flag(name: .long, help: "Print the report as JSON (stable keys, documented in README).")
    var json = false

    func run() throws {
        let report: HostReport
        do {
            report = try openKVM().report()
        } catch {
            fail(error)
        }
        if json {
            try printJSON(report)
        } else {
            printHuman(report)
        }
    }

    private func printHuman(_ report: HostReport) {
        print("Kernel        \(report.kernelRelease)")
        print("KVM module    \(report.kvmModule ?? "unknown")\(report.isPVM ? " (PVM: paravirtualised KVM)" : "")")
        print("API version   \(report.apiVersion)")
        print("kvm_run size  \(report.vcpuMmapSize) bytes")
        let flagNames = report.guestMemfdFlagNames.isEmpty ? "none" : report.guestMemfdFlagNames.joined(separator: "|")
        print("guest_memfd   flags 0x\(String(report.guestMemfdFlags, radix: 16)) (\(flagNames))")
        print("attributes    0x\(String(report.memoryAttributes, radix: 16))\(report.memoryAttributes == 0 ? " (none: no private memory)" : "")")
        print("VM types      \(report.vmTypes.joined(separator: ", "))")
        print("")
        print("Capabilities")
        let width = report.capabilities.map(\.name.count).max() ?? 0
        for capability in report.capabilities {
            let name = capability.name.padding(toLength: width, withPad: " ", startingAt: 0)
            print("  \(name)  \(String(capability.number).leftPadded(to: 3))  \(capability.value)")
        }
        print("")
        print("What GmemKit can do here")
        for feature in report.features {
            print("  [\(feature.available ? "yes" : " no")] \(feature.name): \(feature.detail)")
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
