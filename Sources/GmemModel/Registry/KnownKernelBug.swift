/// A kernel bug GmemKit's model has caught: a place where a released kernel breaks a rule of
/// the contract (the model follows the rule; the kernel does not). `gmem check` reports a
/// divergence that matches one as "kernel bug (known: KB1 …)", counted apart from other
/// divergences and never as agreement; `docs/GMEM-SPEC.md` lists them after the rules.
public struct KnownKernelBug: Hashable, Sendable {
    /// The bug's id ("KB1").
    public let id: String
    /// The contract rule the kernel breaks ("B3").
    public let rule: String
    /// The kernel releases it was seen on (`uname -r` prefixes, "6.18.44").
    public let kernelsSeen: [String]
    /// The upstream function the bug is in (`kvm_gmem_bind`).
    public let function: String
    /// What the kernel does, why, and what it should do.
    public let explanation: String
    /// Which divergences are this bug (``Signature``).
    public let signature: Signature

    /// The divergences a bug accounts for: a precise shape of step and of the two outcomes,
    /// so that no other divergence is ever taken for it.
    public enum Signature: Hashable, Sendable {
        /// A guest_memfd binding (`KVM_SET_USER_MEMORY_REGION2` with `KVM_MEM_GUEST_MEMFD`)
        /// whose `guest_memfd_offset + memory_size` is above `INT64_MAX` (without wrapping a
        /// `u64`): the model answers `EINVAL`, the kernel accepts it.
        case bindingEndPastInt64Max
    }

    /// A known bug; every field is taken as given.
    public init(
        _ id: String, rule: String, kernelsSeen: [String], function: String, explanation: String,
        signature: Signature
    ) {
        self.id = id
        self.rule = rule
        self.kernelsSeen = kernelsSeen
        self.function = function
        self.explanation = explanation
        self.signature = signature
    }

    /// Whether a guest_memfd binding at `offset` of `size` bytes is in this bug's range:
    /// for ``Signature/bindingEndPastInt64Max``, `offset + size` above `INT64_MAX` and not
    /// wrapping a `u64` (a `u64` wrap is refused by `kvm_set_memory_region` itself).
    public func covers(bindingOffset offset: UInt64, size: UInt64) -> Bool {
        switch signature {
        case .bindingEndPastInt64Max:
            let (end, wrapped) = offset.addingReportingOverflow(size)
            return !wrapped && end > UInt64(Int64.max)
        }
    }

    /// One line: id, rule, function and the kernels seen.
    public var summary: String {
        "\(id): GMEM-\(rule) broken by \(function) (seen on \(kernelsSeen.joined(separator: ", ")))"
    }

    /// Every known kernel bug, by id.
    public static let all: [KnownKernelBug] = [
        KnownKernelBug(
            "KB1", rule: "B3", kernelsSeen: ["6.18.44"], function: "kvm_gmem_bind",
            explanation:
                "`KVM_SET_USER_MEMORY_REGION2` binds a guest_memfd at an offset past its end when `guest_memfd_offset + memory_size` is above `INT64_MAX`: `kvm_gmem_bind` checks `offset + size > i_size_read(inode)` in `loff_t`, the sum wraps negative and the check passes (`kvm_set_memory_region` refuses only a `u64` wrap). Found by the model: an 8 KiB file bound at offset `0x7FFFFFFFFFFFF000` is `ok` on the kernel, `EINVAL` by rule B3. The fix is an overflow-checked sum (`check_add_overflow`, or `offset > i_size - size`). `gmem check` stops the kernel side of a scenario at such a step, so nothing accesses the bogus slot.",
            signature: .bindingEndPastInt64Max)
    ]

    /// The known bug with `id` ("KB1"), or nil.
    public static func bug(_ id: String) -> KnownKernelBug? { all.first { $0.id == id } }
}
