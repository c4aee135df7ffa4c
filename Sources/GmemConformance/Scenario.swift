import GmemModel

/// A guest-physical or host address in a scenario: a number, or an offset into a named
/// host mapping (`P+0x1000`), resolved by each backend to its own addresses.
public enum AddressExpression: Hashable, Sendable, CustomStringConvertible {
    case literal(UInt64)
    case mapping(String, offset: UInt64)

    public var description: String {
        switch self {
        case .literal(let value): hexOrDecimal(value)
        case .mapping(let name, let offset): offset == 0 ? name : "\(name)+\(hexOrDecimal(offset))"
        }
    }
}

/// One operation of a scenario, with objects named rather than numbered, so the same step
/// runs on the model and on the kernel whatever descriptors and addresses each hands out.
public enum Action: Hashable, Sendable {
    case createVM(name: String, type: UInt64)
    case createVCPU(name: String, vm: String, id: UInt32)
    case createStats(name: String, of: String)
    case createGuestMemfd(name: String, vm: String, size: UInt64, flags: UInt64, reserved: UInt64)
    case createMemfd(name: String, size: UInt64)
    case dup(name: String, of: String)
    case close(String)
    /// `KVM_SET_USER_MEMORY_REGION` (version 1) or `…REGION2` (version 2).
    case setRegion(vm: String, version: Int, slot: UInt32, flags: UInt32, gpa: UInt64, size: UInt64,
                   userspace: AddressExpression, file: String?, offset: UInt64)
    case fallocate(file: String, mode: Int32, offset: Int64, length: Int64)
    case fileOperation(file: String, ModelKernel.FileOperation)
    case reopen(name: String, of: String)
    case mmap(name: String, file: String, protection: Int32, flags: Int32, offset: UInt64, length: UInt64)
    case mapAnonymous(name: String, length: UInt64, protection: Int32)
    case munmap(mapping: String, offset: UInt64, length: UInt64)
    case hostRead(mapping: String, offset: UInt64)
    case hostWrite(mapping: String, offset: UInt64, value: UInt64)
    case setAttributes(vm: String, gpa: UInt64, size: UInt64, attributes: UInt64, flags: UInt64)
    case guestAccess(via: String, gpa: UInt64, write: UInt64?, isPrivate: Bool)
    /// `fstat` of a guest_memfd: regular file, permission bits, size, close-on-exec (C5).
    case stat(String)
    /// Whether the VM that `vm` named at its creation still exists in the kernel (L1, L5, L6):
    /// the model's VM table; on the kernel, KVM's debugfs folder of the VM.
    case alive(String)

    /// The name this action binds, if it creates something.
    public var binds: String? {
        switch self {
        case .createVM(let name, _), .createVCPU(let name, _, _), .createStats(let name, _),
             .createGuestMemfd(let name, _, _, _, _), .createMemfd(let name, _), .dup(let name, _),
             .reopen(let name, _), .mmap(let name, _, _, _, _, _), .mapAnonymous(let name, _, _):
            name
        default:
            nil
        }
    }

    /// The names this action uses.
    public var uses: [String] {
        switch self {
        case .createVM, .createMemfd, .mapAnonymous: []
        case .createVCPU(_, let vm, _): [vm]
        case .createStats(_, let of): [of]
        case .createGuestMemfd(_, let vm, _, _, _): [vm]
        case .dup(_, let of), .reopen(_, let of): [of]
        case .close(let name): [name]
        case .setRegion(let vm, _, _, _, _, _, let userspace, let file, _):
            [vm] + (file.map { [$0] } ?? []) + (userspace.mappingName.map { [$0] } ?? [])
        case .fallocate(let file, _, _, _), .fileOperation(let file, _): [file]
        case .mmap(_, let file, _, _, _, _): [file]
        case .munmap(let mapping, _, _), .hostRead(let mapping, _), .hostWrite(let mapping, _, _): [mapping]
        case .setAttributes(let vm, _, _, _, _): [vm]
        case .guestAccess(let via, _, _, _): [via]
        case .stat(let name), .alive(let name): [name]
        }
    }
}

extension AddressExpression {
    var mappingName: String? { if case .mapping(let name, _) = self { name } else { nil } }
}

