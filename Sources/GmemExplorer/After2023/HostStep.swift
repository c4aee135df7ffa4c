/// One userspace (or guest) operation of the universe after 2023, over objects named in
/// creation order: VMs `A`, `B`, … and files `F`, `G`, …; an inode is named by the file that
/// created it. Files are created with `MMAP|INIT_SHARED`: every page starts shared.
public enum HostStep: Hashable, Sendable, CustomStringConvertible {
    /// `KVM_CREATE_VM`: a confidential VM (SNP/TDX-like: content modes ZERO only) or a
    /// software-protected one (`KVM_X86_SW_PROTECTED_VM`: ZERO and PRESERVE).
    case createVM(vm: Int, confidential: Bool)
    /// `KVM_CREATE_GUEST_MEMFD` on `vm`'s fd: a new file on a new inode.
    case createFile(file: Int, vm: Int)
    /// `KVM_LINK_GUEST_MEMFD` on `vm`'s fd with `source`'s fd: a new file for `vm` on
    /// `source`'s inode.
    case link(file: Int, source: Int, vm: Int)
    /// `KVM_SET_USER_MEMORY_REGION2`: bind all of `file` as memslot `slot` of `vm`.
    case bind(vm: Int, slot: Int, file: Int)
    /// The same with size 0.
    case deleteSlot(vm: Int, slot: Int)
    case closeVM(vm: Int)
    case closeFile(file: Int)
    /// Userspace stops calling `KVM_RUN` on `vm`'s vCPUs.
    case stopVM(vm: Int)
    /// And starts again.
    case resumeVM(vm: Int)
    /// `vm` is marked dead (what moving its encryption context to another VM does to it).
    case markDead(vm: Int)
    /// `vm`'s guest writes its secret with a private access to page `page` of memslot `slot`.
    case guestWrite(vm: Int, slot: Int, page: Int)
    /// `vm`'s guest reads page `page` of memslot `slot` with a private access.
    case guestRead(vm: Int, slot: Int, page: Int)
    /// `KVM_SET_MEMORY_ATTRIBUTES2` on `file`'s fd for one page: to private (content mode
    /// unspecified, or PRESERVE) or to shared (ZERO or PRESERVE).
    case convert(file: Int, page: Int, toPrivate: Bool, preserve: Bool)
    /// The host loads page `page` through its shared mapping of `file`.
    case hostRead(file: Int, page: Int)
    /// The host takes a reference (a GUP pin through the mapping: O_DIRECT, vhost,
    /// io_uring fixed buffers) on page `page` of `file`'s inode.
    case pin(file: Int, page: Int)
    /// The host drops that reference.
    case unpin(inode: Int, page: Int)
    /// The host reads the pinned page through its reference (not through its page tables).
    case readPinned(inode: Int, page: Int)

    public var description: String {
        let vm = ExplorerStep.vmName
        let file = ExplorerStep.fileName
        switch self {
        case .createVM(let v, let c): return "create \(c ? "confidential" : "software-protected") VM \(vm(v))"
        case .createFile(let f, let v): return "create guest_memfd \(file(f)) from VM \(vm(v))"
        case .link(let f, let s, let v):
            return "link \(file(f)) for VM \(vm(v)) on \(file(s))'s inode (KVM_LINK_GUEST_MEMFD)"
        case .bind(let v, let s, let f): return "bind \(file(f)) into VM \(vm(v)) as memslot \(s)"
        case .deleteSlot(let v, let s): return "delete memslot \(s) of VM \(vm(v))"
        case .closeVM(let v): return "close VM \(vm(v))'s fd"
        case .closeFile(let f): return "close \(file(f))'s fd"
        case .stopVM(let v): return "stop VM \(vm(v))'s vCPUs"
        case .resumeVM(let v): return "resume VM \(vm(v))'s vCPUs"
        case .markDead(let v): return "mark VM \(vm(v)) dead (its encryption context moved)"
        case .guestWrite(let v, let s, let p):
            return
                "VM \(vm(v))'s guest writes its secret \(hex(ExplorerStep.secret(ofVM: v))) to private page \(p) of memslot \(s)"
        case .guestRead(let v, let s, let p): return "VM \(vm(v))'s guest reads private page \(p) of memslot \(s)"
        case .convert(let f, let p, let toPrivate, let preserve):
            return "convert page \(p) of \(file(f)) to \(toPrivate ? "private" : "shared")"
                + (preserve ? " (PRESERVE)" : toPrivate ? "" : " (ZERO)")
        case .hostRead(let f, let p): return "the host reads page \(p) through its mapping of \(file(f))"
        case .pin(let f, let p): return "the host pins page \(p) of \(file(f)) (GUP)"
        case .unpin(let i, let p): return "the host unpins page \(p) of \(file(i))'s inode"
        case .readPinned(let i, let p): return "the host reads page \(p) of \(file(i))'s inode through its pin"
        }
    }
}

/// What a step returned.
public enum HostOutcome: Hashable, Sendable, CustomStringConvertible {
    case ok
    /// Refused with this errno name; nothing changed.
    case refused(String)
    /// A conversion refused with `error_offset` written back: `EAGAIN` at a page with extra
    /// references, `EOPNOTSUPP` for a content mode the file's VM type does not support.
    case refusedAt(errno: String, errorOffset: UInt64)
    /// A read of this content (0 zero, 2 + w VM w's secret).
    case read(UInt8)
    case written
    /// No memslot at the address: an MMIO exit.
    case mmio
    /// A memory-fault exit (the binding is gone, or the access's privacy differs from the page's).
    case fault
    /// The host access raised SIGBUS (a private page).
    case sigbus

    public var description: String {
        switch self {
        case .ok: "ok"
        case .refused(let errno): errno
        case .refusedAt(let errno, let offset): "\(errno) error_offset=\(offset)"
        case .read(let value):
            value >= 2
                ? "read \(hex(ExplorerStep.secret(ofVM: Int(value - 2)))) (VM \(ExplorerStep.vmName(Int(value - 2)))'s secret)"
                : "read 0x0"
        case .written: "written"
        case .mmio: "mmio exit"
        case .fault: "memory-fault exit"
        case .sigbus: "SIGBUS"
        }
    }

    var changesNothing: Bool {
        switch self {
        case .refused, .refusedAt, .mmio, .fault, .sigbus: true
        default: false
        }
    }
}
