import GmemModel

/// A guest-physical or host address in a scenario: a number, or an offset into a named
/// host mapping (`P+0x1000`), resolved by each backend to its own addresses.
public enum AddressExpression: Hashable, Sendable, CustomStringConvertible {
    /// A number taken as it is.
    case literal(UInt64)
    /// The mapping's first address plus `offset`, a signed 64-bit offset stored as its bit
    /// pattern (the sum is taken modulo 2^64, as `__u64` arithmetic).
    case mapping(String, offset: UInt64)

    /// The expression as the scenario language writes it: a number, `NAME`, `NAME+OFFSET` or `NAME-OFFSET`.
    public var description: String {
        switch self {
        case .literal(let value): hexOrDecimal(value)
        case .mapping(let name, let offset):
            offset == 0
                ? name
                : Int64(bitPattern: offset) < 0
                    ? "\(name)-\(hexOrDecimal(Int64(bitPattern: offset).magnitude))" : "\(name)+\(hexOrDecimal(offset))"
        }
    }
}

/// The width of a host access: 1, 2, 4 or 8 bytes, little-endian.
public enum AccessWidth: Int, Hashable, Sendable, CaseIterable {
    /// 1 byte (`byte`).
    case byte = 1
    /// 2 bytes (`half`).
    case half = 2
    /// 4 bytes (`word`).
    case word = 4
    /// 8 bytes (`double`).
    case double = 8

    /// The largest value an access of this width reads or writes.
    public var maxValue: UInt64 { self == .double ? .max : (1 << (UInt64(rawValue) * 8)) - 1 }
}

/// One operation of a scenario, with objects named rather than numbered, so the same step
/// runs on the model and on the kernel whatever descriptors and addresses each hands out.
///
/// Every case is one line of the language (docs/scenario-language.md); the enum is closed so
/// that printers, emitters and backends switch over it exhaustively.
public enum Action: Hashable, Sendable {
    /// `KVM_CREATE_VM(type)` on `device` (a named descriptor, normally `/dev/kvm`), or on the
    /// backend's own `/dev/kvm` when nil.
    case createVM(name: String, type: UInt64, device: String?)
    /// `KVM_CREATE_VCPU(id)`; the argument is an `unsigned long`.
    case createVCPU(name: String, vm: String, id: UInt64)
    /// `KVM_GET_STATS_FD` on a VM or vCPU.
    case createStats(name: String, of: String)
    /// `KVM_CREATE_GUEST_MEMFD` (`struct kvm_create_guest_memfd`: `__u64` size, flags, reserved[6]).
    case createGuestMemfd(name: String, vm: String, size: UInt64, flags: UInt64, reserved: UInt64)
    /// `memfd_create` then `ftruncate(size)` (`off_t`): a file that is not a guest_memfd.
    case createMemfd(name: String, size: UInt64)
    /// `open("/dev/kvm", O_RDWR | O_CLOEXEC)`.
    case openKVM(name: String)
    /// Names the raw descriptor number `fd` (0–2, negative, or ≥ 1,000,000) without a syscall.
    case rawDescriptor(name: String, fd: Int32)
    /// `fcntl(F_DUPFD_CLOEXEC)`.
    case dup(name: String, of: String)
    /// `close(fd)`: the name is released, and using it later gives `EBADF`.
    case close(String)
    /// `KVM_SET_USER_MEMORY_REGION` (version 1) or `…REGION2` (version 2); size 0 deletes.
    case setRegion(
        vm: String, version: Int, slot: UInt32, flags: UInt32, gpa: UInt64, size: UInt64,
        userspace: AddressExpression, file: String?, offset: UInt64)
    /// `fallocate(fd, int mode, loff_t offset, loff_t len)`.
    case fallocate(file: String, mode: Int32, offset: Int64, length: Int64)
    /// A file operation (`read`, `write`, `lseek`, `ftruncate`, `fchmod` ...) on a named descriptor.
    case fileOperation(file: String, ModelKernel.FileOperation)
    /// `open("/proc/self/fd/N", O_RDWR | O_CLOEXEC)`.
    case reopen(name: String, of: String)
    /// `mmap(NULL, len, prot, flags, fd, offset)`; `flags` is the mapping type only.
    case mmap(name: String, file: String, protection: Int32, flags: Int32, offset: UInt64, length: UInt64)
    /// `mmap(NULL, len, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0)`.
    case mapAnonymous(name: String, length: UInt64, protection: Int32)
    /// `munmap(P + offset, len)`.
    case munmap(mapping: String, offset: UInt64, length: UInt64)
    /// `madvise(P + offset, len, advice)`.
    case madvise(mapping: String, offset: UInt64, length: UInt64, advice: Int32)
    /// A host load of `width` bytes at `P + offset`.
    case hostRead(mapping: String, offset: UInt64, width: AccessWidth)
    /// A host store of `width` bytes at `P + offset`.
    case hostWrite(mapping: String, offset: UInt64, width: AccessWidth, value: UInt64)
    /// `KVM_SET_MEMORY_ATTRIBUTES` (`struct kvm_memory_attributes`: all `__u64`).
    case setAttributes(vm: String, gpa: UInt64, size: UInt64, attributes: UInt64, flags: UInt64)
    /// A real guest access of 8 bytes at a page-aligned `gpa` through a VM or vCPU.
    case guestAccess(via: String, gpa: UInt64, write: UInt64?, isPrivate: Bool)
    /// `fstat` and `fcntl(F_GETFD)`; with `sameInodeAs`, also whether both name one inode.
    case stat(String, sameInodeAs: String?)
    /// `KVM_CHECK_EXTENSION(capability)` on `/dev/kvm` or a VM (or any descriptor).
    case checkExtension(of: String, capability: UInt64)
    /// Whether the VM that `vm` named at its creation still exists in the kernel (L1, L5, L6):
    /// the model's VM table; on the kernel, KVM's debugfs folder of the VM.
    case alive(String)
    /// `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd (`struct kvm_memory_attributes2`: offset,
    /// size, attributes, flags, error_offset out; GMEM-SPEC V, profile `next`): `attributes`
    /// `PRIVATE` (8) converts to private, 0 to shared; `flags` is the content mode.
    case convert(file: String, offset: UInt64, size: UInt64, attributes: UInt64, flags: UInt64)
    /// `KVM_LINK_GUEST_MEMFD({fd, flags})` on `vm` (RFC v2, provisional): a new file named
    /// `name` for `vm` on `file`'s inode.
    case link(name: String, file: String, vm: String, flags: UInt64)
    /// `vmsplice` of whole pages at `P + offset` into a pipe of its own: the host holds a
    /// reference on each page until `unpin P` (the conversion selftest's `pin_pages`).
    case pin(mapping: String, offset: UInt64, length: UInt64)
    /// Closes every pipe `pin P` filled: the pages lose the references.
    case unpin(mapping: String)
    /// `setrlimit(RLIMIT_NOFILE)`: from now on the scenario may hold this many descriptors
    /// besides fds 0–2 (and gmem check's own); creating one more is `EMFILE`.
    case limitDescriptors(Int)

