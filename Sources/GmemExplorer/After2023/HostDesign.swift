/// The designs after 2023: in-place shared/private conversion on the guest_memfd itself
/// (`KVM_SET_MEMORY_ATTRIBUTES2` on the file, v13, reported applied for 7.4) and linking
/// (`KVM_LINK_GUEST_MEMFD`, RFC v2, May 2025: a new file for VM B on VM A's inode, for
/// intra-host migration), explored in a universe with host mappings, pins and conversions.
///
/// Every design keeps upstream's lifetime rules (the file pins its VM, memslots do not pin
/// the file, a file binds only to its own VM, GMEM-SPEC B5/L1–L6); they differ in what a
/// conversion checks and whether, and under which precondition, a file may be linked.
public struct HostDesign: Hashable, Sendable, CustomStringConvertible {
    /// What a conversion checks.
    public enum Conversion: String, Hashable, Sendable, CaseIterable {
        /// The series as posted: a conversion to private fails with `EAGAIN` (and
        /// `error_offset`) while a page has extra references (a GUP pin); the content modes a
        /// conversion may use are those of the file's VM type
        /// (`kvm_arch_gmem_supported_content_modes(gmem->kvm)`: PRESERVE for
        /// `KVM_X86_SW_PROTECTED_VM` only, ZERO for every type, to shared only).
        case upstream
        /// The same without the reference check: a pinned page converts to private.
        case noReferenceCheck = "no-reference-check"
        /// The same without the owner check on content modes: PRESERVE is honoured whatever
        /// the type of the VM whose memory it is.
        case preserveWithoutOwnerCheck = "preserve-without-owner-check"
    }

    public var conversion: Conversion
    /// nil: no linking (the kernel of the conversion series). Otherwise `KVM_LINK_GUEST_MEMFD`
    /// exists, with the RFC's own checks and these preconditions on the source VM at link time.
    public var link: LinkPrecondition?

    public init(conversion: Conversion = .upstream, link: LinkPrecondition? = nil) {
        self.conversion = conversion
        self.link = link
    }

    /// The three conversion designs, without linking.
    public static let conversions: [HostDesign] = Conversion.allCases.map { HostDesign(conversion: $0) }

    /// Linking as the RFC posted it: the destination must not be the file's own VM (`EINVAL`,
    /// its selftest `test_link`), and nothing is checked of the source VM ("The proposed
    /// KVM_LINK_GUEST_MEMFD ioctl also doesn't check if the source VM is dead", A. Tng, 2025).
    public static let linkAsPosted = HostDesign(link: LinkPrecondition())

    /// Linking with the preconditions the RFC's migration flow brings with it: the source's
    /// vCPUs stopped, the source marked dead, the destination of the same VM type
    /// (`KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM` moves the encryption context between VMs of one
    /// type and leaves the source dead), all required at link time.
    public static let linkWithMigrationPreconditions = HostDesign(
        link: LinkPrecondition([.sourceStopped, .sourceDead, .sameType]))

    /// A short name: `conversion/upstream`, `link/as-posted`, `link/{source-dead,same-vm-type}`.
    public var name: String {
        guard let link else { return "conversion/\(conversion.rawValue)" }
        let base = link.predicates.isEmpty ? "link/as-posted" : "link/" + link.description
        return conversion == .upstream ? base : base + "+" + conversion.rawValue
    }

    public var description: String { name }
}

/// An atomic predicate over the state at link time: of the source file F, its VM A (the
/// file's owner) and the destination VM B.
public enum LinkPredicate: String, Hashable, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// A has been marked dead (what moving its encryption context does to it): no vCPU of A
    /// runs again and its VM ioctls fail.
    case sourceDead = "source-dead"
    /// A's VM fd is closed (in this universe a VM's vCPUs run only while its fd is open).
    case sourceClosed = "source-fd-closed"
    /// A's vCPUs are stopped (userspace may resume them).
    case sourceStopped = "source-stopped"
    /// No memslot of A is bound to the inode.
    case sourceUnbound = "source-unbound"
    /// Every page of the inode is shared.
    case allShared = "all-shared"
    /// The host holds no reference (pin) on a page of the inode.
    case noHostReferences = "no-host-references"
    /// B is of A's VM type (both confidential, or both software-protected).
    case sameType = "same-vm-type"

    var bit: UInt8 { 1 << UInt8(Self.allCases.firstIndex(of: self)!) }

    /// The predicate in words, as the derivation prints it.
    public var statement: String {
        switch self {
        case .sourceDead: "A is dead (marked so when its encryption context moves)"
        case .sourceClosed: "A's VM fd is closed, so none of its vCPUs runs again"
        case .sourceStopped: "A's vCPUs are stopped"
        case .sourceUnbound: "A has no memslot bound to the inode"
        case .allShared: "every page of the inode is shared"
        case .noHostReferences: "the host holds no reference on the inode's pages"
        case .sameType: "B is of A's VM type"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.bit < b.bit }
    public var description: String { rawValue }
}

