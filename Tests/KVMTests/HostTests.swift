import Foundation
import KVM
import SystemPackage
import TestSupport
import Testing

@Suite("Host: opening KVM and reporting capabilities")
struct HostTests {
    @Test("a missing KVM device is a typed error whose description names the fix")
    func missingDevice() {
        do {
            _ = try KVMSystem(path: "/nonexistent/kvm")
            Issue.record("opening a missing device succeeded")
        } catch {
            #expect(error.operation == .openDevice)
            #expect(error.errno == .noSuchFileOrDirectory)
            let text = KVMHost.describeOpenFailure(error.errno, path: "/nonexistent/kvm")
            #expect(text.contains("does not exist"))
            #expect(text.contains("kvm_intel"))
        }
    }

    @Test("errors name the operation and the errno")
    func errorDescription() {
        let error = KVMError(.setUserMemoryRegion2, .invalidArgument)
        #expect(error.description == "KVM_SET_USER_MEMORY_REGION2 failed: EINVAL (Invalid argument)")
        let refused = KVMError(.setUserMemoryRegion2, .invalidArgument, refusal: .foreignGuestMemfd)
        #expect(refused.description.hasPrefix("KVM_SET_USER_MEMORY_REGION2: EINVAL (refused before the syscall:"))
    }

    @Test("the host report agrees with the capabilities it lists", .requiresKVM)
    func reportIsConsistent() throws {
        let system = try KVMSystem()
        let report = try system.report()
        #expect(report.apiVersion == 12)
        let byName = Dictionary(uniqueKeysWithValues: report.capabilities.map { ($0.name, $0.value) })
        #expect(UInt64(byName["KVM_CAP_GUEST_MEMFD_FLAGS"] ?? -1) == report.guestMemfdFlags)
        #expect(report.capabilities.count == Capability.reported.count)
        let mapped = report.features.first { $0.name == "host-mapped guest memory" }
        #expect(mapped?.available == (report.guestMemfdFlags & 3 == 3))
        #expect(report.isPVM == (report.kvmModule == "kvm_pvm"))
    }

    @Test(
        "the host report round-trips through JSON with schemaVersion, and its text lists every capability",
        .requiresKVM)
    func reportEncoding() throws {
        let report = try KVMSystem().report()
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(HostReport.self, from: data) == report)
        #expect(report.schemaVersion == 1)
        let text = report.formatted()
        #expect(text.hasPrefix("Kernel        \(report.kernelRelease)"))
        for capability in report.capabilities { #expect(text.contains(capability.name)) }
        #expect(
            text.split(separator: "\n").filter { $0.hasPrefix("  [") }.count == report.features.count
                + report.upstreamFeatures.count)
        // The post-6.18 surfaces (GMEM-V9, V10, N1–N4), each with its own line and detail.
        #expect(report.upstreamFeatures.count == 8)
        for feature in report.upstreamFeatures { #expect(text.contains("] \(feature.name): \(feature.detail)")) }
    }
}
