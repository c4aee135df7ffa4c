/// Linking (GMEM-SPEC V10, provisional): `KVM_LINK_GUEST_MEMFD` (RFC v2, May 2025, Ackerley
/// Tng and Ryan Afranji, unmerged) gives another VM a new file on the *same inode* — the
/// 2023 split of "the inode (physical memory / data) and file (VM's view / mappings)".
extension ModelKernel {
    /// `KVM_LINK_GUEST_MEMFD({fd, flags})` on the VM behind `vmFD` (`kvm_gmem_link`): a new
    /// descriptor for a new file owned by that VM, on the inode of the guest_memfd `fd`; the
    /// file starts with no bindings, shares the inode's data, shared/private state and pins,
    /// and (upstream policy) holds a reference on its new VM. No check is made on the source
    /// VM: it may be alive, bound, or gone.
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd; `ENOTTY` on a kernel without the
    /// ioctl (every released kernel); `EINVAL` for non-zero flags, a source that is not open,
    /// not a guest_memfd, or already the linking VM's; `EMFILE` with no descriptor left.
    public mutating func link(vmFD: Int32, fd: Int32, flags: UInt64) -> Result<Int32, ModelErrno> {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        guard capabilities.guestMemfdLink else { return .failure(.ENOTTY) }
        let source = fileIndex(fd).flatMap { openFiles[$0] }
        if let error = GmemRules.validateLink(
            flags: flags, sourceIsOpen: source != nil, sourceIsGuestMemfd: source?.kind == .guestMemfd,
            sourceOwnedByLinkingVM: source?.guestMemfd?.owner == .machine(machine))
        {
            return .failure(error)
        }
        guard descriptorAvailable else { return .failure(.EMFILE) }
        let gmem = source!.guestMemfd!
        inodes[source!.inode]!.references += 1
        let holds = policy.fileHoldsVMReference
        if holds { machines[machine]!.references += 1 }
        let view = GuestMemfdFile(owner: .machine(machine), holdsMachineReference: holds, dataOwner: gmem.dataOwner)
        let file = createOpenFile(OpenFile(kind: .guestMemfd, inode: source!.inode, guestMemfd: view))
        return .success(installDescriptor(for: file))
    }
}