    /// The largest `limit fds=`.
    public static let maximumDescriptorLimit: UInt64 = 4096

    /// The name this action binds, if it creates something.
    public var binds: String? {
        switch self {
        case .createVM(let name, _, _), .createVCPU(let name, _, _), .createStats(let name, _),
            .createGuestMemfd(let name, _, _, _, _), .createMemfd(let name, _), .dup(let name, _),
            .reopen(let name, _), .mmap(let name, _, _, _, _, _), .mapAnonymous(let name, _, _),
            .openKVM(let name), .rawDescriptor(let name, _), .link(let name, _, _, _):
            name
        case .close, .setRegion, .fallocate, .fileOperation, .munmap, .madvise, .hostRead, .hostWrite,
            .setAttributes, .guestAccess, .stat, .checkExtension, .alive, .convert, .pin, .unpin, .limitDescriptors:
            nil
        }
    }

    /// Whether the name this action binds is a host mapping (else a descriptor).
    public var bindsMapping: Bool {
        switch self {
        case .mmap, .mapAnonymous: true
        default: false
        }
    }

    /// The names this action uses.
    public var uses: [String] {
        switch self {
        case .createVM(_, _, let device): device.map { [$0] } ?? []
        case .createMemfd, .mapAnonymous, .openKVM, .rawDescriptor: []
        case .createVCPU(_, let vm, _): [vm]
        case .createStats(_, let of): [of]
        case .createGuestMemfd(_, let vm, _, _, _): [vm]
        case .dup(_, let of), .reopen(_, let of): [of]
        case .close(let name): [name]
        case .setRegion(let vm, _, _, _, _, _, let userspace, let file, _):
            [vm] + (file.map { [$0] } ?? []) + (userspace.mappingName.map { [$0] } ?? [])
        case .fallocate(let file, _, _, _), .fileOperation(let file, _): [file]
        case .mmap(_, let file, _, _, _, _): [file]
        case .munmap(let mapping, _, _), .madvise(let mapping, _, _, _), .hostRead(let mapping, _, _),
            .hostWrite(let mapping, _, _, _):
            [mapping]
        case .setAttributes(let vm, _, _, _, _): [vm]
        case .guestAccess(let via, _, _, _): [via]
        case .stat(let name, let other): [name] + (other.map { [$0] } ?? [])
        case .checkExtension(let of, _): [of]
        case .alive(let name): [name]
        case .convert(let file, _, _, _, _): [file]
        case .link(_, let file, let vm, _): [file, vm]
        case .pin(let mapping, _, _), .unpin(let mapping): [mapping]
        case .limitDescriptors: []
        }
    }

