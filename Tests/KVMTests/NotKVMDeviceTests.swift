import KVM
import SystemPackage
import Testing

@Suite("A device node that opens but is not KVM")
struct NotKVMDeviceTests {
    @Test("KVMSystem(path: \"/dev/null\") fails KVM_GET_API_VERSION with ENOTTY and says the node is not KVM")
    func devNullIsNotKVM() {
        do {
            _ = try KVMSystem(path: "/dev/null")
            Issue.record("/dev/null opened as a KVM device")
        } catch {
            #expect(error.operation == .getAPIVersion && error.errno == .inappropriateIOCTLForDevice)
            #expect(error.context == "/dev/null")
            #expect(error.hint?.hasPrefix("/dev/null is not a KVM device (KVM_GET_API_VERSION: ENOTTY)") == true)
            #expect(error.description.contains("/dev/null is not a KVM device (KVM_GET_API_VERSION: ENOTTY)"))
            #expect(!error.description.contains("/dev/kvm"), "\(error)")
        }
    }

    @Test("a path that does not exist still fails the open, not the version check")
    func missingNodeFailsOpen() {
        #expect(throws: KVMError.self) { _ = try KVMSystem(path: "/nonexistent/kvm") }
        do { _ = try KVMSystem(path: "/nonexistent/kvm") } catch {
            #expect(error.operation == .openDevice && error.errno == .noSuchFileOrDirectory)
        }
    }

    @Test("on this host, KVMHost.isAvailable agrees with unavailableReason")
    func availabilityAgrees() {
        #expect(KVMHost.isAvailable == (KVMHost.unavailableReason == nil))
    }
}
