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
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure("gmem: \(error)")
        }
        if json {
            try printJSON(report)
        } else {
            printHuman(report)
        }
    }

    private func printHuman(_ report: HostReport) {
        emit("Kernel        \(report.kernelRelease)")
        emit("KVM module    \(report.kvmModule ?? "unknown")\(report.isPVM ? " (PVM: paravirtualised KVM)" : "")")
        emit("API version   \(report.apiVersion)")
        emit("kvm_run size  \(report.vcpuMmapSize) bytes")
        let flagNames = report.guestMemfdFlagNames.isEmpty ? "none" : report.guestMemfdFlagNames.joined(separator: "|")
        emit("guest_memfd   flags 0x\(String(report.guestMemfdFlags, radix: 16)) (\(flagNames))")
        emit("attributes    0x\(String(report.memoryAttributes, radix: 16))\(report.memoryAttributes == 0 ? " (none: no private memory)" : "")")
        emit("VM types      \(report.vmTypes.joined(separator: ", "))")
        emit()
        emit("Capabilities")
        let width = report.capabilities.map(\.name.count).max() ?? 0
        for capability in report.capabilities {
            let name = capability.name.padding(toLength: width, withPad: " ", startingAt: 0)
            emit("  \(name)  \(String(capability.number).leftPadded(to: 3))  \(capability.value)")
        }
        emit()
        emit("What GmemKit can do here")
        for feature in report.features {
            emit("  [\(feature.available ? "yes" : " no")] \(feature.name): \(feature.detail)")
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