    /// The names used as host mappings (the others in `uses` are descriptors).
    public var usesMappings: [String] {
        switch self {
        case .setRegion(_, _, _, _, _, _, let userspace, _, _): userspace.mappingName.map { [$0] } ?? []
        case .munmap(let mapping, _, _), .madvise(let mapping, _, _, _), .hostRead(let mapping, _, _),
            .hostWrite(let mapping, _, _, _), .pin(let mapping, _, _), .unpin(let mapping):
            [mapping]
        default: []
        }
    }

    /// The keyword that starts the action's line ("vm", "gmem" …): its kind, for coverage.
    public var keyword: String {
        switch self {
        case .createVM: "vm"
        case .createVCPU: "vcpu"
        case .createStats: "stats"
        case .createGuestMemfd: "gmem"
        case .createMemfd: "memfd"
        case .openKVM: "kvm"
        case .rawDescriptor: "raw"
        case .dup: "dup"
        case .close: "close"
        case .setRegion(_, _, _, let flags, _, let size, let userspace, let file, let offset):
            size == 0 && file == nil && flags == 0 && userspace == .literal(0) && offset == 0 ? "delete" : "region"
        case .fallocate: "fallocate"
        case .fileOperation(_, let operation): "fileop " + ScenarioFormat.fileOperationName(operation)
        case .reopen: "reopen"
        case .mmap: "mmap"
        case .mapAnonymous: "anon"
        case .munmap: "munmap"
        case .madvise: "madvise"
        case .hostRead: "read"
        case .hostWrite: "write"
        case .setAttributes: "attrs"
        case .guestAccess: "guest"
        case .stat: "stat"
        case .checkExtension: "cap"
        case .alive: "alive"
        case .convert: "convert"
        case .link: "link"
        case .pin: "pin"
        case .unpin: "unpin"
        case .limitDescriptors: "limit"
        }
    }
}

extension AddressExpression {
    var mappingName: String? { if case .mapping(let name, _) = self { name } else { nil } }
}

/// The file type bits of `st_mode`.
public enum FileType: String, Hashable, Sendable, CaseIterable {
    /// `S_IFREG` (`reg`).
    case regular = "reg"
    /// `S_IFDIR` (`dir`).
    case directory = "dir"
    /// `S_IFCHR` (`chr`).
    case characterDevice = "chr"
    /// `S_IFBLK` (`blk`).
    case blockDevice = "blk"
    /// `S_IFIFO` (`fifo`).
    case fifo
    /// `S_IFSOCK` (`sock`).
    case socket = "sock"
    /// `S_IFLNK` (`lnk`).
    case symlink = "lnk"
    /// No type bits (`S_IFMT` clear), as some anonymous inodes report.
    case none

    /// The type of a raw `st_mode`.
    public init(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .regular
        case 0o040000: self = .directory
        case 0o020000: self = .characterDevice
        case 0o060000: self = .blockDevice
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        case 0o120000: self = .symlink
        default: self = .none
        }
    }
}

/// What `fstat` and `fcntl(F_GETFD)` reported, or (as an expectation) the fields that must
/// match; a nil field is not compared.
public struct StatusPattern: Hashable, Sendable, CustomStringConvertible {
    /// The file type (`st_mode & S_IFMT`).
    public var type: FileType?
    /// Permission bits (`st_mode & 07777`).
    public var mode: UInt32?
    /// `st_size`.
    public var size: UInt64?
    /// `st_blksize`.
    public var blockSize: UInt64?
    /// Whether `FD_CLOEXEC` is set (`fcntl(F_GETFD)`).
    public var closeOnExec: Bool?
    /// Whether `st_dev`/`st_ino` equal those of the action's `sameInodeAs` object.
    public var sameInode: Bool?

