import CKVM
import Logging
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The KVM subsystem: an owned handle on `/dev/kvm`, from which VMs are created.
///
/// Opening fails with a `KVMError(.openDevice, …)` whose `context` is the path and whose
/// `hint` names the fix: the device is absent (`ENOENT`: no KVM on this host), not permitted
/// (`EACCES`), or has no KVM module behind it (`ENXIO`). A node that opens but is not KVM (a
/// bind mount of /dev/null, say) fails `KVM_GET_API_VERSION` right away, with a
/// `KVMError(.getAPIVersion, …)` whose hint says so ("… is not a KVM device").
public struct KVMSystem: ~Copyable, Sendable {
    /// The path of the KVM device.
    public let path: String
    let fd: Int32
    let logger: Logger

    /// Opens the KVM device and checks that it answers `KVM_GET_API_VERSION` with 12; fails
    /// when it is absent, not permitted, or not a KVM device.
    /// - Parameters:
    ///   - path: the KVM device, `/dev/kvm` unless a test or sandbox uses another node.
    ///   - logger: a swift-log `Logger` (`import Logging`, package
    ///     `https://github.com/apple/swift-log`) that receives this handle's and its VMs'
    ///     debug messages (creations, memslot changes); the default, label `gmemkit.kvm`,
    ///     goes to whatever backend the process bootstrapped (stderr at `.info` by default,
    ///     so nothing shows unless you lower the level).
    /// - Throws: `KVMError(.openDevice, …)` naming the path and the fix; `KVMError(.getAPIVersion,
    ///   …)` when the node opened is not KVM (`ENOTTY`) or speaks an API other than 12.
    public init(path: String = "/dev/kvm", logger: Logger = Logger(label: "gmemkit.kvm")) throws(KVMError) {
        // SAFETY: `path` is bridged to a NUL-terminated C string that lives for the call; the wrapper only opens it.
        let result = unsafe ckvm_open(path)
        if result < 0 {
            throw KVMError(
                .openDevice, negated: result, context: path,
                hint: KVMHost.describeOpenFailure(Errno(rawValue: -result), path: path))
        }
        if let notKVM = KVMHost.apiVersionProblem(fd: result, path: path) {
            close(result)
            throw notKVM
        }
        self.path = path
        self.fd = result
        self.logger = logger
        logger.debug("opened \(path) as fd \(result)")
    }

    deinit { close(fd) }

    /// `KVM_GET_API_VERSION` (12 on every kernel since 2.6.22).
    /// - Throws: ``KVMError`` (`KVM_GET_API_VERSION`) with the kernel's errno.
    public func apiVersion() throws(KVMError) -> Int32 {
        try KVM.check(ckvm_get_api_version(fd), .getAPIVersion)
    }

    /// `KVM_CHECK_EXTENSION` on /dev/kvm: 0 when absent, otherwise a capability-specific value.
    /// - Throws: ``KVMError`` (`KVM_CHECK_EXTENSION`) with the kernel's errno.
    public func check(_ capability: Capability) throws(KVMError) -> Int32 {
        try KVM.check(ckvm_check_extension(fd, Int(capability.rawValue)), .checkExtension)
    }

    /// The size of each vCPU's `kvm_run` mapping.
    /// - Throws: ``KVMError`` (`KVM_GET_VCPU_MMAP_SIZE`) with the kernel's errno.
    public func vcpuMmapSize() throws(KVMError) -> Int {
        Int(try KVM.check(ckvm_get_vcpu_mmap_size(fd), .getVCPUMmapSize))
    }

    /// The VM types `KVM_CREATE_VM` accepts, from `KVM_CAP_VM_TYPES` (the default type only
    /// when the capability is absent).
    /// - Throws: ``KVMError`` (`KVM_CHECK_EXTENSION`) with the kernel's errno.
    public func supportedVMTypes() throws(KVMError) -> [VMType] {
        let mask = try self.check(.vmTypes)
        if mask <= 0 { return [.default] }
        return (0..<32).compactMap { bit in
            (mask & (1 << bit)) != 0 ? VMType(rawValue: UInt32(bit)) : nil
        }
    }

    /// The `KVM_CREATE_GUEST_MEMFD` flags this kernel supports (`KVM_CAP_GUEST_MEMFD_FLAGS`;
    /// none when guest_memfd itself is absent).
    /// - Throws: ``KVMError`` (`KVM_CHECK_EXTENSION`) with the kernel's errno.
    public func supportedGuestMemfdFlags() throws(KVMError) -> GuestMemfdFlags {
        guard try self.check(.guestMemfd) > 0 else { return [] }
        let mask = try self.check(.guestMemfdFlags)
        return GuestMemfdFlags(rawValue: UInt64(max(mask, 0)))
    }

