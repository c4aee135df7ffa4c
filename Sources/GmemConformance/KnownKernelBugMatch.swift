import GmemModel

#if canImport(Glibc)
import Glibc
#endif

extension KnownKernelBug {
    /// The known kernel bug a divergence is, if any: the step's action and both outcomes must
    /// have the bug's exact shape (`KnownKernelBug.Signature`), so that no other divergence
    /// is ever taken for one.
    public static func matching(_ action: Action, model: Outcome, kernel: Outcome) -> KnownKernelBug? {
        all.first { $0.matches(action, model: model, kernel: kernel) }
    }

    /// Whether this bug accounts for `action` answering `model` on the model and `kernel` on
    /// the kernel.
    public func matches(_ action: Action, model: Outcome, kernel: Outcome) -> Bool {
        switch signature {
        case .bindingEndPastInt64Max:
            // A guest_memfd binding (REGION2, KVM_MEM_GUEST_MEMFD, a file named), model EINVAL,
            // kernel ok, offset + size above INT64_MAX.
            guard case .setRegion(_, let version, _, let flags, _, let size, _, let file, let offset) = action,
                version == 2, flags & 4 != 0, file != nil, size != 0, model == .errno(EINVAL), kernel == .ok
            else { return false }
            return covers(bindingOffset: offset, size: size)
        }
    }
}
