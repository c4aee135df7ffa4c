/// VMs, vCPUs, stats fds and the fd table: creating, duplicating and closing references.
extension ModelKernel {
    /// `KVM_CREATE_VM(type)` on the process's /dev/kvm: creates a VM and returns its fd (the
    /// VM's first reference, close-on-exec).
    ///
    /// Fails with `EMFILE` at the fd limit, then `EINVAL` for a VM type the kernel does not
    /// support (`KVM_CAP_VM_TYPES`).
    public mutating func createVM(type: UInt64 = GmemABI.VMType.default) -> Result<Int32, ModelErrno> {
        guard descriptorAvailable else { return .failure(.EMFILE) }
        guard capabilities.vmTypes.contains(type) else { return .failure(.EINVAL) }
        let machine = Self.insertLowest(Machine(type: type), into: &machines, hint: &hints.machines)
        let file = createOpenFile(OpenFile(kind: .machine, machine: machine))
        return .success(installDescriptor(for: file, closeOnExec: true))
    }

    /// `KVM_CREATE_VM(type)` as an ioctl on `deviceFD`, which should be /dev/kvm.
    ///
    /// Fails with `EBADF` (closed fd), `ENOTTY` (a VM fd, which does not know the ioctl, or
    /// any non-KVM fd), `EINVAL` (a vCPU fd), then as ``createVM(type:)``.
    public mutating func createVM(type: UInt64, deviceFD: Int32) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(deviceFD), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .kvmDevice: return createVM(type: type)
        case .vcpu: return .failure(.EINVAL)
        case .machine, .stats, .guestMemfd, .memfd, .standardStream: return .failure(.ENOTTY)
        }
    }

    /// `open("/dev/kvm", O_RDWR | O_CLOEXEC)`.
    ///
    /// Fails with `EMFILE` at the fd limit.
    public mutating func openKVMDevice() -> Result<Int32, ModelErrno> {
        guard descriptorAvailable else { return .failure(.EMFILE) }
        let file = createOpenFile(OpenFile(kind: .kvmDevice))
        return .success(installDescriptor(for: file, closeOnExec: true))
    }

    /// `KVM_CREATE_VCPU(id)` on a VM fd: returns the vCPU fd, which pins the VM (L2).
    ///
    /// Fails with `EBADF` (closed fd), `EINVAL` (vCPU fd or /dev/kvm, id ≥
    /// `KVM_MAX_VCPU_IDS`, or the VM already holds ``ModelCapabilities/maxVCPUs``), `ENOTTY` (not a KVM fd), `EEXIST` (id already created) or
    /// `EMFILE` (fd limit: the kernel destroys the new vCPU again, so the id stays free).
    public mutating func createVCPU(vmFD: Int32, id: UInt64 = 0) -> Result<Int32, ModelErrno> {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        guard id < UInt64(capabilities.maxVCPUIDs) else { return .failure(.EINVAL) }
        let id = UInt32(id)
        let ids = machines[machine]!.vcpuIDs
        // kvm_vm_ioctl_create_vcpu: created_vcpus >= max_vcpus is EINVAL, before the id is looked up.
        guard ids.count < Int(capabilities.maxVCPUs) else { return .failure(.EINVAL) }
        let position = ids.firstIndex(where: { $0 >= id }) ?? ids.count
        if position < ids.count, ids[position] == id { return .failure(.EEXIST) }
        guard descriptorAvailable else { return .failure(.EMFILE) }
        machines[machine]!.vcpuIDs.insert(id, at: position)
        machines[machine]!.references += 1
        let file = createOpenFile(OpenFile(kind: .vcpu, machine: machine, vcpuID: id))
        return .success(installDescriptor(for: file, closeOnExec: true))
    }

    /// `KVM_GET_STATS_FD` on a VM or vCPU fd: returns a stats fd, which pins the VM (L6).
    ///
    /// Fails with `EBADF` (closed fd), `EINVAL` (/dev/kvm), `ENOTTY` (not a VM or vCPU fd)
    /// or `EMFILE`.
    public mutating func createStatsFD(fd: Int32) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        if file.kind == .kvmDevice { return .failure(.EINVAL) }
        guard file.kind == .machine || file.kind == .vcpu else { return .failure(.ENOTTY) }
        guard descriptorAvailable else { return .failure(.EMFILE) }
        machines[file.machine]!.references += 1
        let stats = createOpenFile(OpenFile(kind: .stats, machine: file.machine))
        return .success(installDescriptor(for: stats, closeOnExec: true))
    }

    /// `memfd_create` + `ftruncate(size)`: an ordinary shmem file that is not a guest_memfd.
    ///
    /// Never fails (``createMemfd(size:closeOnExec:)`` reports the fd limit and bad sizes).
    public mutating func createMemfd(size: UInt64 = 0) -> Int32 {
        let inode = Self.insertLowest(Inode(kind: .memfd, size: size, mode: 0o777), into: &inodes, hint: &hints.inodes)
        let file = createOpenFile(OpenFile(kind: .memfd, inode: inode))
        return installDescriptor(for: file)
    }

    /// `memfd_create(MFD_CLOEXEC)` then `ftruncate(size)` (`off_t`).
    ///
    /// Fails with `EMFILE` at the fd limit, `EINVAL` for a negative size (as `off_t`); the
    /// descriptor is closed again when `ftruncate` fails.
    public mutating func createMemfd(size: UInt64, closeOnExec: Bool) -> Result<Int32, ModelErrno> {
        guard descriptorAvailable else { return .failure(.EMFILE) }
        if Int64(bitPattern: size) < 0 { return .failure(.EINVAL) }
        let inode = Self.insertLowest(Inode(kind: .memfd, size: size, mode: 0o777), into: &inodes, hint: &hints.inodes)
        let file = createOpenFile(OpenFile(kind: .memfd, inode: inode))
        return .success(installDescriptor(for: file, closeOnExec: closeOnExec))
    }

    /// `dup(fd)`: a new fd at the lowest free number for the same open file.
    ///
    /// Fails with `EBADF` for a closed fd and `EMFILE` at the fd limit.
    public mutating func dup(_ fd: Int32, closeOnExec: Bool = false) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), openFiles[index] != nil else { return .failure(.EBADF) }
        guard descriptorAvailable else { return .failure(.EMFILE) }
        openFiles[index]!.references += 1
        return .success(installDescriptor(for: index, closeOnExec: closeOnExec))
    }

    /// `close(fd)`: drops the fd's reference; the last reference to a guest_memfd invalidates
    /// its bindings, frees its memory and drops its VM reference (L5); the last reference to
    /// a VM destroys it (L6).
    ///
    /// Fails with `EBADF` for a closed fd.
    public mutating func close(_ fd: Int32) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd) else { return .failure(.EBADF) }
        Self.removeEntry(Int(fd), from: &descriptors, hint: &hints.descriptors)
        closeOnExec[Int(fd)] = false
        if closeOnExec.count > descriptors.count { closeOnExec.removeLast(closeOnExec.count - descriptors.count) }
        dropFileReference(index)
        return .success(())
    }

    /// `KVM_CHECK_EXTENSION(capability)` on /dev/kvm or a VM fd (`kvm_vm_ioctl_check_extension_generic`).
    ///
    /// Fails with `EBADF` (closed fd), `EINVAL` (a vCPU fd) or `ENOTTY` (any non-KVM fd).
    public func checkExtension(fd: Int32, capability: UInt64) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        let type: UInt64?
        switch file.kind {
        case .kvmDevice: type = nil
        case .machine: type = machines[file.machine]!.type
        case .vcpu: return .failure(.EINVAL)
        case .stats, .guestMemfd, .memfd, .standardStream: return .failure(.ENOTTY)
        }
        switch capability {
        case 231: return .success(capabilities.userMemory2 ? 1 : 0)
        case 234: return .success(capabilities.guestMemfd ? 1 : 0)
        case 244:
            return .success(
                Int32(
                    truncatingIfNeeded: type.map { capabilities.guestMemfdFlags(forVMType: $0) }
                        ?? capabilities.guestMemfdFlags))
        case 233:
            return .success(
                Int32(
                    truncatingIfNeeded: type.map { capabilities.memoryAttributes(forVMType: $0) }
                        ?? capabilities.memoryAttributes))
        case 235:
            return .success(
                Int32(truncatingIfNeeded: capabilities.vmTypes.reduce(UInt64(0)) { $0 | ($1 < 64 ? 1 << $1 : 0) }))
        case GmemABI.Next.guestMemfdMemoryAttributesCapability where capabilities.guestMemfdAttributes != 0:
            // kvm_supported_mem_attributes(kvm): on /dev/kvm what a VM with private memory gets.
            return .success(
                Int32(
                    truncatingIfNeeded: type.map { capabilities.guestMemfdAttributes(forVMType: $0) }
                        ?? capabilities.guestMemfdAttributes))
        default:
            let table = type == nil ? capabilities.extensions.system : capabilities.extensions.vm
            return .success(table[capability] ?? 0)
        }
    }
}
