/// Host mappings of files and anonymous memory, and host accesses through them (GMEM-SPEC M).
extension ModelKernel {
    /// The unmapped gap the model leaves after every mapping (and the kernel backend
    /// reserves): where a mapping lands is the kernel's choice, not part of the contract, so
    /// no range past a mapping's end is ever another mapping's.
    public static let mappingGuard: UInt64 = 1 << 30

    /// `mmap(NULL, length, prot, flags, fd, offset)` of a file: returns the address; the
    /// mapping holds a reference on the file (M5).
    ///
    /// Fails in the order of `sys_mmap` and `do_mmap`: `EINVAL` (unaligned offset), `EBADF`
    /// (closed fd), `EINVAL` (zero length), `ENOMEM` (length overflows when rounded, or no
    /// address range), `EOVERFLOW` (page offset overflows), `EINVAL` (unknown mapping type),
    /// `EPERM` (`PROT_EXEC` on a noexec mount), `ENODEV` (no `mmap` file operation: VM,
    /// stats, /dev/kvm, standard streams), then the file's own checks: M1, M2 of
    /// ``GmemRules/validateMmap(fileFlags:prot:flags:offset:length:)`` for a guest_memfd.
    public mutating func mmap(fd: Int32, prot: Int32, flags: Int32, offset: UInt64, length: UInt64) -> Result<
        UInt64, ModelErrno
    > {
        if !GmemRules.isPageAligned(offset) { return .failure(.EINVAL) }
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        if length == 0 { return .failure(.EINVAL) }
        if length > UInt64.max - (GmemABI.pageSize - 1) { return .failure(.ENOMEM) }
        let pages = (length + (GmemABI.pageSize - 1)) >> GmemABI.pageShift
        if (offset >> GmemABI.pageShift).addingReportingOverflow(pages).overflow { return .failure(.EOVERFLOW) }
        guard let start = freeAddressRange(pages: pages) else { return .failure(.ENOMEM) }
        // file_mmap_ok: a regular file maps at most MAX_LFS_FILESIZE bytes, any other file
        // at most ULONG_MAX.
        let maximum = file.kind == .guestMemfd || file.kind == .memfd ? UInt64(Int64.max) : UInt64.max
        let bytes = pages << GmemABI.pageShift
        if bytes > maximum || offset >> GmemABI.pageShift > (maximum - bytes) >> GmemABI.pageShift {
            return .failure(.EOVERFLOW)
        }
        let type = flags & GmemABI.MapFlag.typeMask
        guard
            type == GmemABI.MapFlag.shared || type == GmemABI.MapFlag.sharedValidate || type == GmemABI.MapFlag.private
        else {
            return .failure(.EINVAL)
        }
        var inode = file.inode
        // do_mmap: a shared writable mapping needs a file open for writing (stats fds are read-only).
        if file.kind == .stats, type != GmemABI.MapFlag.private, prot & GmemABI.Protection.write != 0 {
            return .failure(.EACCES)
        }
        switch file.kind {
        case .guestMemfd:
            if let error = GmemRules.validateMmap(
                fileFlags: inodes[file.inode]!.flags, prot: prot, flags: flags, offset: offset, length: length)
            {
                return .failure(error)
            }
        case .memfd:
            break
        case .vcpu:
            if prot & GmemABI.Protection.exec != 0, GmemRules.anonymousInodesNoexec { return .failure(.EPERM) }
            // kvm_vcpu_mmap: the kvm_run, PIO and coalesced-MMIO pages (a fault past them is SIGBUS).
            if file.inode < 0 {
                let run = Self.insertLowest(
                    Inode(kind: .anonymous, size: capabilities.vcpuMappingSize), into: &inodes, hint: &hints.inodes)
                openFiles[index]!.inode = run
            }
            inode = openFiles[index]!.inode
        case .machine, .stats:
            if prot & GmemABI.Protection.exec != 0, GmemRules.anonymousInodesNoexec { return .failure(.EPERM) }
            return .failure(.ENODEV)
        case .kvmDevice, .standardStream:
            return .failure(.ENODEV)
        }
        var copies = -1
        if type == GmemABI.MapFlag.private {
            copies = Self.insertLowest(Inode(kind: .anonymous, size: UInt64.max), into: &inodes, hint: &hints.inodes)
        }
        openFiles[index]!.references += 1
        reserve(start: start, pages: pages)
        insertMapping(
            Mapping(
                start: start, pageCount: pages, protection: prot, file: index, inode: inode,
                pageOffset: offset >> GmemABI.pageShift, privateCopies: copies))
        return .success(start)
    }

