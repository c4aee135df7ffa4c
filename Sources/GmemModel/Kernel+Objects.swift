/// VMs, vCPUs, stats fds and the fd table: creating, duplicating and closing references.
extension ModelKernel {
    /// `KVM_CREATE_VM(type)`: creates a VM and returns its fd (the VM's first reference).
    ///
    /// Fails with `EINVAL` for a VM type the kernel does not support (`KVM_CAP_VM_TYPES`).
    public mutating func createVM(type: UInt64 = GmemABI.VMType.default) -> Result<Int32, ModelErrno> {
        guard capabilities.vmTypes.contains(type) else { return .failure(.EINVAL) }
        let machine = Self.insertLowest(Machine(type: type), into: &machines)
        let file = createOpenFile(OpenFile(kind: .machine, machine: machine))
        return .success(installDescriptor(for: file))
    }

    /// `KVM_CREATE_VCPU(id)` on a VM fd: returns the vCPU fd, which pins the VM (L2).
    ///
    /// Fails with `EBADF` (closed fd), `EINVAL` (vCPU fd, or id ≥ `KVM_MAX_VCPU_IDS`),
    /// `ENOTTY` (not a KVM fd) or `EEXIST` (id already created).
    public mutating func createVCPU(vmFD: Int32, id: UInt32 = 0) -> Result<Int32, ModelErrno> {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        guard id < GmemABI.maxVCPUIDs else { return .failure(.EINVAL) }
        let ids = machines[machine]!.vcpuIDs
        let position = ids.firstIndex(where: { $0 >= id }) ?? ids.count
        if position < ids.count, ids[position] == id { return .failure(.EEXIST) }
        machines[machine]!.vcpuIDs.insert(id, at: position)
        machines[machine]!.references += 1
        let file = createOpenFile(OpenFile(kind: .vcpu, machine: machine, vcpuID: id))
        return .success(installDescriptor(for: file))
    }

    /// `KVM_GET_STATS_FD` on a VM or vCPU fd: returns a stats fd, which pins the VM (L6).
    ///
    /// Fails with `EBADF` (closed fd) or `ENOTTY` (not a VM or vCPU fd).
    public mutating func createStatsFD(fd: Int32) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard file.kind == .machine || file.kind == .vcpu else { return .failure(.ENOTTY) }
        machines[file.machine]!.references += 1
        let stats = createOpenFile(OpenFile(kind: .stats, machine: file.machine))
        return .success(installDescriptor(for: stats))
    }

    /// `memfd_create` + `ftruncate(size)`: an ordinary file that is not a guest_memfd, for
    /// binding errors (B4); the model implements no other operation on it.
    ///
    /// Never fails.
    public mutating func createMemfd(size: UInt64 = 0) -> Int32 {
        let inode = Self.insertLowest(Inode(kind: .memfd, size: size), into: &inodes)
        let file = createOpenFile(OpenFile(kind: .memfd, inode: inode))
        return installDescriptor(for: file)
    }

    /// `dup(fd)`: a new fd at the lowest free number for the same open file.
    ///
    /// Fails with `EBADF` for a closed fd.
    public mutating func dup(_ fd: Int32) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), openFiles[index] != nil else { return .failure(.EBADF) }
        openFiles[index]!.references += 1
        return .success(installDescriptor(for: index))
    }

    /// `close(fd)`: drops the fd's reference; the last reference to a guest_memfd invalidates
    /// its bindings, frees its memory and drops its VM reference (L5); the last reference to
    /// a VM destroys it (L6).
    ///
    /// Fails with `EBADF` for a closed fd.
    public mutating func close(_ fd: Int32) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd) else { return .failure(.EBADF) }
        Self.removeEntry(Int(fd - Self.firstDescriptor), from: &descriptors)
        dropFileReference(index)
        return .success(())
    }
}