    /// A pattern; each field left nil is not compared.
    public init(
        type: FileType? = nil, mode: UInt32? = nil, size: UInt64? = nil, blockSize: UInt64? = nil,
        closeOnExec: Bool? = nil, sameInode: Bool? = nil
    ) {
        self.type = type
        self.mode = mode
        self.size = size
        self.blockSize = blockSize
        self.closeOnExec = closeOnExec
        self.sameInode = sameInode
    }

    /// Whether every field this pattern sets equals `status`'s.
    public func matches(_ status: StatusPattern) -> Bool {
        (type == nil || type == status.type) && (mode == nil || mode == status.mode)
            && (size == nil || size == status.size)
            && (blockSize == nil || blockSize == status.blockSize)
            && (closeOnExec == nil || closeOnExec == status.closeOnExec)
            && (sameInode == nil || sameInode == status.sameInode)
    }

    /// `stat` followed by the fields that are set, as the scenario language writes them
    /// (`stat type=reg size=4096 cloexec=1`).
    public var description: String {
        var parts = ["stat"]
        if let type { parts.append("type=\(type.rawValue)") }
        if let mode { parts.append("mode=\(String(mode, radix: 8))") }
        if let size { parts.append("size=\(size)") }
        if let blockSize { parts.append("blksize=\(blockSize)") }
        if let closeOnExec { parts.append("cloexec=\(closeOnExec ? 1 : 0)") }
        if let sameInode { parts.append("ino=\(sameInode ? "same" : "different")") }
        return parts.joined(separator: " ")
    }
}

/// What one action ended in, in terms both backends can produce (and, as an expectation,
/// `anyError` and stat patterns, which only match).
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    /// Success (a created object is bound to its name; its number is not compared).
    case ok
    /// A value read by the host (of the access's width), by the guest (8 bytes), `alive`'s
    /// 0/1 or `KVM_CHECK_EXTENSION`'s result.
    case value(UInt64)
    /// The guest's write completed.
    case written
    /// The operation failed with this errno.
    case errno(Int32)
    /// Expectation only: any errno.
    case anyError
    /// A host access raised this signal (SIGBUS 7, SIGSEGV 11).
    case signal(Int32)
    /// `KVM_RUN` failed with `EFAULT` and a `KVM_EXIT_MEMORY_FAULT` exit.
    case memoryFault(gpa: UInt64, size: UInt64, flags: UInt64)
    /// The guest access exited to userspace as MMIO.
    case mmio
    /// `KVM_RUN` failed with `EFAULT` and no memory-fault information.
    case userspaceFault
    /// The operation failed with this errno and wrote `error_offset` back
    /// (`KVM_SET_MEMORY_ATTRIBUTES2`: `EAGAIN` at the first pinned page, GMEM-SPEC V4).
    case errnoAt(Int32, errorOffset: UInt64)
    /// `fstat` of the object (every field set when a backend reports it).
    case status(StatusPattern)
    /// The backend cannot perform this action here; the text says why (a failure).
    case unsupported(String)
    /// The kernel backend refused the step before the syscall: it would make the host
    /// allocate more than the memory budget (a failure of the run, not a pass).
    case budgetRefusal(String)

    /// Whether `self`, as an expectation, is met by `outcome`.
    public func isMet(by outcome: Outcome) -> Bool {
        switch (self, outcome) {
        case (.anyError, .errno), (.anyError, .errnoAt): true
        case (.status(let pattern), .status(let status)): pattern.matches(status)
        default: self == outcome
        }
    }

    /// The outcome as the scenario language writes it after `->` (`ok`, `EINVAL`, `value 0x2a` ...).
    public var description: String {
        switch self {
        case .ok: "ok"
        case .value(let value): "value \(hexOrDecimal(value))"
        case .written: "written"
        case .errno(let code): errnoName(code)
        case .anyError: "error"
        case .signal(let signal): signal == 7 ? "SIGBUS" : signal == 11 ? "SIGSEGV" : "signal \(signal)"
        case .memoryFault(let gpa, let size, let flags): "fault gpa=\(hexOrDecimal(gpa)) size=\(size) flags=\(flags)"
        case .mmio: "mmio"
        case .userspaceFault: "efault"
        case .errnoAt(let code, let offset): "\(errnoName(code)) error_offset=\(hexOrDecimal(offset))"
        case .status(let pattern): pattern.description
        case .unsupported(let why): "unsupported (\(why))"
        case .budgetRefusal(let why): "refused by the memory budget (\(why))"
        }
    }
}

