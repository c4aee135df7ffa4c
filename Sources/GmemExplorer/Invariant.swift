/// A property every reachable state (or step) of a design must keep.
public enum Invariant: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case noCrossVMExposure = "no-cross-vm-exposure"
    case noUseAfterFree = "no-use-after-free"
    case confidentialMemoryDiesWithVM = "confidential-memory-dies-with-its-vm"
    case deleteKeepsData = "memslot-delete-keeps-data"
    case quiescenceFreesEverything = "quiescence-frees-everything"

    /// The one-line statement printed with a violation.
    public func statement(for flavour: Design.Flavour) -> String {
        switch self {
        case .noCrossVMExposure:
            "a guest read on behalf of VM B never returns data written on behalf of VM A"
        case .noUseAfterFree:
            "no binding or file refers to a destroyed VM"
        case .confidentialMemoryDiesWithVM:
            switch flavour {
            case .snp:
                "a VM's ASID can be reused only when no page is still assigned to it: no destroyed VM leaves pages behind"
            case .tdx: "reclaiming a page needs its VM alive: no page of a destroyed VM is left to reclaim"
            case .plain: "confidential memory never outlives its VM (checked in the snp and tdx flavours)"
            }
        case .deleteKeepsData:
            "deleting a memslot never destroys data"
        case .quiescenceFreesEverything:
            "when every descriptor and mapping is gone, every VM and every page is freed"
        }
    }

    /// Whether the invariant is checked in `flavour`.
    public func applies(to flavour: Design.Flavour) -> Bool {
        self != .confidentialMemoryDiesWithVM || flavour != .plain
    }

    public var description: String { rawValue }
}
