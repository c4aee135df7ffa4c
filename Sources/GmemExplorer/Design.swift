import GmemModel

/// A guest_memfd lifetime design to explore: the reference-counting policy, the protection
/// against cross-VM reuse, and the confidential-computing flavour whose extra rule applies.
public struct Design: Hashable, Sendable, CustomStringConvertible {
    /// Who pins whom.
    public enum Lifetime: String, Hashable, Sendable, CaseIterable {
        /// The file pins the VM; memslots do not pin the file; a file binds only to its creator.
        case upstream
        /// Memslots pin the file; the file does not pin the VM; its VM pointer is cleared
        /// when its last binding goes (the design proposed in the 2023 thread).
        case slotsPinFile = "slots-pin-file"
        /// Both: the file pins its VM and memslots pin the file (a reference cycle; not
        /// proposed in the thread, explored to show why upstream keeps only one direction).
        case bothPin = "both-pin"
    }

    /// The protections of the design thread for `slots-pin-file`.
    public enum Protection: String, Hashable, Sendable, CaseIterable {
        case none
        /// (a) prevent a different VM from ever binding the file.
        case a
        /// (b) free/zero pages when unbinding.
        case b
        /// (c) free/zero pages when binding to a different VM.
        case c
    }

    /// Which confidential-computing rule is checked on top.
    public enum Flavour: String, Hashable, Sendable, CaseIterable {
        /// No confidential hardware: only the generic invariants.
        case plain
        /// SNP-like: a VM's address-space id can be reused only when no page is still
        /// assigned to it (RMP entries must not outlive the ASID).
        case snp
        /// TDX-like: reclaiming a page needs its VM alive (the TDMR, i.e. the VM pointer).
        case tdx
    }

    public var lifetime: Lifetime
    public var protection: Protection
    public var flavour: Flavour

    public init(lifetime: Lifetime, protection: Protection = .none, flavour: Flavour = .plain) {
        self.lifetime = lifetime
        self.protection = lifetime == .slotsPinFile ? protection : .none
        self.flavour = flavour
    }

    /// The model policy that implements the design.
    public var policy: Policy {
        switch (lifetime, protection) {
        case (.upstream, _): .upstream
        case (.bothPin, _): .bothPin
        case (.slotsPinFile, .none): .memslotsPinFile
        case (.slotsPinFile, .a): .memslotsPinFileNeverAnotherVM
        case (.slotsPinFile, .b): .memslotsPinFileZeroOnUnbind
        case (.slotsPinFile, .c): .memslotsPinFileZeroOnRebind
        }
    }

    /// Every design the table covers: upstream, slots-pin-file with each protection, and
    /// both-pin, in each flavour.
    public static var all: [Design] {
        Flavour.allCases.flatMap { flavour in
            [Design(lifetime: .upstream, flavour: flavour)]
                + Protection.allCases.map { Design(lifetime: .slotsPinFile, protection: $0, flavour: flavour) }
                + [Design(lifetime: .bothPin, flavour: flavour)]
        }
    }

    public var description: String {
        shortName + " (\(flavour.rawValue))"
    }
}
