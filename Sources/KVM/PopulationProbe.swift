import CKVM
import SystemPackage

/// How a restore can fill a new guest_memfd on this host, found by trying each path on a
/// one-page file of a throwaway VM (UPSTREAM.md: what each kernel offers).
///
/// - `write(2)`: `GUEST_MEMFD_FLAG_WRITE` (1 << 3 on Firecracker's branch, not merged) makes
///   `pwrite` fill shared pages; without it `pwrite` on a guest_memfd fails with `ESPIPE`.
/// - userfaultfd: lazy (post-copy) restore registers the guest_memfd mapping for MISSING or
///   MINOR faults; kernels without guest_memfd support refuse `UFFDIO_REGISTER` with `EINVAL`.
/// - the shared mapping: a copy into the file's own `MMAP|INIT_SHARED` mapping, which every
///   6.18 kernel with guest_memfd mmap offers.
public struct PopulationProbe: Hashable, Sendable {
    /// The flag Firecracker's branch uses for write(2) population.
    public static let writeFlag: UInt64 = 1 << 3

    /// Whether `KVM_CAP_GUEST_MEMFD_FLAGS` lists `writeFlag`.
    public let writeFlagSupported: Bool
    /// The errno of `pwrite` on a host-shared guest_memfd (nil: it wrote the page).
    public let pwriteErrno: Errno?
    /// The errno of `UFFDIO_REGISTER` (or of the step before it) on the file's shared mapping
    /// in MISSING and MINOR modes (nil: registration worked), with the failing step.
    public let userfaultMissing: (errno: Errno, step: String)?
    /// The same for MINOR faults (nil: registration worked).
    public let userfaultMinor: (errno: Errno, step: String)?

    /// Whether two probes found the same (compares their ``summary``).
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.summary == rhs.summary }
    /// Hashes the ``summary``.
    public func hash(into hasher: inout Hasher) { hasher.combine(summary) }

    /// Probes with a new VM and a one-page guest_memfd, both gone when it returns.
    /// - Parameter kvm: The KVM system to create the throwaway VM from.
    /// - Throws: ``KVMError`` when the VM, the guest_memfd or its mapping cannot be made (a path that
    ///   fails is a finding, not an error).
    public static func run(on kvm: borrowing KVMSystem) throws(KVMError) -> PopulationProbe {
        let vm = try kvm.createVM()
        let supported = UInt64(max(0, (try? vm.check(.guestMemfdFlags)) ?? 0))
        let file = try vm.createGuestMemfd(size: HostMapping.pageSize, flags: .hostShared)
        var page = [UInt8](repeating: 0x5A, count: Int(HostMapping.pageSize))
        // SAFETY: the wrapper writes HostMapping.pageSize bytes from `page`, which holds exactly HostMapping.pageSize bytes, alive for the closure.
        let written = unsafe page.withUnsafeMutableBytes {
            unsafe ckvm_pwrite(file.fd, $0.baseAddress, HostMapping.pageSize, 0)
        }
        let mapping = try file.mapShared()
        func uffd(minor: Bool) -> (errno: Errno, step: String)? {
            var stage: Int32 = 0
            // SAFETY: the range is the whole live mapping; the probe only registers and unregisters it.
            let result = unsafe ckvm_probe_userfaultfd(
                UnsafeMutableRawPointer(bitPattern: UInt(mapping.hostAddress)), HostMapping.pageSize, minor ? 1 : 0,
                &stage)
            guard result < 0 else { return nil }
            return (
                Errno(rawValue: -result),
                ["userfaultfd(2)", "UFFDIO_API", "UFFDIO_REGISTER"][Int(min(max(stage, 0), 2))]
            )
        }
        let missing = uffd(minor: false)
        let minor = uffd(minor: true)
        _ = page.count
        return PopulationProbe(
            writeFlagSupported: supported & writeFlag != 0,
            pwriteErrno: written < 0 ? Errno(rawValue: Int32(-written)) : nil,
            userfaultMissing: missing, userfaultMinor: minor)
    }

    /// True when lazy restore through userfaultfd could run here.
    public var userfaultWorks: Bool { userfaultMissing == nil || userfaultMinor == nil }
    /// True when eager restore through write(2) could run here.
    public var writeWorks: Bool { writeFlagSupported && pwriteErrno == nil }

    /// One line per path, e.g. "write(2): no (GUEST_MEMFD_FLAG_WRITE not supported; pwrite ESPIPE)".
    public var summary: [String] {
        func describe(_ failure: (errno: Errno, step: String)?) -> String {
            failure.map { "no (\($0.step) \($0.errno.symbolicName))" } ?? "yes"
        }
        return [
            "write(2): "
                + (writeWorks
                    ? "yes"
                    : "no (GUEST_MEMFD_FLAG_WRITE \(writeFlagSupported ? "supported" : "not supported"); pwrite \(pwriteErrno.map(\.symbolicName) ?? "wrote"))"),
            "userfaultfd MISSING: " + describe(userfaultMissing),
            "userfaultfd MINOR: " + describe(userfaultMinor),
            "shared mapping: yes",
        ]
    }
}
