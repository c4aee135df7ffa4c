/// A kernel version the contract is stated for: the facts that differ between the kernel this
/// project was measured on and the current upstream tree.
///
/// Rules name the profiles they hold for (`ContractRule.holdsFor`); the model answers like a
/// profile through the capabilities it builds (`capabilities(_:)`). Values, never fail.
public struct KernelProfile: Hashable, Sendable, CustomStringConvertible {
    /// The profile's name, as `gmem check --profile NAME` and `profile=NAME` take it.
    public let name: String
    /// One line: which kernel this is and how its facts were established.
    public let summary: String
    /// The errno for binding a guest_memfd range that overlaps a range already bound
    /// (GMEM-B6): `EINVAL` on 6.18, `EEXIST` in the current upstream tree.
    public let overlappingBindingErrno: ModelErrno
    /// The UAPI numbers the profile relies on beyond 6.18's pinned subset, each marked
    /// provisional when it comes from an unmerged or just-merged series.
    public let constants: [Constant]

    /// A named UAPI number and whether it may still change.
    public struct Constant: Hashable, Sendable {
        /// The UAPI name (`KVM_...`).
        public let name: String
        /// The number.
        public let value: UInt64
        /// True when the number comes from a posting, not a released kernel: probe, never assume.
        public let provisional: Bool
        /// Where it comes from.
        public let source: String

        /// A constant; every value is taken as given.
        /// - Parameters:
        ///   - name: The UAPI name.
        ///   - value: The number.
        ///   - provisional: Whether it comes from a posting rather than a released kernel.
        ///   - source: Where it comes from (a kernel tree, a patch series).
        public init(_ name: String, _ value: UInt64, provisional: Bool, source: String) {
            self.name = name
            self.value = value
            self.provisional = provisional
            self.source = source
        }
    }

    /// The profile's ``name``.
    public var description: String { name }

    /// Linux 6.18 as measured on the reference host (6.18.44, kvm_pvm): every `[host]` rule
    /// was observed there, errno for errno.
    public static let v6_18 = KernelProfile(
        name: "6.18",
        summary: "Linux 6.18 (measured on the reference host, 6.18.44 with kvm_pvm)",
        overlappingBindingErrno: .EINVAL,
        constants: [
            Constant("KVM_CAP_USER_MEMORY2", 231, provisional: false, source: "6.8 UAPI"),
            Constant("KVM_CAP_MEMORY_FAULT_INFO", 232, provisional: false, source: "6.8 UAPI"),
            Constant("KVM_CAP_MEMORY_ATTRIBUTES", 233, provisional: false, source: "6.8 UAPI"),
            Constant("KVM_CAP_GUEST_MEMFD", 234, provisional: false, source: "6.8 UAPI"),
            Constant("KVM_CAP_VM_TYPES", 235, provisional: false, source: "6.8 UAPI"),
            Constant("KVM_CAP_PRE_FAULT_MEMORY", 236, provisional: false, source: "6.10 UAPI"),
            Constant("KVM_CAP_GUEST_MEMFD_FLAGS", 244, provisional: false, source: "6.18 UAPI"),
            Constant("GUEST_MEMFD_FLAG_MMAP", 1 << 0, provisional: false, source: "6.18 UAPI"),
            Constant("GUEST_MEMFD_FLAG_INIT_SHARED", 1 << 1, provisional: false, source: "6.18 UAPI"),
        ])

