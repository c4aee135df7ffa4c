/// The modelling choices a verdict may rest on: readings of the 2023 proposal that the thread
/// does not settle, made explicit so each conclusion can be shown to hold (or not) under each
/// reading. The defaults are the kernel's real behaviour where it has one, and the explorer's
/// historical reading elsewhere (``kernel``).
public struct ModellingChoices: Hashable, Sendable, CustomStringConvertible {
    /// When a new guest_memfd starts naming a VM (its `gmem->kvm` pointer).
    public enum FileNamesVM: String, Hashable, Sendable, CaseIterable {
        /// At creation: the VM whose fd created it (upstream Linux, `kvm_gmem_create`).
        case atCreation = "at-creation"
        /// At its first bind (the 2023 proposal read literally: a file is not tied to any VM
        /// until a memslot binds it). Only designs whose file holds no VM reference can
        /// leave the pointer empty; upstream and both-pin take their reference at creation.
        case atFirstBind = "at-first-bind"
    }

    /// What happens to a file's VM pointer when that VM is torn down while the file lives
    /// (possible only in designs where the file does not pin the VM).
    public enum PointerAtTeardown: String, Hashable, Sendable, CaseIterable {
        /// Cleared, for the designs that clear the pointer on the last unbind (none, b, c):
        /// VM teardown walks the files that name it. That needs a VM → files list, which the
        /// proposal never describes. Protection (a) keeps it (it must refuse every other VM).
        case cleared
        /// Kept: the pointer dangles (a freed `struct kvm *`) in every such design.
        case kept
    }

    /// When a file names a VM.
    public var fileNamesVM: FileNamesVM
    /// VM teardown and the files that name it.
    public var pointerAtTeardown: PointerAtTeardown
    /// Whether a memslot deletion that frees a whole file (its last reference) counts as
    /// destroying that file's data for `memslot-delete-keeps-data` (default: only files that
    /// stay alive count).
    public var countFilesFreedByDelete: Bool
    /// Whether a new VM may get the identity (kernel pointer) of a destroyed one, so a
    /// dangling pointer can match it (lowest free identity first, like the kernel's
    /// allocators reuse memory). Default: identities are never reused, a dangling pointer
    /// matches no VM.
    public var vmIdentitiesReused: Bool

    public init(
        fileNamesVM: FileNamesVM = .atCreation, pointerAtTeardown: PointerAtTeardown = .cleared,
        countFilesFreedByDelete: Bool = false, vmIdentitiesReused: Bool = false
    ) {
        self.fileNamesVM = fileNamesVM
        self.pointerAtTeardown = pointerAtTeardown
        self.countFilesFreedByDelete = countFilesFreedByDelete
        self.vmIdentitiesReused = vmIdentitiesReused
    }

    /// The kernel's behaviour (and the explorer's reading where the kernel has none).
    public static let kernel = ModellingChoices()

    /// Each non-default choice alone, for the table of which verdicts survive which choice.
    public static let alternatives: [(name: String, choices: ModellingChoices)] = [
        ("file names its VM at first bind", ModellingChoices(fileNamesVM: .atFirstBind)),
        ("pointer kept at VM teardown", ModellingChoices(pointerAtTeardown: .kept)),
        ("files freed by a delete count", ModellingChoices(countFilesFreedByDelete: true)),
        ("VM identities reused", ModellingChoices(vmIdentitiesReused: true)),
    ]

    /// Whether these are the kernel's choices (GmemModel runs exactly these).
    public var isKernel: Bool { self == .kernel }

    public var description: String {
        var parts: [String] = []
        if fileNamesVM != .atCreation { parts.append("file-names-vm=\(fileNamesVM.rawValue)") }
        if pointerAtTeardown != .cleared { parts.append("pointer-at-teardown=\(pointerAtTeardown.rawValue)") }
        if countFilesFreedByDelete { parts.append("count-freed-files") }
        if vmIdentitiesReused { parts.append("reuse-vm-identities") }
        return parts.isEmpty ? "kernel choices" : parts.joined(separator: ", ")
    }
}