/// A conjunction of ``LinkPredicate``s a link must satisfy (empty: none beyond the RFC's).
public struct LinkPrecondition: Hashable, Sendable, CustomStringConvertible {
    var mask: UInt8

    public init(_ predicates: [LinkPredicate] = []) {
        mask = predicates.reduce(0) { $0 | $1.bit }
    }

    init(mask: UInt8) { self.mask = mask }

    public var predicates: [LinkPredicate] { LinkPredicate.allCases.filter { mask & $0.bit != 0 } }

    public func contains(_ predicate: LinkPredicate) -> Bool { mask & predicate.bit != 0 }

    /// Whether every conjunct of `other` is one of these.
    public func isSuperset(of other: LinkPrecondition) -> Bool { mask & other.mask == other.mask }

    public var description: String {
        predicates.isEmpty ? "none" : "{" + predicates.map(\.rawValue).joined(separator: ",") + "}"
    }
}

/// A property of the designs after 2023, checked on every transition.
public enum HostInvariant: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case hostNeverReadsPrivate = "host-never-reads-private"
    case conversionKeepsPrivateData = "conversion-never-exposes-private-data"
    case noPrivateConversionWhileReferenced = "no-private-conversion-while-referenced"
    case privateDataStaysWithItsVM = "private-data-stays-with-its-vm"

    /// The one-line statement.
    public var statement: String {
        switch self {
        case .hostNeverReadsPrivate:
            "the host never reads a page while it is private (through its mapping or a pin)"
        case .conversionKeepsPrivateData:
            "conversion never shows a confidential VM's private data to the host or another VM (ZERO vs PRESERVE)"
        case .noPrivateConversionWhileReferenced:
            "no conversion to private succeeds while the host holds a reference to the page"
        case .privateDataStaysWithItsVM:
            "a guest never reads another VM's private data while that VM can still run"
        }
    }

    var bit: UInt8 { 1 << UInt8(Self.allCases.firstIndex(of: self)!) }
    static let all: UInt8 = 0x0F

    public var description: String { rawValue }
}

/// The bounded universe of the designs after 2023.
public struct HostUniverse: Hashable, Sendable, CustomStringConvertible {
    /// VMs userspace may create (A, B, …), each confidential or software-protected.
    public var vms: Int
    /// guest_memfd files userspace may create or link (F, G, …); a created file has its own
    /// inode, a linked one shares its source's.
    public var files: Int
    /// Memslot numbers per VM.
    public var slots: Int
    /// Pages per inode.
    public var pages: Int
    /// The longest operation sequence searched.
    public var depth: Int

    /// 2 VMs, 2 files, 1 memslot per VM, 1 page, depth 12: every attack below fits, the
    /// longest (a link whose source is stopped and unbound, then resumed) in 11 steps.
    public static let standard = HostUniverse(vms: 2, files: 2, slots: 1, pages: 1, depth: 12)

    public init(vms: Int = 2, files: Int = 2, slots: Int = 1, pages: Int = 1, depth: Int = 12) {
        self.vms = vms
        self.files = files
        self.slots = slots
        self.pages = pages
        self.depth = depth
    }

    /// Why this universe cannot be searched, or nil when it can.
    public var problem: String? {
        if !(1...3).contains(vms) { return "VMs must be 1 to 3 (got \(vms))" }
        if !(1...3).contains(files) { return "files must be 1 to 3 (got \(files))" }
        if !(1...2).contains(slots) { return "memslots must be 1 or 2 (got \(slots))" }
        if !(1...2).contains(pages) { return "pages must be 1 or 2 (got \(pages))" }
        if !(0...16).contains(depth) { return "depth must be 0 to 16 (got \(depth))" }
        return nil
    }

    public var description: String {
        "\(vms) VMs, \(files) files, \(slots) memslot\(slots == 1 ? "" : "s") per VM, \(pages) page\(pages == 1 ? "" : "s"), depth \(depth)"
    }
}
