extension HostReport {
    /// The human form `gmem info` prints.
    public func formatted() -> String {
        let report = self
        var lines: [String] = []
        lines.append("Kernel        \(report.kernelRelease)")
        lines.append(
            "KVM module    \(report.kvmModule ?? "unknown")\(report.isPVM ? " (PVM: paravirtualised KVM)" : "")")
        lines.append("API version   \(report.apiVersion)")
        lines.append("kvm_run size  \(report.vcpuMmapSize) bytes")
        let flagNames = report.guestMemfdFlagNames.isEmpty ? "none" : report.guestMemfdFlagNames.joined(separator: "|")
        lines.append("guest_memfd   flags 0x\(String(report.guestMemfdFlags, radix: 16)) (\(flagNames))")
        lines.append(
            "attributes    0x\(String(report.memoryAttributes, radix: 16))\(report.memoryAttributes == 0 ? " (none: no private memory)" : "")"
        )
        lines.append("VM types      \(report.vmTypes.joined(separator: ", "))")
        lines.append("")
        lines.append("Capabilities")
        let width = report.capabilities.map(\.name.count).max() ?? 0
        for capability in report.capabilities {
            let name = capability.name + String(repeating: " ", count: max(0, width - capability.name.count))
            let number = String(capability.number)
            lines.append(
                "  \(name)  \(String(repeating: " ", count: max(0, 3 - number.count)) + number)  \(capability.value)")
        }
        lines.append("")
        lines.append("What GmemKit can do here")
        for feature in report.features {
            lines.append("  [\(feature.available ? "yes" : " no")] \(feature.name): \(feature.detail)")
        }
        lines.append("")
        lines.append("After 6.18 (kernel profile next; each probed on this kernel)")
        for feature in report.upstreamFeatures {
            lines.append("  [\(feature.available ? "yes" : " no")] \(feature.name): \(feature.detail)")
        }
        return lines.joined(separator: "\n")
    }
}