/// What one action ended in, in terms both backends can produce.
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    /// Success (a created object is bound to its name; its number is not compared).
    case ok
    /// A value read by the host or the guest (a page's first 8 bytes: its content token).
    case value(UInt64)
    /// The guest's write completed.
    case written
    /// The operation failed with this errno.
    case errno(Int32)
    /// A host access raised this signal (SIGBUS 7, SIGSEGV 11).
    case signal(Int32)
    /// `KVM_RUN` failed with `EFAULT` and a `KVM_EXIT_MEMORY_FAULT` exit.
    case memoryFault(gpa: UInt64, size: UInt64, flags: UInt64)
    /// The guest access exited to userspace as MMIO.
    case mmio
    /// `KVM_RUN` failed with `EFAULT` and no memory-fault information.
    case userspaceFault
    /// `fstat`: permission bits, size, close-on-exec (for a regular file).
    case status(mode: UInt32, size: UInt64, closeOnExec: Bool)
    /// The backend cannot perform this action here; the text says why.
    case unsupported(String)

    public var description: String {
        switch self {
        case .ok: "ok"
        case .value(let value): "value \(hexOrDecimal(value))"
        case .written: "written"
        case .errno(let code): errnoName(code)
        case .signal(let signal): signal == 7 ? "SIGBUS" : signal == 11 ? "SIGSEGV" : "signal \(signal)"
        case .memoryFault(let gpa, let size, let flags): "fault gpa=\(hexOrDecimal(gpa)) size=\(size) flags=\(flags)"
        case .mmio: "mmio"
        case .userspaceFault: "efault"
        case .status(let mode, let size, let cloexec): "stat mode=0\(String(mode, radix: 8)) size=\(size) cloexec=\(cloexec ? 1 : 0)"
        case .unsupported(let why): "unsupported (\(why))"
        }
    }
}

/// One line of a scenario: an action and, optionally, the outcome it must have.
public struct Step: Hashable, Sendable {
    public var action: Action
    public var expected: Outcome?
    /// The line in its source file (0 for generated steps).
    public var line: Int

    public init(_ action: Action, expect expected: Outcome? = nil, line: Int = 0) {
        self.action = action
        self.expected = expected
        self.line = line
    }
}

/// A named sequence of steps checking some GMEM-SPEC rules.
public struct Scenario: Hashable, Sendable {
    public var name: String
    /// The GMEM-SPEC rule ids this scenario checks ("B5", "G2" …).
    public var rules: [String]
    /// When set, the kernel backend does not run the scenario and says why (a capability
    /// the host lacks; checked by the kernel backend itself, see `requires`).
    public var requires: Requirement?
    public var steps: [Step]
    /// Where the scenario came from ("catalogue", a file path, "random seed 1").
    public var source: String

    public init(name: String, rules: [String], requires: Requirement? = nil, steps: [Step], source: String = "") {
        self.name = name
        self.rules = rules
        self.requires = requires
        self.steps = steps
        self.source = source
    }

    /// What a scenario needs from the kernel to be run there.
    public enum Requirement: String, Hashable, Sendable {
        /// `KVM_SET_MEMORY_ATTRIBUTES` with `PRIVATE` (GMEM-SPEC A, G3).
        case memoryAttributes = "memory-attributes"
        /// A VM type with private memory (`KVM_X86_SW_PROTECTED_VM`).
        case protectedVM = "protected-vm"
    }
}

func hexOrDecimal(_ value: UInt64) -> String {
    value < 4096 ? String(value) : "0x" + String(value, radix: 16)
}

/// The symbolic name of a Linux errno ("EINVAL"), or "errno N".
public func errnoName(_ code: Int32) -> String {
    let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 5: "EIO", 6: "ENXIO", 9: "EBADF", 12: "ENOMEM", 13: "EACCES",
        14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 22: "EINVAL", 24: "EMFILE",
        25: "ENOTTY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 75: "EOVERFLOW", 95: "EOPNOTSUPP",
    ]
    return names[code] ?? "errno \(code)"
}

/// The errno for a symbolic name, or nil.
func errnoCode(_ name: String) -> Int32? {
    let codes: [String: Int32] = [
        "EPERM": 1, "ENOENT": 2, "EIO": 5, "ENXIO": 6, "EBADF": 9, "ENOMEM": 12, "EACCES": 13,
        "EFAULT": 14, "EBUSY": 16, "EEXIST": 17, "ENODEV": 19, "EINVAL": 22, "EMFILE": 24,
        "ENOTTY": 25, "EFBIG": 27, "ENOSPC": 28, "ESPIPE": 29, "EOVERFLOW": 75, "EOPNOTSUPP": 95,
    ]
    return codes[name.uppercased()]
}
