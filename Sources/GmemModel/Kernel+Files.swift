/// guest_memfd creation and file operations (GMEM-SPEC C and F).
extension ModelKernel {
    /// `KVM_CREATE_GUEST_MEMFD` on a VM fd: a new file and a new inode of `size` bytes, owned
    /// by the VM for life (C7), returned as a new fd.
    ///
    /// Fails with `EBADF`/`EINVAL`/`ENOTTY` for a bad VM fd, `ENOTTY` without guest_memfd
    /// support, `EINVAL` for unsupported flags (C2) or a bad size (C1), then `EMFILE` at the fd limit; `reserved` is
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
        // __kvm_gmem_create: get_unused_fd_flags, after kvm_gmem_create's size and flag checks.
        guard descriptorAvailable else { return .failure(.EMFILE) }
        let inode = Self.insertLowest(
            Inode(kind: .guestMemfd, size: size, flags: flags), into: &inodes, hint: &hints.inodes)
        let holds = policy.fileHoldsVMReference
        if holds { machines[machine]!.references += 1 }
        let gmem = GuestMemfdFile(owner: .machine(machine), holdsMachineReference: holds, dataOwner: .machine(machine))
        let file = createOpenFile(OpenFile(kind: .guestMemfd, inode: inode, guestMemfd: gmem))
        return .success(installDescriptor(for: file))
    }

    /// `fallocate(fd, mode, offset, length)`: allocate (`KEEP_SIZE`) or punch
    /// (`PUNCH_HOLE|KEEP_SIZE`) pages of a guest_memfd; punched pages read back zero (F6).
    /// On a memfd (shmem) it allocates (growing the size without `KEEP_SIZE`) or punches,
    /// zeroing the partial pages at either end.
    ///
    /// Fails with `EBADF` (closed fd), the errnos of ``GmemRules/validateFallocate(mode:offset:length:fileSize:)``
    /// (F3, F4), `ENODEV` for a VM/vCPU/stats fd, /dev/kvm or a standard stream; on a memfd
    /// `EFBIG` (end overflows) and `EOPNOTSUPP` (modes other than allocate and punch).
    public mutating func fallocate(fd: Int32, mode: Int32, offset: Int64, length: Int64) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .guestMemfd:
            break
        case .machine, .vcpu, .stats, .kvmDevice, .standardStream:
            // vfs_fallocate: the generic checks, then "not open for writing" (stats fds are
            // read-only), then "not a regular file".
            return .failure(
                GmemRules.validateGenericFallocate(mode: mode, offset: offset, length: length)
                    ?? (file.kind == .stats ? .EBADF : .ENODEV))
        case .memfd:
            return fallocateMemfd(inode: file.inode, mode: mode, offset: offset, length: length)
        }
        let inode = file.inode
        if let error = GmemRules.validateFallocate(
            mode: mode, offset: offset, length: length, fileSize: inodes[inode]!.size)
        {
            return .failure(error)
        }
        let start = UInt64(offset) >> GmemABI.pageShift
        if mode & GmemABI.FallocateMode.punchHole != 0 {
            let end = min(UInt64(offset + length) >> GmemABI.pageShift, inodes[inode]!.size >> GmemABI.pageShift)
            removePages(inode, start, end)
        } else {
            let end = UInt64(offset + length) >> GmemABI.pageShift
            inodes[inode]!.pages.fillGaps(start, end, with: 0)
        }
        return .success(())
    }

    /// `shmem_fallocate`, after `vfs_fallocate`'s checks.
    mutating func fallocateMemfd(inode: Int, mode: Int32, offset: Int64, length: Int64) -> Result<Void, ModelErrno> {
        typealias Mode = GmemABI.FallocateMode
        if let error = GmemRules.validateGenericFallocate(mode: mode, offset: offset, length: length) {
            return .failure(error)
        }
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow { return .failure(.EFBIG) }
        if mode & ~(Mode.keepSize | Mode.punchHole) != 0 { return .failure(.EOPNOTSUPP) }
        let first = UInt64(offset)
        let last = UInt64(end)
        if mode & Mode.punchHole != 0 {
            zeroBytes(inode, from: first, to: last)
            return .success(())
        }
        let startPage = first >> GmemABI.pageShift
        let endPage = (last >> GmemABI.pageShift) + (last & (GmemABI.pageSize - 1) == 0 ? 0 : 1)
        // shmem_fallocate leaves the folios it allocates !uptodate until first written.
        var cursor = startPage
        for extent in inodes[inode]!.pages.extents(overlapping: startPage, endPage) {
            if cursor < extent.start { inodes[inode]!.unwritten.set(cursor, extent.start, to: true) }
            cursor = max(cursor, extent.end)
        }
        if cursor < endPage { inodes[inode]!.unwritten.set(cursor, endPage, to: true) }
        inodes[inode]!.pages.fillGaps(startPage, endPage, with: 0)
        if mode & Mode.keepSize == 0, last > inodes[inode]!.size { inodes[inode]!.size = last }
        return .success(())
    }

    /// Zeroes bytes `[from, to)` of inode `index`: whole pages are freed, partial pages keep
    /// their other bytes (`shmem_truncate_range`).
    mutating func zeroBytes(_ index: Int, from: UInt64, to: UInt64) {
        guard from < to else { return }
        let firstFull = (from >> GmemABI.pageShift) + (from & (GmemABI.pageSize - 1) == 0 ? 0 : 1)
        let endFull = to >> GmemABI.pageShift
        if firstFull < endFull { removePages(index, firstFull, endFull) }
        var byte = from
        while byte < to {
            let page = byte >> GmemABI.pageShift
            if page >= firstFull && page < endFull {
                byte = endFull << GmemABI.pageShift
                continue
            }
            let pageEnd = min((page + 1) << GmemABI.pageShift, to)
            if inodes[index]!.pages.value(at: page) != nil {
                for offset in byte..<pageEnd { setByte(index, offset, 0) }
            }
            byte = pageEnd
        }
    }

    /// The plain file operations the contract refuses (F1, F2).
    public enum FileOperation: Hashable, Sendable, CaseIterable {
        /// `read(2)` of 8 bytes.
        case read
        /// `write(2)` of 8 zero bytes.
        case write
        /// `pread(2)` of 8 bytes at offset 0.
        case pread
        /// `pwrite(2)` of 8 zero bytes at offset 0.
        case pwrite
        /// `lseek(fd, 0, SEEK_SET)`.
        case lseek
        /// `ftruncate(fd, 0)`.
        case ftruncate
        /// `fsync(2)`.
        case fsync
        /// `fchmod(fd, 0600)`.
        case fchmod
    }

    /// Performs a plain file operation on `fd`. On a guest_memfd every one of them fails:
    /// `read`/`write` `EINVAL`, `pread`/`pwrite`/`lseek` `ESPIPE` (F1), `ftruncate`/`fsync`
    /// `EINVAL` and `fchmod` as the kernel's anonymous inodes answer (F2). A memfd is an
    /// ordinary file: reads and writes move its position and writes grow it.
    ///
    /// Fails with `EBADF` for a closed fd, and for the other kinds of fd as their
    /// `file_operations` answer.
    public mutating func fileOperation(_ operation: FileOperation, fd: Int32) -> Result<Void, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .memfd:
            return memfdOperation(operation, file: index)
        case .guestMemfd:
            switch operation {
            case .read, .write, .ftruncate, .fsync: return .failure(.EINVAL)
            case .pread, .pwrite, .lseek: return .failure(.ESPIPE)
            case .fchmod: return .failure(.EINVAL)
            }
        case .machine, .vcpu:
            // kvm_vm_fops / kvm_vcpu_fops: ioctl and noop_llseek only.
            switch operation {
            case .read, .write, .ftruncate, .fsync: return .failure(.EINVAL)
            case .pread, .pwrite: return .failure(.ESPIPE)
            case .lseek: return .success(())
            case .fchmod: return .failure(GmemRules.anonymousInodeChmod)
            }
        case .stats:
            // kvm_vm_stats_fops / kvm_vcpu_stats_fops (opened read-only): read at the file
            // position, noop_llseek.
            switch operation {
            case .read, .pread: return .success(())
            case .write: return .failure(.EBADF)
            case .ftruncate, .fsync: return .failure(.EINVAL)
            case .pwrite: return .failure(.ESPIPE)
            case .lseek: return .success(())
            case .fchmod: return .failure(GmemRules.anonymousInodeChmod)
            }
        case .kvmDevice:
            // kvm_chardev_ops on devtmpfs: no read or write, noop_llseek; fchmod would change /dev/kvm.
            switch operation {
            case .read, .write, .pread, .pwrite, .ftruncate, .fsync: return .failure(.EINVAL)
            case .lseek, .fchmod: return .success(())
            }
        case .standardStream:
            // /dev/null: reads end at once, writes vanish, seeks succeed.
            switch operation {
            case .read, .write, .pread, .pwrite, .lseek, .fchmod, .fsync: return .success(())
            case .ftruncate: return .failure(.EINVAL)
            }
        }
    }

    /// A file operation on a memfd (shmem, `O_RDWR`).
    mutating func memfdOperation(_ operation: FileOperation, file index: Int) -> Result<Void, ModelErrno> {
        let inode = openFiles[index]!.inode
        let size = inodes[inode]!.size
        switch operation {
        case .read:
            let position = openFiles[index]!.position
            if position < size { openFiles[index]!.position = position + min(8, size - position) }
        case .pread, .fsync:
            break
        case .write:
            let position = openFiles[index]!.position
            let (end, overflow) = position.addingReportingOverflow(8)
            if overflow || end > UInt64(Int64.max) { return .failure(.EFBIG) }
            writeFileBytes(inode, at: position, count: 8)
            openFiles[index]!.position = end
        case .pwrite:
            writeFileBytes(inode, at: 0, count: 8)
        case .lseek:
            openFiles[index]!.position = 0
        case .ftruncate:
            // truncate_pagecache unmaps with even_cows: private copies of the file's pages go too.
            for mapping in mappings where mapping.inode == inode && mapping.privateCopies >= 0 {
                removePages(mapping.privateCopies, 0, UInt64.max >> GmemABI.pageShift)
            }
            removePages(inode, 0, UInt64.max >> GmemABI.pageShift)
            inodes[inode]!.size = 0
        case .fchmod:
            inodes[inode]!.mode = 0o600
        }
        return .success(())
    }

    /// A write of `count` zero bytes at `offset` of a file (growing it).
    mutating func writeFileBytes(_ inode: Int, at offset: UInt64, count: UInt64) {
        for byte in offset..<(offset + count) {
            let page = byte >> GmemABI.pageShift
            inodes[inode]!.pages.fillGaps(page, page + 1, with: 0)
            inodes[inode]!.unwritten.remove(page, page + 1)
            setByte(inode, byte, 0)
        }
        if offset + count > inodes[inode]!.size { inodes[inode]!.size = offset + count }
    }

    /// Opens `/proc/self/fd/N` again (C6).
    ///
    /// Fails with `EMFILE` at the fd limit (open takes the fd before it looks at the path),
    /// then `ENOENT` for a closed fd and `ENXIO` for a guest_memfd or any KVM anonymous fd;
    /// a memfd reopens as a new open file of the same inode, /dev/kvm and the standard
    /// streams (`/dev/null`) as new opens of their device.
    public mutating func reopen(fd: Int32) -> Result<Int32, ModelErrno> {
        guard descriptorAvailable else { return .failure(.EMFILE) }
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.ENOENT) }
        switch file.kind {
        case .memfd:
            inodes[file.inode]!.references += 1
            let reopened = createOpenFile(OpenFile(kind: .memfd, inode: file.inode))
            return .success(installDescriptor(for: reopened, closeOnExec: true))
        case .kvmDevice, .standardStream:
            let reopened = createOpenFile(OpenFile(kind: file.kind))
            return .success(installDescriptor(for: reopened, closeOnExec: true))
        case .guestMemfd, .machine, .vcpu, .stats:
            return .failure(.ENXIO)
        }
    }

    /// Which inode an fd's file is, for `stat`'s `st_dev`/`st_ino` comparison.
    public enum InodeIdentity: Hashable, Sendable {
        /// The one anonymous inode every VM, vCPU and stats fd shares (`anon_inode_inode`).
        case sharedAnonymous
        /// /dev/kvm.
        case kvmDevice
        /// The standard stream's device (`/dev/null` in the model).
        case standardStream
        /// A guest_memfd or memfd inode (by model id).
        case inode(Int)
    }

    /// What `fstat` and `fcntl(F_GETFD)` report for an fd (C5).
    public struct FileStatus: Hashable, Sendable {
        /// `S_ISREG`.
        public let isRegularFile: Bool
        /// `st_mode & S_IFMT`.
        public let fileType: UInt32
        /// Permission bits (`0o600` for a guest_memfd).
        public let mode: UInt32
        /// `st_size`: the size given at creation for a guest_memfd.
        public let size: UInt64
        /// `st_blksize`.
        public let blockSize: UInt64
        /// `FD_CLOEXEC` (never set by `KVM_CREATE_GUEST_MEMFD`).
        public let closeOnExec: Bool
        /// The inode, for comparisons.
        public let identity: InodeIdentity
    }

    /// `fstat(fd)`: for a guest_memfd a regular file, mode 0600, its creation size (C5); for
    /// the other kinds what the kernel reports for them.
    ///
    /// Fails with `EBADF` for a closed fd.
    public func fileStatus(fd: Int32) -> Result<FileStatus, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        let cloexec = closeOnExec[Int(fd)]
        switch file.kind {
        case .guestMemfd:
            return .success(
                FileStatus(
                    isRegularFile: true, fileType: 0o100000, mode: 0o600, size: inodes[file.inode]!.size,
                    blockSize: GmemABI.pageSize, closeOnExec: cloexec, identity: .inode(file.inode)))
        case .memfd:
            let inode = inodes[file.inode]!
            return .success(
                FileStatus(
                    isRegularFile: true, fileType: 0o100000, mode: inode.mode, size: inode.size,
                    blockSize: GmemABI.pageSize, closeOnExec: cloexec, identity: .inode(file.inode)))
        case .machine, .vcpu, .stats:
            return .success(
                FileStatus(
                    isRegularFile: GmemRules.anonymousInodeType == 0o100000, fileType: GmemRules.anonymousInodeType,
                    mode: 0o600, size: 0, blockSize: GmemABI.pageSize, closeOnExec: cloexec, identity: .sharedAnonymous)
            )
        case .kvmDevice:
            return .success(
                FileStatus(
                    isRegularFile: false, fileType: 0o020000, mode: capabilities.kvmDeviceMode, size: 0,
                    blockSize: GmemABI.pageSize,
                    closeOnExec: cloexec, identity: .kvmDevice))
        case .standardStream:
            return .success(
                FileStatus(
                    isRegularFile: false, fileType: 0o020000, mode: 0o666, size: 0, blockSize: GmemABI.pageSize,
                    closeOnExec: cloexec, identity: .standardStream))
        }
    }
}