    /// Creates a VM of the given type; fails with the kernel's errno (e.g. `EINVAL` for an
    /// unsupported type).
    /// - Parameter type: The VM type (``VMType/default`` unless private memory is wanted).
    /// - Throws: ``KVMError`` (`KVM_CREATE_VM`, or `KVM_GET_VCPU_MMAP_SIZE` before it) with the
    ///   kernel's errno.
    public func createVM(type: VMType = .default) throws(KVMError) -> VirtualMachine {
        let runSize = try vcpuMmapSize()
        let vmFD = try KVM.check(ckvm_create_vm(fd, UInt(type.rawValue)), .createVM)
        logger.debug("created VM fd \(vmFD) of type \(type)")
        return VirtualMachine(fd: vmFD, type: type, runMappingSize: runSize, logger: logger)
    }
}

/// Facts about the host that need no open handle: whether KVM is usable, which module
/// provides it, and the kernel release.
public enum KVMHost {
    /// True when `/dev/kvm` exists, can be opened read-write by this process and is KVM
    /// (`KVM_GET_API_VERSION` answers 12).
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Why KVM cannot be used here, with the fix, or nil when it can: `/dev/kvm` must open and
    /// answer `KVM_GET_API_VERSION` with 12 (as ``KVMSystem/init(path:logger:)`` checks).
    public static var unavailableReason: String? {
        // SAFETY: a string literal, NUL-terminated, alive for the call.
        let fd = unsafe ckvm_open("/dev/kvm")
        guard fd >= 0 else { return describeOpenFailure(Errno(rawValue: -fd), path: "/dev/kvm") }
        defer { close(fd) }
        return apiVersionProblem(fd: fd, path: "/dev/kvm")?.hint
    }

    /// The API version every KVM since Linux 2.6.22 answers to `KVM_GET_API_VERSION`.
    public static let apiVersion: Int32 = 12

    /// nil when `fd` (the opened `path`) answers `KVM_GET_API_VERSION` with 12; otherwise the
    /// error to report: the ioctl's errno (`ENOTTY` from a node that is not KVM at all) or,
    /// for another version, a refusal; its hint says "`path` is not a KVM device (…)".
    static func apiVersionProblem(fd: Int32, path: String) -> KVMError? {
        let version = ckvm_get_api_version(fd)
        if version < 0 {
            let errno = Errno(rawValue: -version)
            return KVMError(
                .getAPIVersion, errno, context: path,
                hint: "\(path) is not a KVM device (KVM_GET_API_VERSION: \(errno.symbolicName)): "
                    + "it should be the kvm module's character device (10:232)")
        }
        guard version == apiVersion else {
            return KVMError(
                .getAPIVersion, .protocolNotSupported,
                refusal: .invalidArgument("KVM_GET_API_VERSION answered \(version), not \(apiVersion)"),
                context: path,
                hint: "\(path) is not a KVM device GmemKit can use (KVM_GET_API_VERSION: \(version), not \(apiVersion))"
            )
        }
        return nil
    }

    /// A one-line explanation of a failure to open the KVM device, naming the fix.
    public static func describeOpenFailure(_ errno: Errno, path: String) -> String {
        switch errno {
        case .noSuchFileOrDirectory:
            "\(path) does not exist: this host has no KVM (load kvm_intel/kvm_amd, or run on a host or VM with nested virtualisation enabled)"
        case .permissionDenied, .notPermitted:
            "\(path) is not accessible to this user: add the user to the 'kvm' group or run as root"
        case .noSuchAddressOrDevice, .operationNotSupportedByDevice:
            "\(path) exists but no KVM module answers behind it: load kvm_intel or kvm_amd"
        default:
            "cannot open \(path): \(errno.symbolicName) (\(errno.description))"
        }
    }

    /// The running kernel's release string (`uname -r`).
    public static var kernelRelease: String {
        var name = utsname()
        // SAFETY: `name` is a local utsname the kernel fills (fixed-size fields); its bytes are read within the closure, up to the NUL or the field's end.
        guard unsafe uname(&name) == 0 else { return "unknown" }
        // Sound because: the bytes read are those of the fixed-size `release` field, up to its NUL.
        // SAFETY: `name.release` is a fixed-size array inside the local `name`; the closure reads only its bytes.
        return unsafe withUnsafeBytes(of: &name.release) { raw in
            // SAFETY: `raw` covers exactly `name.release`, read up to its NUL or its end.
            unsafe String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The loaded KVM implementation module: "kvm_pvm", "kvm_intel", "kvm_amd", or nil.
    public static var module: String? {
        // SAFETY: the path is bridged to a NUL-terminated C string alive for the call; access only stats it.
        for candidate in ["kvm_pvm", "kvm_intel", "kvm_amd"] where unsafe access("/sys/module/\(candidate)", F_OK) == 0
        {
            return candidate
        }
        return nil
    }

    /// True when KVM is PVM (paravirtualised KVM: guest CPL0 code is emulated; HOST-NOTES.md).
    public static var isPVM: Bool { module == "kvm_pvm" }
}
