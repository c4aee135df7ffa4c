/// guest_memfd creation and file operations (GMEM-SPEC C and F).
extension ModelKernel {
    /// `KVM_CREATE_GUEST_MEMFD` on a VM fd: a new file and a new inode of `size` bytes, owned
    /// by the VM for life (C7), returned as a new fd.
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd, `ENOTTY` without guest_memfd
    /// support, and `EINVAL` for unsupported flags (C2) or a bad size (C1); `reserved` is
    /// ignored (C3).
    public mutating func createGuestMemfd(
        vmFD: Int32, size: UInt64, flags: UInt64 = 0, reserved: [UInt64] = []
    ) -> Result<Int32, ModelErrno> {
        let machine: Int
        switch machineForVMIoctl(vmFD) {
        case .success(let value): machine = value
        case .failure(let error): return .failure(error)
        }
        guard capabilities.guestMemfd else { return .failure(.ENOTTY) }
        let supported = capabilities.guestMemfdFlags(forVMType: machines[machine]!.type)
        if let error = GmemRules.validateCreate(size: size, flags: flags, supportedFlags: supported) {
            return .failure(error)
        }
        let inode = Self.insertLowest(Inode(kind: .guestMemfd, size: size, flags: flags), into: &inodes)
        let holds = policy.fileHoldsVMReference
        if holds { machines[machine]!.references += 1 }
        let gmem = GuestMemfdFile(owner: .machine(machine), holdsMachineReference: holds, dataOwner: .machine(machine))
        let file = createOpenFile(OpenFile(kind: .guestMemfd, inode: inode, guestMemfd: gmem))
        return .success(installDescriptor(for: file))
    }

    /// `fallocate(fd, mode, offset, length)`: allocate (`KEEP_SIZE`) or punch
    /// (`PUNCH_HOLE|KEEP_SIZE`) pages of a guest_memfd; punched pages read back zero (F6).
    ///
    /// Fails with `EBADF` (closed fd), the errnos of ``GmemRules/validateFallocate(mode:offset:length:fileSize:)``
    /// (F3, F4), `ENODEV` for a VM/vCPU/stats fd, `EOPNOTSUPP` for a memfd (not modelled).
    public mutating func fallocate(fd: Int32, mode: Int32, offset: Int64, length: Int64) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .guestMemfd:
            break
        case .machine, .vcpu, .stats:
            // vfs_fallocate: the generic checks, then "not a regular file".
            return .failure(GmemRules.validateGenericFallocate(mode: mode, offset: offset, length: length) ?? .ENODEV)
        case .memfd:
            return .failure(.EOPNOTSUPP)
        }
        let inode = file.inode
        if let error = GmemRules.validateFallocate(mode: mode, offset: offset, length: length, fileSize: inodes[inode]!.size) {
            return .failure(error)
        }
        let start = UInt64(offset) >> GmemABI.pageShift
        if mode & GmemABI.FallocateMode.punchHole != 0 {
            let end = min(UInt64(offset + length) >> GmemABI.pageShift, inodes[inode]!.size >> GmemABI.pageShift)
            inodes[inode]!.pages.remove(start, end)
        } else {
            let end = UInt64(offset + length) >> GmemABI.pageShift
            inodes[inode]!.pages.fillGaps(start, end, with: 0)
        }
        return .success(())
    }

    /// The plain file operations the contract refuses (F1, F2).
    public enum FileOperation: Hashable, Sendable, CaseIterable {
        /// `read(2)`.
        case read
        /// `write(2)`.
        case write
        /// `pread(2)`.
        case pread
        /// `pwrite(2)`.
        case pwrite
        /// `lseek(2)`.
        case lseek
        /// `ftruncate(2)`.
        case ftruncate
        /// `fsync(2)`.
        case fsync
        /// `fchmod(2)`.
        case fchmod
    }

    /// Performs a plain file operation on `fd`; on a guest_memfd (and on VM/vCPU/stats fds)
    /// every one of them fails: `read`/`write` `EINVAL`, `pread`/`pwrite`/`lseek` `ESPIPE`
    /// (F1), `ftruncate`/`fsync`/`fchmod` `EINVAL` (F2).
    ///
    /// Fails with `EBADF` for a closed fd and `EOPNOTSUPP` on a memfd (not modelled).
    public func fileOperation(_ operation: FileOperation, fd: Int32) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        if file.kind == .memfd { return .failure(.EOPNOTSUPP) }
        switch operation {
        case .read, .write, .ftruncate, .fsync, .fchmod: return .failure(.EINVAL)
        case .pread, .pwrite, .lseek: return .failure(.ESPIPE)
        }
    }

    /// Opens `/proc/self/fd/N` again (C6).
    ///
    /// Fails with `ENOENT` for a closed fd and `ENXIO` for a guest_memfd or any KVM fd; a
    /// memfd reopens as a new open file of the same inode.
    public mutating func reopen(fd: Int32) -> Result<Int32, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.ENOENT) }
        guard file.kind == .memfd else { return .failure(.ENXIO) }
        inodes[file.inode]!.references += 1
        let reopened = createOpenFile(OpenFile(kind: .memfd, inode: file.inode))
        return .success(installDescriptor(for: reopened))
    }

    /// What `fstat` and `fcntl(F_GETFD)` report for a guest_memfd (C5).
    public struct FileStatus: Hashable, Sendable {
        /// `S_ISREG`.
        public let isRegularFile: Bool
        /// Permission bits (`0o600`).
        public let mode: UInt32
        /// `st_size`: the size given at creation.
        public let size: UInt64
        /// `FD_CLOEXEC` (never set by `KVM_CREATE_GUEST_MEMFD`).
        public let closeOnExec: Bool
    }

    /// `fstat(fd)` of a guest_memfd: a regular file, mode 0600, its creation size (C5).
    ///
    /// Fails with `EBADF` for a closed fd and `EINVAL` for an fd that is not a guest_memfd
    /// (the model does not describe other files).
    public func fileStatus(fd: Int32) -> Result<FileStatus, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard file.kind == .guestMemfd else { return .failure(.EINVAL) }
        return .success(FileStatus(isRegularFile: true, mode: 0o600, size: inodes[file.inode]!.size, closeOnExec: false))
    }
}