    /// `mmap(NULL, length, prot, MAP_SHARED|MAP_ANONYMOUS, -1, 0)`: zeroed anonymous memory,
    /// e.g. the `userspace_addr` backing of a v1 memslot or of the shared side (B10).
    ///
    /// Fails with `EINVAL` for a zero length and `ENOMEM` when no address range is free.
    public mutating func mapAnonymous(length: UInt64, prot: Int32 = GmemABI.Protection.read | GmemABI.Protection.write)
        -> Result<UInt64, ModelErrno>
    {
        if length == 0 { return .failure(.EINVAL) }
        if length > UInt64.max - (GmemABI.pageSize - 1) { return .failure(.ENOMEM) }
        let pages = (length + (GmemABI.pageSize - 1)) >> GmemABI.pageShift
        guard let start = freeAddressRange(pages: pages) else { return .failure(.ENOMEM) }
        let inode = Self.insertLowest(
            Inode(kind: .anonymous, size: pages << GmemABI.pageShift), into: &inodes, hint: &hints.inodes)
        reserve(start: start, pages: pages)
        insertMapping(Mapping(start: start, pageCount: pages, protection: prot, file: -1, inode: inode, pageOffset: 0))
        return .success(start)
    }

    /// `munmap(address, length)`: removes every mapped page in the range (splitting mappings
    /// that straddle it); the last mapping of a closed file releases the file (M5).
    ///
    /// Fails with `EINVAL` for an unaligned address, a zero length or a range outside user
    /// space; unmapping nothing succeeds.
    public mutating func munmap(address: UInt64, length: UInt64) -> Result<Void, ModelErrno> {
        if !GmemRules.isPageAligned(address) || length == 0 { return .failure(.EINVAL) }
        let (rounded, roundOverflow) = length.addingReportingOverflow(GmemABI.pageSize - 1)
        if roundOverflow { return .failure(.EINVAL) }
        let (end, overflow) = address.addingReportingOverflow(rounded & ~(GmemABI.pageSize - 1))
        if overflow || end > capabilities.userAddressLimit { return .failure(.EINVAL) }
        // The mappings the range meets are contiguous in the sorted list: find them by bisection.
        let low = firstMapping(endingAfter: address)
        var high = low
        while high < mappings.count, mappings[high].start < end { high += 1 }
        if low == high { return .success(()) }
        let dropped = Array(mappings[low..<high])
        var added: [Mapping] = []
        for mapping in dropped {
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
        mappings.replaceSubrange(low..<high, with: added)
        releaseWindows(address, end)
        presentPages.remove(address >> GmemABI.pageShift, end >> GmemABI.pageShift)
        // Pieces take their own references before the originals drop theirs.
        for piece in added {
            if piece.file >= 0 { openFiles[piece.file]!.references += 1 } else { inodes[piece.inode]!.references += 1 }
            if piece.privateCopies >= 0 { inodes[piece.privateCopies]!.references += 1 }
        }
        for mapping in dropped { dropMapping(mapping) }
        return .success(())
    }

    /// Drops the references a mapping (piece) holds.
    mutating func dropMapping(_ mapping: Mapping) {
        if mapping.privateCopies >= 0 { dropInodeReference(mapping.privateCopies) }
        if mapping.file >= 0 { dropFileReference(mapping.file) } else { dropInodeReference(mapping.inode) }
    }

    /// `madvise(address, length, advice)` for the advice values the model describes:
    /// `NORMAL`, `RANDOM`, `SEQUENTIAL`, `WILLNEED`, `DONTFORK`, `DOFORK` (no effect on data),
    /// `DONTNEED` (drops private copies), `FREE` (anonymous private memory only) and
    /// `REMOVE` (punches the backing file of a shared mapping).
    ///
    /// Fails with `EINVAL` (unknown advice, unaligned address, wrapping range, `FREE` on a
    /// shared or file mapping, `REMOVE` on memory without a file), `EACCES` (`REMOVE` on a
    /// private mapping), `ENODEV` (`REMOVE` through a vCPU mapping), or `ENOMEM` when part
    /// of the range is not mapped (after advising the mapped parts).
    public mutating func madvise(address: UInt64, length: UInt64, advice: Int32) -> Result<Void, ModelErrno> {
        guard GmemRules.madviseAdviceIsValid(advice) else { return .failure(.EINVAL) }
        if !GmemRules.isPageAligned(address) { return .failure(.EINVAL) }
        let (rounded, roundOverflow) = length.addingReportingOverflow(GmemABI.pageSize - 1)
        let aligned = roundOverflow ? 0 : rounded & ~(GmemABI.pageSize - 1)
        if length != 0, aligned == 0 { return .failure(.EINVAL) }
        let (end, overflow) = address.addingReportingOverflow(aligned)
        if overflow { return .failure(.EINVAL) }
        if end == address { return .success(()) }
        var cursor = address
        var hole = false
        var index = firstMapping(endingAfter: address)
        while index < mappings.count, mappings[index].start < end {
            let mapping = mappings[index]
            index += 1
            if mapping.start > cursor { hole = true }
            let from = max(mapping.start, address)
            let to = min(mapping.end, end)
            let firstPage = mapping.pageOffset + ((from - mapping.start) >> GmemABI.pageShift)
            let lastPage = mapping.pageOffset + ((to - mapping.start) >> GmemABI.pageShift)
            switch advice {
            case 4:  // MADV_DONTNEED
                if mapping.privateCopies >= 0 { removePages(mapping.privateCopies, firstPage, lastPage) }
                presentPages.remove(from >> GmemABI.pageShift, to >> GmemABI.pageShift)
            case 8:  // MADV_FREE: anonymous private memory only (the model's anon is MAP_SHARED)
                return .failure(.EINVAL)
            case 9:  // MADV_REMOVE
                if mapping.privateCopies >= 0 { return .failure(.EACCES) }
                if mapping.file < 0 {
                    removePages(mapping.inode, firstPage, lastPage)
                } else {
                    let kind = openFiles[mapping.file]!.kind
                    if kind == .vcpu { return .failure(.ENODEV) }
                    if kind == .guestMemfd {
                        let size = inodes[mapping.inode]!.size >> GmemABI.pageShift
                        removePages(mapping.inode, firstPage, min(lastPage, size))
                    } else {
                        zeroBytes(
                            mapping.inode, from: firstPage << GmemABI.pageShift, to: lastPage << GmemABI.pageShift)
                    }
                }
            default:
                break
            }
            cursor = to
        }
        if cursor < end { hole = true }
        return hole ? .failure(.ENOMEM) : .success(())
    }

    /// Reads the content token of the page at host `address` (8 bytes at the page start);
    /// touching a guest_memfd page allocates it (F6).
    ///
    /// Fails with `SIGSEGV` (nothing mapped, or no `PROT_READ`) or `SIGBUS` (private
    /// guest_memfd memory, M3; past the end of the file, M4).
    public mutating func hostRead(address: UInt64) -> Result<UInt64, HostSignal> {
        hostRead(address: address & ~(GmemABI.pageSize - 1), width: 8)
    }

    /// Writes content token `value` to the page at host `address` (allocating it).
    ///
    /// Fails with `SIGSEGV` (nothing mapped, or no `PROT_WRITE`) or `SIGBUS` (M3, M4).
    public mutating func hostWrite(address: UInt64, value: UInt64) -> Result<Void, HostSignal> {
        hostWrite(address: address & ~(GmemABI.pageSize - 1), width: 8, value: value)
    }

    /// Loads `width` (1, 2, 4 or 8) bytes, little-endian, at host `address`; an access that
    /// straddles two pages needs both.
    ///
    /// Fails as ``hostRead(address:)``, for the first page that refuses the access.
    public mutating func hostRead(address: UInt64, width: UInt64) -> Result<UInt64, HostSignal> {
        switch resolveAccess(address: address, width: width, protection: GmemABI.Protection.read) {
        case .failure(let signal):
            return .failure(signal)
        case .success(let pieces):
            var value: UInt64 = 0
            for (index, piece) in pieces.enumerated() {
                let byte = readByte(piece.inode, piece.offset)
                value |= UInt64(byte) << (UInt64(index) * 8)
            }
            return .success(value)
        }
    }

    /// Stores the low `width` bytes of `value`, little-endian, at host `address`.
    ///
    /// Fails as ``hostWrite(address:value:)``, for the first page that refuses the access;
    /// nothing is written then.
    public mutating func hostWrite(address: UInt64, width: UInt64, value: UInt64) -> Result<Void, HostSignal> {
        switch resolveAccess(address: address, width: width, protection: GmemABI.Protection.write) {
        case .failure(let signal):
            return .failure(signal)
        case .success(let pieces):
            if width == 8, pieces.allSatisfy({ $0.inode == pieces[0].inode }),
                pieces[0].offset & (GmemABI.pageSize - 1) == 0
            {
                let inode = pieces[0].inode
                let page = pieces[0].offset >> GmemABI.pageShift
                inodes[inode]!.pages.set(page, page + 1, to: value)
                if !inodes[inode]!.bytes.isEmpty {
                    for byte in 0..<UInt64(8) { inodes[inode]!.bytes[pieces[0].offset + byte] = nil }
                }
                return .success(())
            }
            for (index, piece) in pieces.enumerated() {
                setByte(piece.inode, piece.offset, UInt8(truncatingIfNeeded: value >> (UInt64(index) * 8)))
            }
            return .success(())
        }
    }

    /// The inode byte behind each byte of a `width`-byte access at `address` (allocating the
    /// pages it touches, as faults do), or the signal of the first page that refuses it.
    mutating func resolveAccess(address: UInt64, width: UInt64, protection: Int32) -> Result<
        [(inode: Int, offset: UInt64)], HostSignal
    > {
        let (last, overflow) = address.addingReportingOverflow(width - 1)
        if overflow { return .failure(.sigsegv) }
        let firstPage = address >> GmemABI.pageShift
        let lastPage = last >> GmemABI.pageShift
        // The inode page behind each page the access touches, in order.
        var resolved: [(Int, UInt64)] = []
        var page = firstPage
        while true {
            switch resolveHostPage(address: page << GmemABI.pageShift, protection: protection) {
            case .failure(let signal): return .failure(signal)
            case .success(let target): resolved.append(target)
            }
            if page == lastPage { break }
            page += 1
        }
        var pieces: [(inode: Int, offset: UInt64)] = []
        pieces.reserveCapacity(Int(clamping: width))
        for byte in 0..<width {
            let at = address + byte
            let (inode, inodePage) = resolved[Int((at >> GmemABI.pageShift) - firstPage)]
            pieces.append((inode, inodePage << GmemABI.pageShift | (at & (GmemABI.pageSize - 1))))
        }
        return .success(pieces)
    }

    /// The inode page behind host `address` (allocating it, and for a write through a
    /// private mapping copying it), or the signal an access with `protection` raises.
    mutating func resolveHostPage(address: UInt64, protection: Int32) -> Result<(Int, UInt64), HostSignal> {
        guard let mapping = mapping(containing: address) else { return .failure(.sigsegv) }
        // x86 page tables: writable implies readable, and executable implies readable
        // unless the CPU has protection keys (execute-only memory).
        typealias Protection = GmemABI.Protection
        var allowed = mapping.protection
        if allowed & Protection.write != 0 { allowed |= Protection.read }
        if allowed & Protection.exec != 0, !capabilities.executeOnlyMappings { allowed |= Protection.read }
        if allowed & protection == 0 { return .failure(.sigsegv) }
        let page = mapping.pageOffset + ((address - mapping.start) >> GmemABI.pageShift)
        let virtualPage = address >> GmemABI.pageShift
        let tracked = tracksPresence(mapping)
        let faults = !tracked || presentPages.value(at: virtualPage) == nil
        // A read fault on shmem (memfd, shared anonymous memory), through a shared or a private
        // mapping, maps the neighbouring up-to-date pages first (do_fault_around), even when
        // the faulting page itself then raises SIGBUS.
        if tracked, faults, protection & Protection.write == 0, faultsAround(mapping) {
            faultAround(mapping, at: virtualPage)
        }
        // Only the kind and size: a copy of the inode held across the writes below would make
        // each of them copy the inode's page map (copy-on-write), a cost linear in its extents.
        let (kind, size) = (inodes[mapping.inode]!.kind, inodes[mapping.inode]!.size)
        if kind == .guestMemfd {
            // kvm_gmem_fault_user_mapping: past the end (M4), or private now (M3, V5).
            if page >= size >> GmemABI.pageShift || pageIsPrivate(mapping.inode, page) {
                return .failure(.sigbus)
            }
        } else if page >= (size >> GmemABI.pageShift) + (size & (GmemABI.pageSize - 1) == 0 ? 0 : 1) {
            return .failure(.sigbus)
        }
        if tracked, faults { presentPages.set(virtualPage, virtualPage + 1, to: true) }
        if mapping.privateCopies >= 0 {
            let copies = mapping.privateCopies
            if inodes[copies]!.pages.value(at: page) != nil { return .success((copies, page)) }
            if protection & GmemABI.Protection.write != 0 {
                copyPage(from: mapping.inode, to: copies, page: page)
                inodes[mapping.inode]!.unwritten.remove(page, page + 1)
                return .success((copies, page))
            }
        }
        if inodes[mapping.inode]!.pages.value(at: page) == nil {
            inodes[mapping.inode]!.pages.set(page, page + 1, to: 0)
        }
        if faults, !inodes[mapping.inode]!.unwritten.isEmpty { inodes[mapping.inode]!.unwritten.remove(page, page + 1) }
        return .success((mapping.inode, page))
    }

    /// Whether the model follows `mapping`'s page-table entries (``presentPages``): a mapping
    /// without `PROT_READ` (shared or private). Only there does an entry change an answer: with
    /// `PROT_READ`, `get_user_pages` takes whatever gup-fast would (there are no `mprotect`s,
    /// and no two mappings are adjacent), so presence is not kept for it, nor its cost paid.
    func tracksPresence(_ mapping: Mapping) -> Bool {
        mapping.protection & GmemABI.Protection.read == 0
    }

    /// Whether `mapping` is of a vCPU: its pages (`kvm_run` and the rest) belong to no file,
    /// so gup-fast refuses them (`gup_fast_folio_allowed`: an order-0 folio without a mapping
    /// may be secretmem) and KVM and `vmsplice` always take the VMA check there.
    func mapsVCPU(_ mapping: Mapping) -> Bool {
        mapping.file >= 0 && openFiles[mapping.file]!.kind == .vcpu
    }

    /// Whether a read fault in `mapping` maps the up-to-date neighbours (shmem's
    /// `filemap_map_pages`): memfd and anonymous memory, not guest_memfd or a vCPU, whose
    /// `vm_ops` have no `map_pages`.
    func faultsAround(_ mapping: Mapping) -> Bool {
        inodes[mapping.inode]!.kind != .guestMemfd && !mapsVCPU(mapping)
    }

    /// Whether host virtual page `virtualPage` of `mapping` has a writable page-table entry:
    /// for a private mapping, once written (its copied-on-write page); for a shared mapping
    /// with `PROT_WRITE` (not a vCPU's), while its entry is present (``presentPages``: shmem
    /// and guest_memfd take no write notification, so a present shared entry is writable).
    func hasWritableEntry(_ mapping: Mapping, at virtualPage: UInt64) -> Bool {
        if mapping.privateCopies >= 0 {
            let page = mapping.pageOffset + (virtualPage - (mapping.start >> GmemABI.pageShift))
            return inodes[mapping.privateCopies]!.pages.value(at: page) != nil
        }
        return mapping.protection & GmemABI.Protection.write != 0 && !mapsVCPU(mapping)
            && presentPages.value(at: virtualPage) != nil
    }

    /// Whether gup-fast without `FOLL_WRITE` (`vmsplice`'s `get_user_pages_fast`) takes host
    /// virtual page `virtualPage` of `mapping` from its page-table entry, whatever the
    /// mapping's own protection: the entry is present (an entry exists only where an access
    /// was allowed, and x86 makes every such entry readable) and its page is not a vCPU's
    /// (a copied-on-write page of a private vCPU mapping is anonymous memory, and taken).
    /// False for a mapping with `PROT_READ` (presence untracked): `get_user_pages` takes the
    /// page there, with the same answer.
    func gupFastTakes(_ mapping: Mapping, at virtualPage: UInt64) -> Bool {
        guard presentPages.value(at: virtualPage) != nil else { return false }
        if !mapsVCPU(mapping) { return true }
        return mapping.privateCopies >= 0 && hasWritableEntry(mapping, at: virtualPage)
    }

    /// do_fault_around with the default 64 KiB: maps every page of the 16-page window around
    /// `virtualPage` (aligned down, clamped to the mapping and its page table) that is in the
    /// file, allocated and up to date, and not mapped yet (through a private mapping: its
    /// copied-on-write pages are mapped already).
    mutating func faultAround(_ mapping: Mapping, at virtualPage: UInt64) {
        let first = mapping.start >> GmemABI.pageShift
        let end = mapping.end >> GmemABI.pageShift
        let from = max(virtualPage & ~15, first)
        let to = min(from + 16, (virtualPage | 511) + 1, end)
        let inode = inodes[mapping.inode]!
        let filePages = (inode.size >> GmemABI.pageShift) + (inode.size & (GmemABI.pageSize - 1) == 0 ? 0 : 1)
        var page = from
        while page < to {
            let filePage = mapping.pageOffset + (page - first)
            if filePage < filePages, inode.pages.value(at: filePage) != nil, inode.unwritten.value(at: filePage) == nil
            {
                presentPages.set(page, page + 1, to: true)
            }
            page += 1
        }
    }

    /// Unmaps pages `[start, end)` of inode `index` from every mapping that maps them
    /// (`unmap_mapping_range` without `even_cows`): a shared mapping of the file loses them,
    /// a private one keeps its copied-on-write pages; a mapping whose private copies `index`
    /// holds loses them.
    mutating func unmapPresent(inode index: Int, _ start: UInt64, _ end: UInt64) {
        for mapping in mappings
        where (mapping.inode == index || mapping.privateCopies == index) && tracksPresence(mapping) {
            let mappedEnd = mapping.pageOffset + mapping.pageCount
            let from = max(start, mapping.pageOffset)
            let to = min(end, mappedEnd)
            guard from < to else { continue }
            // File page `page` (in [pageOffset, pageOffset + pageCount)) is virtual page `virtual(page)`.
            let base = mapping.start >> GmemABI.pageShift
            let virtual = { (page: UInt64) in base + (page - mapping.pageOffset) }
            if mapping.inode == index, mapping.privateCopies >= 0 {
                var cursor = from
                for copied in inodes[mapping.privateCopies]!.pages.extents(overlapping: from, to) {
                    if cursor < copied.start { presentPages.remove(virtual(cursor), virtual(copied.start)) }
                    cursor = copied.end
                }
                if cursor < to { presentPages.remove(virtual(cursor), virtual(to)) }
            } else {
                presentPages.remove(virtual(from), virtual(to))
            }
        }
    }

    /// Copies page `page` of inode `source` (allocating it there first) into inode `target`.
    mutating func copyPage(from source: Int, to target: Int, page: UInt64) {
        if inodes[source]!.pages.value(at: page) == nil { inodes[source]!.pages.set(page, page + 1, to: 0) }
        inodes[target]!.pages.set(page, page + 1, to: inodes[source]!.pages.value(at: page)!)
        let base = page << GmemABI.pageShift
        for (offset, byte) in inodes[source]!.bytes where offset >> GmemABI.pageShift == page {
            inodes[target]!.bytes[offset] = byte
        }
        _ = base
    }

    /// The byte at `offset` of inode `index` (0 where nothing was written).
    func readByte(_ index: Int, _ offset: UInt64) -> UInt8 {
        let inode = inodes[index]!
        if let byte = inode.bytes[offset] { return byte }
        guard let token = inode.pages.value(at: offset >> GmemABI.pageShift) else { return 0 }
        let within = offset & (GmemABI.pageSize - 1)
        return within < 8 ? UInt8(truncatingIfNeeded: token >> (within * 8)) : 0
    }

    /// Sets the byte at `offset` of inode `index` (whose page is allocated), keeping only
    /// bytes that differ from the page token's picture.
    mutating func setByte(_ index: Int, _ offset: UInt64, _ byte: UInt8) {
        let page = offset >> GmemABI.pageShift
        if inodes[index]!.pages.value(at: page) == nil { inodes[index]!.pages.set(page, page + 1, to: 0) }
        let token = inodes[index]!.pages.value(at: page)!
        let within = offset & (GmemABI.pageSize - 1)
        let picture: UInt8 = within < 8 ? UInt8(truncatingIfNeeded: token >> (within * 8)) : 0
        inodes[index]!.bytes[offset] = byte == picture ? nil : byte
    }

    func mapping(containing address: UInt64) -> Mapping? {
        let low = firstMapping(endingAfter: address)
        guard low < mappings.count, mappings[low].start <= address else { return nil }
        return mappings[low]
    }

    /// The index of the first mapping (by address) that ends after `address`.
    func firstMapping(endingAfter address: UInt64) -> Int {
        var low = 0
        var high = mappings.count
        while low < high {
            let mid = (low + high) >> 1
            if mappings[mid].end <= address { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Where the next mapping of `pages` pages goes (``firstFit(length:windows:limit:)`` over
    /// the live windows), or nil when user space has no room.
    func freeAddressRange(pages: UInt64) -> UInt64? {
        let (length, overflow) = pages.multipliedReportingOverflow(by: GmemABI.pageSize)
        if overflow { return nil }
        return Self.firstFit(
            length: length, windows: mappingWindows.lazy.map { ($0.start, $0.end) },
            limit: capabilities.userAddressLimit)
    }

    /// The lowest address from ``mappingBase`` where `length` bytes and a ``mappingGuard``
    /// after them meet none of `windows` (`[start, end)` ranges sorted by start, each a live
    /// mapping's window), the mapping ending at most at `limit`; nil when nothing fits.
    ///
    /// Linux reuses the range of an unmapped mapping, so the model does too (it once only
    /// moved on, and after about 114,000 mmap/munmap pairs every mmap was `ENOMEM`). The
    /// kernel backend places each mapping at this address, from its own live windows.
    public static func firstFit(length: UInt64, windows: some Sequence<(UInt64, UInt64)>, limit: UInt64) -> UInt64? {
        var candidate = mappingBase
        for (start, end) in windows {
            let (mappingEnd, overflow) = candidate.addingReportingOverflow(length)
            let (windowEnd, guardOverflow) = mappingEnd.addingReportingOverflow(mappingGuard)
            if !overflow, !guardOverflow, windowEnd <= start { return mappingEnd <= limit ? candidate : nil }
            candidate = max(candidate, end)
        }
        let (end, overflow) = candidate.addingReportingOverflow(length)
        return overflow || end > limit ? nil : candidate
    }

    /// Records the window of a new mapping at `start`.
    mutating func reserve(start: UInt64, pages: UInt64) {
        let end = start + pages << GmemABI.pageShift
        let (windowEnd, overflow) = end.addingReportingOverflow(Self.mappingGuard)
        let window = MappingWindow(start: start, mappedEnd: end, end: overflow ? UInt64.max : windowEnd)
        var low = 0
        var high = mappingWindows.count
        while low < high {
            let mid = (low + high) >> 1
            if mappingWindows[mid].start <= start { low = mid + 1 } else { high = mid }
        }
        mappingWindows.insert(window, at: low)
    }

    /// Drops the windows meeting `[start, end)` that no longer hold a mapped page.
    mutating func releaseWindows(_ start: UInt64, _ end: UInt64) {
        var index = firstWindow(endingAfter: start)
        while index < mappingWindows.count, mappingWindows[index].start < end {
            let window = mappingWindows[index]
            let first = firstMapping(endingAfter: window.start)
            if first < mappings.count, mappings[first].start < window.mappedEnd {
                index += 1
            } else {
                mappingWindows.remove(at: index)
            }
        }
    }

    /// The index of the first window (by address) that ends after `address`.
    func firstWindow(endingAfter address: UInt64) -> Int {
        var low = 0
        var high = mappingWindows.count
        while low < high {
            let mid = (low + high) >> 1
            if mappingWindows[mid].end <= address { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The live host mappings (pieces of a mapping split by `munmap` count one each: each is a
    /// VMA of its own on Linux).
    public var mappingCount: Int { mappings.count }

    mutating func insertMapping(_ mapping: Mapping) {
        var low = 0
        var high = mappings.count
        while low < high {
            let mid = (low + high) >> 1
            if mappings[mid].start <= mapping.start { low = mid + 1 } else { high = mid }
        }
        mappings.insert(mapping, at: low)
    }
}

/// The signal a host access through a mapping raises instead of completing.
public enum HostSignal: Error, Hashable, Sendable, CustomStringConvertible {
    /// `SIGBUS`: the page cannot be provided (private guest_memfd memory M3, past the end M4).
    case sigbus
    /// `SIGSEGV`: no mapping at the address, or the mapping's protection forbids the access.
    case sigsegv

    /// The signal's name: `SIGBUS` or `SIGSEGV`.
    public var description: String { self == .sigbus ? "SIGBUS" : "SIGSEGV" }
}

/// The address range a host mapping took when it was made: the mapping and its guard.
struct MappingWindow: Hashable, Sendable {
    /// The mapping's first address.
    var start: UInt64
    /// The end of the mapping as made (its pieces lie in `[start, mappedEnd)`).
    var mappedEnd: UInt64
    /// The end of its guard.
    var end: UInt64
}
