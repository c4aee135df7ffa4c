/// One rule of the guest_memfd contract as GmemKit states, models and checks it: the unit
/// that code, tests and scenarios cite (`// GMEM-B5`, `rules=B5`), and from which
/// `docs/GMEM-SPEC.md` is generated (`gmem rules --markdown`).
///
/// A rule is a plain value: construction never fails; `RuleRegistry` checks the set as a whole.
public struct ContractRule: Hashable, Sendable {
    /// The rule's id: its section letter and a number ("B5").
    public let id: String
    /// The statement, one sentence in this project's words.
    public let statement: String
    /// Where the rule comes from: what this host shows, what only upstream kernels show, or
    /// what GmemKit adds on top of the kernel.
    public let scope: Scope
    /// The kernel profiles (`KernelProfile.name`) on which `statement` holds as written.
    public let holdsFor: [String]
    /// How the rule reads on the profiles it does not hold for: profile name and statement.
    public let elsewhere: [ProfileStatement]
    /// The kernel functions and selftests the rule mirrors (`kvm_gmem_bind`,
    /// `selftest guest_memfd_test.c: test_fallocate`); empty for GmemKit's own rules.
    public let mirrors: [String]
    /// The scenarios and tests that check it.
    public let verifiedBy: [Verification]

    /// A rule; every field is taken as given.
    public init(
        _ id: String, _ scope: Scope, _ statement: String, holdsFor: [String] = KernelProfile.allNames,
        elsewhere: [ProfileStatement] = [], mirrors: [String], verifiedBy: [Verification]
    ) {
        self.id = id
        self.statement = statement
        self.scope = scope
        self.holdsFor = holdsFor
        self.elsewhere = elsewhere
        self.mirrors = mirrors
        self.verifiedBy = verifiedBy
    }

    /// The section the rule belongs to, from its id's letter (nil for an id without one).
    public var section: Section? { id.first.flatMap { Section(rawValue: $0) } }

    /// Whether the statement holds as written on `profile`.
    public func holds(on profile: KernelProfile) -> Bool { holdsFor.contains(profile.name) }

    /// The statement as it reads on `profile`.
    public func statement(on profile: KernelProfile) -> String {
        elsewhere.first { $0.profile == profile.name }?.statement ?? statement
    }

    /// Where a rule comes from.
    public enum Scope: String, Hashable, Sendable, CaseIterable {
        /// Observed on the reference host (Linux 6.18.44, kvm_pvm) and checked there.
        case host
        /// The kernel's semantics that the reference host cannot show (no memory attributes,
        /// default VM type only): the model implements them, kernel checks skip with a reason.
        case upstream
        /// What GmemKit adds on top of the kernel (its own library's guarantees).
        case project
    }

    /// How a rule reads on one profile where its main statement does not hold.
    public struct ProfileStatement: Hashable, Sendable {
        /// The ``KernelProfile/name`` of the profile this statement is for.
        public let profile: String
        /// The rule as it reads on that profile.
        public let statement: String

        /// A statement for one profile.
        /// - Parameters:
        ///   - profile: The profile's ``KernelProfile/name``.
        ///   - statement: The rule as it reads there.
        public init(_ profile: String, _ statement: String) {
            self.profile = profile
            self.statement = statement
        }
    }

    /// One check of a rule.
    public enum Verification: Hashable, Sendable, CustomStringConvertible {
        /// A scenario of the built-in catalogue (`gmem check`), by name; it cites the rule.
        case scenario(String)
        /// A test file of the package, by path from the repository root; it cites the rule.
        case test(String)

        /// `scenario NAME` or `test PATH`.
        public var description: String {
            switch self {
            case .scenario(let name): "scenario \(name)"
            case .test(let path): "test \(path)"
            }
        }
    }

    /// The contract's sections, in the order the specification lists them.
    public enum Section: Character, Hashable, Sendable, CaseIterable {
        /// C: creation (`KVM_CREATE_GUEST_MEMFD` on the VM fd).
        case creation = "C"
        /// F: file operations on a guest_memfd.
        case files = "F"
        /// M: host mappings (`mmap` of a guest_memfd).
        case mappings = "M"
        /// B: binding (`KVM_SET_USER_MEMORY_REGION2` with `KVM_MEM_GUEST_MEMFD`).
        case binding = "B"
        /// L: lifetime (what keeps a file, a VM and their memory alive).
        case lifetime = "L"
        /// G: guest access.
        case guest = "G"
        /// A: memory attributes (`KVM_SET_MEMORY_ATTRIBUTES`).
        case attributes = "A"
        /// V: in-place conversion and linking on the guest_memfd (profile `next`).
        case conversion = "V"
        /// N: the other surfaces after 6.18.
        case next = "N"
        /// P: what GmemKit adds on top of the kernel.
        case project = "P"

        /// The section's heading.
        public var title: String {
            switch self {
            case .creation: "creation (`KVM_CREATE_GUEST_MEMFD` on the VM fd)"
            case .files: "file operations on a guest_memfd"
            case .mappings: "host mappings (`mmap` of a guest_memfd)"
            case .binding: "binding (`KVM_SET_USER_MEMORY_REGION2` with `KVM_MEM_GUEST_MEMFD`)"
            case .lifetime: "lifetime"
            case .guest: "guest access"
            case .attributes: "memory attributes (`KVM_SET_MEMORY_ATTRIBUTES`)"
            case .conversion:
                "in-place conversion and linking on the guest_memfd (profile `next`; series numbers provisional)"
            case .next: "the other surfaces after 6.18"
            case .project: "what GmemKit adds on top"
            }
        }
    }
}
