/// The lifetime design the model runs: upstream Linux, or one of the alternatives weighed in
/// the design thread (seeds/000), so a design explorer can compare them on the same model.
///
/// A policy decides exactly three things: who holds references (file → VM, memslot → file),
/// whether a file may bind to a VM at bind time, and what unbinding and rebinding do to the
/// owner and the data. It is chosen when the kernel is created and never fails.
public enum Policy: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Upstream: the file pins its VM, memslots do not pin the file, a file binds only to the
    /// VM that created it, for life (option (a) with upstream refcounting).
    case upstream
    /// The rejected design: memslots pin the file, the file does not pin the VM, and the
    /// file's VM pointer is cleared when its last binding goes; no protection (the attack).
    case memslotsPinFile
    /// The rejected design with protection (a): a file never binds to a VM other than its
    /// creator.
    case memslotsPinFileNeverAnotherVM
    /// The rejected design with protection (b): unbinding zeroes (frees) the unbound range.
    case memslotsPinFileZeroOnUnbind
    /// The rejected design with protection (c): binding to a VM other than the last one the
    /// data belonged to zeroes (frees) the whole file first.
    case memslotsPinFileZeroOnRebind
    /// Both references at once: the file pins its VM (upstream) *and* memslots pin the file
    /// (the proposal). Nobody proposed it; it is here because it is the obvious merge of the
    /// two, and it is a reference cycle (VM → memslot → file → VM) that nothing ever frees.
    case bothPin

    /// The policy's name as `gmem explore` prints and takes it (`upstream`, `memslots-pin-file`, ...).
    public var description: String {
        switch self {
        case .upstream: "upstream"
        case .memslotsPinFile: "memslots-pin-file"
        case .memslotsPinFileNeverAnotherVM: "memslots-pin-file+(a)never-another-vm"
        case .memslotsPinFileZeroOnUnbind: "memslots-pin-file+(b)zero-on-unbind"
        case .memslotsPinFileZeroOnRebind: "memslots-pin-file+(c)zero-on-rebind"
        case .bothPin: "file-pins-vm+memslots-pin-file"
        }
    }

    /// Whether a guest_memfd holds a reference on the VM that created it (upstream: yes).
    public var fileHoldsVMReference: Bool { self == .upstream || self == .bothPin }

    /// Whether a memslot bound to a guest_memfd holds a reference on the file.
    public var memslotHoldsFileReference: Bool { self != .upstream }

    /// Whether the file forgets its VM when its last binding is removed (so another VM may
    /// bind it next).
    public var clearsOwnerOnLastUnbind: Bool {
        switch self {
        case .upstream, .memslotsPinFileNeverAnotherVM, .bothPin: false
        case .memslotsPinFile, .memslotsPinFileZeroOnUnbind, .memslotsPinFileZeroOnRebind: true
        }
    }

    /// Whether removing a binding frees (zeroes) the file range it covered.
    public var zeroesOnUnbind: Bool { self == .memslotsPinFileZeroOnUnbind }

    /// Whether binding to a VM other than the data's last VM frees (zeroes) the whole file.
    public var zeroesOnRebindToAnotherVM: Bool { self == .memslotsPinFileZeroOnRebind }

    /// The bind-time owner check: may a file whose owner is `owner` bind to VM `machine`?
    public func mayBind(owner: FileOwner, to machine: Int) -> Bool {
        switch owner {
        case .machine(let id): id == machine
        case .none: true
        case .destroyedMachine: false
        }
    }
}

/// Which VM a guest_memfd is tied to (the kernel's `gmem->kvm`), or whose data it holds.
public enum FileOwner: Hashable, Sendable {
    /// No VM (the pointer was cleared; alternative policies only).
    case none
    /// The live VM with this id.
    case machine(Int)
    /// A VM that has been destroyed (the pointer would dangle; no VM can match it).
    case destroyedMachine
}