/// One line of a scenario: an action and, optionally, the outcome it must have.
public struct Step: Hashable, Sendable {
    /// The operation.
    public var action: Action
    /// The outcome it must have, or nil when any outcome is accepted (the backends must still agree).
    public var expected: Outcome?
    /// The line in its source file (0 for generated steps).
    public var line: Int
    /// The action as its file writes it (the words before `->`, spacing kept), which messages
    /// quote; nil for a step built in code, which messages print as ``ScenarioFormat/line(for:)``.
    public var writtenAction: String?
    /// The expectation as its file writes it (the words after `->`), or nil.
    public var writtenExpectation: String?

    /// A step.
    /// - Parameters:
    ///   - action: The operation.
    ///   - expected: The outcome it must have, or nil for any.
    ///   - line: The line in its source file (0 for generated steps).
    public init(_ action: Action, expect expected: Outcome? = nil, line: Int = 0) {
        self.action = action
        self.expected = expected
        self.line = line
    }

    /// The action as a message quotes it: as written in its file, else as the language prints it.
    public var actionText: String { writtenAction ?? ScenarioFormat.line(for: action) }

    /// The expectation as a message quotes it (as written, else printed), or nil when there is none.
    public var expectationText: String? {
        expected.map { writtenExpectation ?? ScenarioFormat.outcomeText($0) }
    }
}

/// A named sequence of steps checking some GMEM-SPEC rules.
public struct Scenario: Hashable, Sendable {
    /// The scenario's name, unique in its file.
    public var name: String
    /// The GMEM-SPEC rule ids this scenario checks ("B5", "G2" …).
    public var rules: [String]
    /// What the kernel backend must offer to run the scenario; when the host lacks one, the
    /// scenario runs on the model alone and is reported kernel-skipped with the reason.
    public var requires: [Requirement]
    /// The steps, in order.
    public var steps: [Step]
    /// Where the scenario came from ("catalogue", a file path, "random seed 1").
    public var source: String
    /// The kernel profile the scenario is written for (`profile=`, a `KernelProfile` name), or
    /// nil for the run's profile. A pinned scenario runs under its profile on the model, and on
    /// the kernel only when the host answers like that profile.
    public var profile: String?

    /// A scenario; every value is taken as given (``ScenarioFormat/parse(_:source:)`` checks a file's).
    public init(
        name: String, rules: [String], requires: [Requirement] = [], steps: [Step], source: String = "",
        profile: String? = nil
    ) {
        self.name = name
        self.rules = rules
        self.requires = requires
        self.steps = steps
        self.source = source
        self.profile = profile
    }

    /// What a scenario needs from the kernel to be run there.
    public enum Requirement: String, Hashable, Sendable, CaseIterable {
        /// `KVM_SET_MEMORY_ATTRIBUTES` with `PRIVATE` (GMEM-SPEC A, G3).
        case memoryAttributes = "memory-attributes"
        /// A VM type with private memory (`KVM_X86_SW_PROTECTED_VM`).
        case protectedVM = "protected-vm"
        /// KVM's debugfs (`/sys/kernel/debug/kvm`), for `alive`.
        case debugfs
        /// In-place conversion on the guest_memfd (`KVM_SET_MEMORY_ATTRIBUTES2` on the file,
        /// `KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES`; GMEM-SPEC V): the model runs in
        /// guest_memfd-attribute mode.
        case guestMemfdAttributes = "gmem-attributes"
        /// `KVM_LINK_GUEST_MEMFD` (RFC v2; no capability: probed by the ioctl; GMEM-SPEC V10).
        case guestMemfdLink = "gmem-link"