    /// The current upstream tree (kvm-x86 and mainline, read in the source and selftests up to
    /// late September 2026): overlapping file ranges give `EEXIST`; the numbers of the
    /// in-place conversion series are provisional.
    public static let next = KernelProfile(
        name: "next",
        summary: "the current upstream tree (read in the kvm-x86 source and selftests, September 2026)",
        overlappingBindingErrno: .EEXIST,
        constants: v6_18.constants + [
            Constant(
                "KVM_SET_MEMORY_ATTRIBUTES2 (ioctl nr on the guest_memfd fd)", 0xd2, provisional: true,
                source: "in-place conversion v13, 2026-09-10"),
            Constant(
                "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", 250, provisional: true,
                source: "in-place conversion v13 (245, 247, 248 in earlier postings)"),
            Constant(
                "KVM_SET_MEMORY_ATTRIBUTES2_FLAG_ZERO", 1 << 0, provisional: true, source: "in-place conversion v8-v13"),
            Constant(
                "KVM_SET_MEMORY_ATTRIBUTES2_FLAG_PRESERVE", 1 << 1, provisional: true,
                source: "in-place conversion v8-v13"),
            Constant(
                "GUEST_MEMFD_FLAG_NO_DIRECT_MAP", 1 << 2, provisional: true, source: "direct-map removal v12, unmerged"),
            Constant(
                "GUEST_MEMFD_FLAG_WRITE", 1 << 3, provisional: true,
                source: "write(2) population, Firecracker's branch; upstream unsettled"),
            Constant(
                "KVM_LINK_GUEST_MEMFD (ioctl nr on the VM fd)", 0xd6, provisional: true,
                source: "KVM_LINK_GUEST_MEMFD RFC v2, May 2025, unmerged"),
            Constant("KVM_PRE_FAULT_MEMORY (ioctl nr on the vCPU fd)", 0xd5, provisional: false, source: "6.10 UAPI"),
        ])

    /// `capabilities` (what the kernel was configured and built with) answering like this
    /// profile's kernel version.
    public func capabilities(_ capabilities: ModelCapabilities) -> ModelCapabilities {
        var result = capabilities
        result.overlappingBindingErrno = overlappingBindingErrno
        if self == .v6_18 {
            // 6.18 has neither in-place conversion nor linking, whatever a scenario asks.
            // (A kernel put in guest_memfd-attribute mode gets its VM-level attributes back.)
            if result.guestMemfdAttributes != 0 { result.memoryAttributes = GmemABI.MemoryAttribute.private }
            result.guestMemfdAttributes = 0
            result.guestMemfdLink = false
        }
        return result
    }

    /// Every profile, oldest first.
    public static let all: [KernelProfile] = [.v6_18, .next]

    /// Every profile's name, oldest first.
    public static let allNames: [String] = all.map(\.name)

    /// The profile called `name`, or nil.
    public static func named(_ name: String) -> KernelProfile? {
        all.first { $0.name == name }
    }

    /// Which profile a host kernel answers like, and why: from its release string
    /// (`uname -r`) and whether it reports the in-place conversion capability.
    ///
    /// Releases 6.18.x pick `6.18`; later releases, or any kernel with the conversion
    /// capability, pick `next`; older or unreadable releases pick `6.18`, and the reason
    /// says that it is the closest profile, not a measured one.
    public static func detect(release: String, hasConversionCapability: Bool = false) -> (
        profile: KernelProfile, reason: String
    ) {
        if hasConversionCapability {
            return (.next, "the kernel reports in-place conversion (KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES)")
        }
        guard let (major, minor) = parseRelease(release) else {
            return (.v6_18, "release \"\(release)\" is not MAJOR.MINOR…; assuming the measured profile")
        }
        if (major, minor) == (6, 18) { return (.v6_18, "release \(release)") }
        if (major, minor) > (6, 18) { return (.next, "release \(release) is newer than 6.18") }
        return (.v6_18, "release \(release) is older than every profile; 6.18 is the closest")
    }

    /// `MAJOR.MINOR` from a release string such as `6.18.44-fc-v1045`.
    static func parseRelease(_ release: String) -> (Int, Int)? {
        let parts = release.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Int(parts[0]) else { return nil }
        let minorDigits = parts[1].prefix { $0.isASCII && $0.isNumber }
        guard !minorDigits.isEmpty, let minor = Int(minorDigits) else { return nil }
        return (major, minor)
    }
}
