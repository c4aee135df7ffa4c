/// Host mappings of guest_memfd files and anonymous memory, and host accesses through them
/// (GMEM-SPEC M).
extension ModelKernel {
    /// `mmap(NULL, length, prot, flags, fd, offset)` of a guest_memfd: returns the address
    /// (first fit from ``mappingBase``); the mapping holds a reference on the file (M5).
    ///
    /// Fails with `EINVAL` (unaligned offset), `EBADF` (closed fd), then the errnos of
    /// ``GmemRules/validateMmap(fileFlags:prot:flags:offset:length:)`` (M1, M2), `ENOMEM`
    /// when no address range is free; `ENODEV` for VM/vCPU/stats fds and `EOPNOTSUPP` for a
    /// memfd (neither is modelled).
    public mutating func mmap(fd: Int32, prot: Int32, flags: Int32, offset: UInt64, length: UInt64) -> Result<UInt64, ModelErrno> {
        if !GmemRules.isPageAligned(offset) { return .failure(.EINVAL) }
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .guestMemfd: break
        case .machine, .vcpu, .stats: return .failure(.ENODEV)
        case .memfd: return .failure(.EOPNOTSUPP)
        }
        if let error = GmemRules.validateMmap(fileFlags: inodes[file.inode]!.flags, prot: prot, flags: flags, offset: offset, length: length) {
            return .failure(error)
        }
        let pages = (length + GmemABI.pageSize - 1) >> GmemABI.pageShift
        guard let start = freeAddressRange(pages: pages) else { return .failure(.ENOMEM) }
        openFiles[index]!.references += 1
        insertMapping(Mapping(start: start, pageCount: pages, protection: prot, file: index, inode: file.inode,
                              pageOffset: offset >> GmemABI.pageShift))
        return .success(start)
    }

    /// `mmap(NULL, length, prot, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)`: zeroed anonymous memory,
    /// e.g. the `userspace_addr` backing of a v1 memslot or of the shared side (B10).
    ///
    /// Fails with `EINVAL` for a zero length and `ENOMEM` when no address range is free.
    public mutating func mapAnonymous(length: UInt64, prot: Int32 = GmemABI.Protection.read | GmemABI.Protection.write) -> Result<UInt64, ModelErrno> {
        if length == 0 { return .failure(.EINVAL) }
        if length > UInt64.max - (GmemABI.pageSize - 1) { return .failure(.ENOMEM) }
        let pages = (length + GmemABI.pageSize - 1) >> GmemABI.pageShift
        guard let start = freeAddressRange(pages: pages) else { return .failure(.ENOMEM) }
        let inode = Self.insertLowest(Inode(kind: .anonymous, size: pages << GmemABI.pageShift), into: &inodes)
        insertMapping(Mapping(start: start, pageCount: pages, protection: prot, file: -1, inode: inode, pageOffset: 0))
        return .success(start)
    }

    /// `munmap(address, length)`: removes every mapped page in the range (splitting mappings
    /// that straddle it); the last mapping of a closed guest_memfd releases the file (M5).
    ///
    /// Fails with `EINVAL` for an unaligned address, a zero length or a range outside user
    /// space; unmapping nothing succeeds.
    public mutating func munmap(address: UInt64, length: UInt64) -> Result<Void, ModelErrno> {
        if !GmemRules.isPageAligned(address) || length == 0 { return .failure(.EINVAL) }
        let (rawEnd, overflow) = address.addingReportingOverflow(length)
        if overflow || rawEnd > capabilities.userAddressLimit { return .failure(.EINVAL) }
        let end = (rawEnd + GmemABI.pageSize - 1) & ~(GmemABI.pageSize - 1)
        var kept: [Mapping] = []
        var dropped: [Mapping] = []
        var added: [Mapping] = []
        for mapping in mappings {
            guard mapping.start < end, address < mapping.end else {
                kept.append(mapping)
                continue
            }
            dropped.append(mapping)
            if mapping.start < address {
                var left = mapping
                left.pageCount = (address - mapping.start) >> GmemABI.pageShift
                added.append(left)
            }
            if mapping.end > end {
                var right = mapping
                let skipped = (end - mapping.start) >> GmemABI.pageShift
                right.start = end
                right.pageCount = mapping.pageCount - skipped
                right.pageOffset = mapping.pageOffset + skipped
                added.append(right)
            }
        }
        if dropped.isEmpty { return .success(()) }
        mappings = kept
        // Pieces take their own references before the originals drop theirs.
        for piece in added {
            insertMapping(piece)
            if piece.file >= 0 { openFiles[piece.file]!.references += 1 } else { inodes[piece.inode]!.references += 1 }
        }
        for mapping in dropped {
            if mapping.file >= 0 { dropFileReference(mapping.file) } else { dropInodeReference(mapping.inode) }
        }
        return .success(())
    }

    /// Reads the content token of the page at host `address`; touching a guest_memfd page
    /// allocates it (F6).
    ///
    /// Fails with `SIGSEGV` (nothing mapped, or no `PROT_READ`) or `SIGBUS` (private
    /// guest_memfd memory, M3; past the end of the file, M4).
    public mutating func hostRead(address: UInt64) -> Result<UInt64, HostSignal> {
        switch resolveHostPage(address: address, protection: GmemABI.Protection.read) {
        case .failure(let signal):
            return .failure(signal)
        case .success(let (inode, page)):
            if let value = inodes[inode]!.pages.value(at: page) { return .success(value) }
            if inodes[inode]!.kind == .guestMemfd { inodes[inode]!.pages.set(page, page + 1, to: 0) }
            return .success(0)
        }
    }

    /// Writes content token `value` to the page at host `address` (allocating it).
    ///
    /// Fails with `SIGSEGV` (nothing mapped, or no `PROT_WRITE`) or `SIGBUS` (M3, M4).
    public mutating func hostWrite(address: UInt64, value: UInt64) -> Result<Void, HostSignal> {
        switch resolveHostPage(address: address, protection: GmemABI.Protection.write) {
        case .failure(let signal):
            return .failure(signal)
        case .success(let (inode, page)):
            inodes[inode]!.pages.set(page, page + 1, to: value)
            return .success(())
        }
    }

    /// The inode page behind host `address`, or the signal an access with `protection` raises.
    func resolveHostPage(address: UInt64, protection: Int32) -> Result<(Int, UInt64), HostSignal> {
        guard let mapping = mapping(containing: address) else { return .failure(.sigsegv) }
        if mapping.protection & protection == 0 { return .failure(.sigsegv) }
        let page = mapping.pageOffset + ((address - mapping.start) >> GmemABI.pageShift)
        let inode = inodes[mapping.inode]!
        if inode.kind == .guestMemfd {
            if GmemRules.hostAccessRaisesSIGBUS(fileFlags: inode.flags, filePage: page, fileSize: inode.size) {
                return .failure(.sigbus)
            }
        } else if page >= inode.size >> GmemABI.pageShift {
            return .failure(.sigbus)
        }
        return .success((mapping.inode, page))
    }

    func mapping(containing address: UInt64) -> Mapping? {
        var low = 0
        var high = mappings.count
        while low < high {
            let mid = (low + high) >> 1
            if mappings[mid].end <= address { low = mid + 1 } else { high = mid }
        }
        guard low < mappings.count, mappings[low].start <= address else { return nil }
        return mappings[low]
    }

    /// The lowest address at or above ``mappingBase`` with `pages` free pages.
    func freeAddressRange(pages: UInt64) -> UInt64? {
        let (length, overflow) = pages.multipliedReportingOverflow(by: GmemABI.pageSize)
        if overflow { return nil }
        var candidate = Self.mappingBase
        for mapping in mappings where mapping.end > candidate {
            if mapping.start >= candidate, mapping.start - candidate >= length { break }
            candidate = mapping.end
        }
        let (end, endOverflow) = candidate.addingReportingOverflow(length)
        return endOverflow || end > capabilities.userAddressLimit ? nil : candidate
    }

    mutating func insertMapping(_ mapping: Mapping) {
        let position = mappings.firstIndex(where: { $0.start > mapping.start }) ?? mappings.count
        mappings.insert(mapping, at: position)
    }
}

/// The signal a host access through a mapping raises instead of completing.
public enum HostSignal: Error, Hashable, Sendable, CustomStringConvertible {
    /// `SIGBUS`: the page cannot be provided (private guest_memfd memory M3, past the end M4).
    case sigbus
    /// `SIGSEGV`: no mapping at the address, or the mapping's protection forbids the access.
    case sigsegv

    public var description: String { self == .sigbus ? "SIGBUS" : "SIGSEGV" }
}