        /// The kernel capability (or ioctl) the requirement stands for, as a skip names it.
        public var capabilityName: String {
            switch self {
            case .memoryAttributes: "KVM_CAP_MEMORY_ATTRIBUTES with KVM_MEMORY_ATTRIBUTE_PRIVATE"
            case .protectedVM: "KVM_X86_SW_PROTECTED_VM in KVM_CAP_VM_TYPES"
            case .debugfs: "KVM's debugfs"
            case .guestMemfdAttributes: "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES"
            case .guestMemfdLink: "KVM_LINK_GUEST_MEMFD"
            }
        }
    }

    /// The names used before any step bound them, with the step index (a scenario built in
    /// code, e.g. a shrunk random one, must declare what it uses to print as a valid file).
    public var undeclaredUses: [(step: Int, name: String)] {
        var bound: Set<String> = []
        var result: [(Int, String)] = []
        for (index, step) in steps.enumerated() {
            for name in step.action.uses where !bound.contains(name) { result.append((index, name)) }
            if let name = step.action.binds { bound.insert(name) }
        }
        return result
    }
}

func hexOrDecimal(_ value: UInt64) -> String {
    value < 4096 ? String(value) : "0x" + String(value, radix: 16)
}

/// Linux x86-64 errno names and numbers (asm-generic/errno-base.h and errno.h).
let errnoTable: [(String, Int32)] = [
    ("EPERM", 1), ("ENOENT", 2), ("ESRCH", 3), ("EINTR", 4), ("EIO", 5), ("ENXIO", 6), ("E2BIG", 7),
    ("ENOEXEC", 8), ("EBADF", 9), ("ECHILD", 10), ("EAGAIN", 11), ("ENOMEM", 12), ("EACCES", 13),
    ("EFAULT", 14), ("ENOTBLK", 15), ("EBUSY", 16), ("EEXIST", 17), ("EXDEV", 18), ("ENODEV", 19),
    ("ENOTDIR", 20), ("EISDIR", 21), ("EINVAL", 22), ("ENFILE", 23), ("EMFILE", 24), ("ENOTTY", 25),
    ("ETXTBSY", 26), ("EFBIG", 27), ("ENOSPC", 28), ("ESPIPE", 29), ("EROFS", 30), ("EMLINK", 31),
    ("EPIPE", 32), ("EDOM", 33), ("ERANGE", 34), ("EDEADLK", 35), ("ENAMETOOLONG", 36), ("ENOLCK", 37),
    ("ENOSYS", 38), ("ENOTEMPTY", 39), ("ELOOP", 40), ("ENOMSG", 42), ("EIDRM", 43), ("ENOSTR", 60),
    ("ENODATA", 61), ("ETIME", 62), ("ENOSR", 63), ("ENOLINK", 67), ("EPROTO", 71), ("EBADMSG", 74),
    ("EOVERFLOW", 75), ("EBADFD", 77), ("EILSEQ", 84), ("EUSERS", 87), ("ENOTSOCK", 88),
    ("EMSGSIZE", 90), ("EPROTOTYPE", 91), ("ENOPROTOOPT", 92), ("EPROTONOSUPPORT", 93),
    ("EOPNOTSUPP", 95), ("EAFNOSUPPORT", 97), ("EADDRINUSE", 98), ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100), ("ENETUNREACH", 101), ("ECONNRESET", 104), ("ENOBUFS", 105), ("EISCONN", 106),
    ("ENOTCONN", 107), ("ETIMEDOUT", 110), ("ECONNREFUSED", 111), ("EHOSTUNREACH", 113),
    ("EALREADY", 114), ("EINPROGRESS", 115), ("ESTALE", 116), ("EDQUOT", 122), ("ECANCELED", 125),
    ("EOWNERDEAD", 130), ("ENOTRECOVERABLE", 131), ("ERFKILL", 132), ("EHWPOISON", 133),
]

/// The symbolic name of a Linux errno ("EINVAL"), or "errno N".
public func errnoName(_ code: Int32) -> String {
    errnoTable.first { $0.1 == code }?.0 ?? "errno \(code)"
}

/// The errno for a symbolic name spelled exactly as errno.h spells it (`ENOTSUP` and
/// `EWOULDBLOCK` are aliases), or nil: `einval` is not a name.
func errnoCode(_ name: String) -> Int32? {
    if name == "ENOTSUP" { return 95 }
    if name == "EWOULDBLOCK" { return 11 }
    return errnoTable.first { $0.0 == name }?.1
}

/// Every errno name `errnoCode` takes, for the nearest-spelling hint.
let errnoNames = errnoTable.map(\.0) + ["ENOTSUP", "EWOULDBLOCK"]
