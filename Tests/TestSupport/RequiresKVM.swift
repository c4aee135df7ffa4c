import KVM
import Testing

/// Whether this process can use KVM, found by doing what every kernel test does first.
public enum KVMAvailability {
    /// Why /dev/kvm cannot be used here, from the call that failed (`open /dev/kvm (/dev/kvm)
    /// failed: EACCES (Permission denied); …`, ENOENT, ENXIO, a `KVM_GET_API_VERSION` other than 12,
    /// or `KVM_CREATE_VM`'s errno), or nil when it can. Checked once per process.
    public static let unavailableReason: String? = {
        do {
            let kvm = try KVMSystem()
            let version = try kvm.apiVersion()
            guard version == 12 else {
                return "KVM_GET_API_VERSION on /dev/kvm returned \(version), not 12: this KVM speaks another API"
            }
            _ = try kvm.createVM()
            return nil
        } catch {
            return "/dev/kvm cannot be used: \(error)"
        }
    }()

    /// True when /dev/kvm opens read-write, speaks API 12 and creates a VM.
    public static var isAvailable: Bool { unavailableReason == nil }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only where /dev/kvm can be used; elsewhere it is skipped with the
    /// reason the open or ioctl failed (``KVMAvailability/unavailableReason``).
    public static var requiresKVM: Self {
        .enabled(
            if: KVMAvailability.isAvailable, Comment(rawValue: KVMAvailability.unavailableReason ?? "needs /dev/kvm"))
    }
}
