/// In-place shared/private conversion on the guest_memfd itself (GMEM-SPEC V, profile `next`):
/// `KVM_SET_MEMORY_ATTRIBUTES2` on the file (in-place conversion series v13, Ackerley Tng,
/// Sean Christopherson, Fuad Tabba, Michael Roth), the file's per-page state, and the page
/// pins that make a conversion to private refuse with `EAGAIN`.
extension ModelKernel {
    /// Why a conversion failed: the errno, and the `error_offset` the kernel wrote back (nil
    /// when it did not: the argument checks fail before the file's range is looked at).
    public struct ConversionFailure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The errno the call failed with.
        public let errno: ModelErrno
        /// The `error_offset` written back, or nil when the field was left alone.
        public let errorOffset: UInt64?

        /// A failure; every field is taken as given.
        public init(_ errno: ModelErrno, errorOffset: UInt64? = nil) {
            self.errno = errno
            self.errorOffset = errorOffset
        }

        /// The errno's name, and `error_offset=N` when the offset was written back.
        public var description: String { errorOffset.map { "\(errno) error_offset=\($0)" } ?? "\(errno)" }
    }

    /// `KVM_SET_MEMORY_ATTRIBUTES2` on the guest_memfd behind `fd` (`kvm_gmem_set_attributes`):
    /// makes `[offset, offset + size)` of the file's inode private (`attributes` =
    /// `PRIVATE`) or shared (0), with content mode `flags` (0, `ZERO`, `PRESERVE`).
    ///
    /// Fails with `EBADF` (closed fd); `ENOTTY` on a kernel without the ioctl on a guest_memfd
    /// (the reference host, GMEM-SPEC V9), on a VM fd or any other file; `EINVAL` on a vCPU fd
    /// or /dev/kvm; then the argument checks of
    /// ``GmemRules/validateConversion(offset:size:attributes:flags:supportedAttributes:fileSize:)``
    /// (`EINVAL`, V2); `EOPNOTSUPP` with `error_offset = offset` for a content mode the VM does
    /// not support (`ZERO` to private, V3); `EAGAIN` with `error_offset` at the first page
    /// the host holds pinned, for a conversion to private (V4).
    public mutating func convert(
        fd: Int32, offset: UInt64, size: UInt64, attributes: UInt64, flags: UInt64
    ) -> Result<Void, ConversionFailure> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.init(.EBADF)) }
        switch file.kind {
        case .guestMemfd: break
        case .vcpu, .kvmDevice: return .failure(.init(.EINVAL))
        case .machine, .stats, .memfd, .standardStream: return .failure(.init(.ENOTTY))
        }
        // 6.18 has no unlocked_ioctl in kvm_gmem_fops: vfs_ioctl answers ENOTTY.
        guard capabilities.guestMemfdAttributes != 0 else { return .failure(.init(.ENOTTY)) }
        let inode = file.inode
        let type = ownerType(of: file)
        if let error = GmemRules.validateConversion(
            offset: offset, size: size, attributes: attributes, flags: flags,
            supportedAttributes: type.map { capabilities.guestMemfdAttributes(forVMType: $0) } ?? 0,
            fileSize: inodes[inode]!.size)
        {
            return .failure(.init(error))
        }
        let toPrivate = attributes & GmemABI.MemoryAttribute.private != 0
        let start = offset >> GmemABI.pageShift
        let end = start + (size >> GmemABI.pageShift)
        // kvm_gmem_content_mode_is_supported, under the invalidate lock: error_offset = start.
        if !GmemRules.contentModeIsSupported(
            flags, toPrivate: toPrivate,
            supportedModes: type.map { capabilities.conversionContentModes(forVMType: $0) } ?? 0)
        {
            return .failure(.init(.EOPNOTSUPP, errorOffset: offset))
        }
        // kvm_gmem_range_has_attributes: nothing to convert, but the content mode applies.
        if allPages(of: inode, start, end, arePrivate: toPrivate) {
            applyContentMode(flags, inode: inode, start, end)
            return .success(())
        }
        if toPrivate, let page = firstPinnedPage(inode, start, end) {
            // unmap_mapping_pages zaps every host mapping first; only pins keep a reference
            // (kvm_gmem_is_safe_for_conversion).
            return .failure(.init(.EAGAIN, errorOffset: page << GmemABI.pageShift))
        }
        applyContentMode(flags, inode: inode, start, end)
        setPages(of: inode, start, end, private: toPrivate)
        return .success(())
    }

    /// Whether page `page` of the guest_memfd behind `fd` is private now (initially: without
    /// `INIT_SHARED`; then as conversions left it); for tests and explorers.
    ///
    /// Fails with `EBADF` for a closed fd and `EINVAL` for an fd that is not a guest_memfd.
    public func isPrivate(fd: Int32, page: UInt64) -> Result<Bool, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard file.kind == .guestMemfd else { return .failure(.EINVAL) }
        return .success(pageIsPrivate(file.inode, page))
    }

    /// Whether page `page` of guest_memfd inode `inode` is private (GMEM-SPEC V1).
    func pageIsPrivate(_ inode: Int, _ page: UInt64) -> Bool {
        let node = inodes[inode]!
        return node.conversions.value(at: page) ?? (node.flags & GmemABI.CreateFlag.initShared == 0)
    }

    /// The type of the VM that owns file `file` (`f->kvm`), or nil once it is gone (alternative
    /// lifetime policies only).
    func ownerType(of file: OpenFile) -> UInt64? {
        guard case .machine(let machine) = file.guestMemfd?.owner, vmExists(machine) else { return nil }
        return machines[machine]!.type
    }

    func allPages(of inode: Int, _ start: UInt64, _ end: UInt64, arePrivate: Bool) -> Bool {
        let initial = inodes[inode]!.flags & GmemABI.CreateFlag.initShared == 0
        if arePrivate == initial { return inodes[inode]!.conversions.pageCount(in: start, end) == 0 }
        return inodes[inode]!.conversions.allPages(in: start, end, equal: arePrivate)
    }

    mutating func setPages(of inode: Int, _ start: UInt64, _ end: UInt64, private value: Bool) {
        // A conversion to private zaps the range from every host mapping (unmap_mapping_pages).
        if value, !presentPages.isEmpty { unmapPresent(inode: inode, start, end) }
        let initial = inodes[inode]!.flags & GmemABI.CreateFlag.initShared == 0
        if value == initial {
            inodes[inode]!.conversions.remove(start, end)
        } else {
            inodes[inode]!.conversions.set(start, end, to: value)
        }
    }

    /// `kvm_gmem_apply_content_mode`: `ZERO` zeroes the allocated pages of the range (they
    /// stay allocated); unspecified and `PRESERVE` keep the contents (the software-protected
    /// VM's unspecified mode keeps them too: the conversion selftest reads the guest's data
    /// back through the host mapping).
    mutating func applyContentMode(_ flags: UInt64, inode: Int, _ start: UInt64, _ end: UInt64) {
        guard flags == GmemABI.ConversionFlag.zero else { return }
        inodes[inode]!.pages.update(start, end) { $0 == nil ? nil : 0 }
        if !inodes[inode]!.bytes.isEmpty {
            inodes[inode]!.bytes = inodes[inode]!.bytes.filter {
                $0.key >> GmemABI.pageShift < start || $0.key >> GmemABI.pageShift >= end
            }
        }
    }
}

// MARK: - Host page pins

/// A page pin the host holds: the pages a `vmsplice` into a pipe took references on.
struct HostPin: Hashable, Sendable {
    /// The pinned pages still in their file (a punch detaches them, GMEM-SPEC V8).
    var pages: [PinnedPage]
    /// The inodes the pin holds a reference on (each once).
    var inodes: [Int]
}

/// One pinned page: an inode and a page of it.
struct PinnedPage: Hashable, Sendable {
    var inode: Int
    var page: UInt64
}

extension ModelKernel {
    /// The most pages one pin takes: a pipe's default capacity (16 buffers), so a
    /// non-blocking `vmsplice` of a whole pin never stops short for room.
    public static let maximumPinPages: UInt64 = 16

    /// `vmsplice(pipe, {address, length}, 1, SPLICE_F_NONBLOCK)` of host memory: takes a
    /// reference on every page (faulting it in) until ``unpin(_:)``; returns the pin's id and
    /// the bytes pinned (fewer than `length` when a later page cannot be reached).
    ///
    /// Fails with `EINVAL` for an unaligned address or length, or more than
    /// ``maximumPinPages`` pages; `EFAULT` when the first page cannot be taken
    /// (see below), is private guest_memfd memory or lies past the end of its file.
    ///
    /// The pages are taken as `get_user_pages_fast` takes them: gup-fast first takes the
    /// leading pages whose page-table entry is present (after a host access, a guest access
    /// through `userspace_addr`, an earlier pin or a fault-around), whatever the mapping's
    /// protection, since x86 makes every present entry readable; from the first page it
    /// cannot take, `get_user_pages` takes the rest, which needs the mapping's own
    /// `PROT_READ` and faults each page in.
    public mutating func pin(address: UInt64, length: UInt64) -> Result<(id: Int, bytes: UInt64), ModelErrno> {
        guard GmemRules.isPageAligned(address), GmemRules.isPageAligned(length),
            length >> GmemABI.pageShift <= Self.maximumPinPages
        else { return .failure(.EINVAL) }
        if address.addingReportingOverflow(length).overflow { return .failure(.EFAULT) }
        var pages: [PinnedPage] = []
        var at = address
        var fast = true
        while at < address + length {
            guard let mapping = mapping(containing: at) else { break }
            fast = fast && gupFastTakes(mapping, at: at >> GmemABI.pageShift)
            if !fast, mapping.protection & GmemABI.Protection.read == 0 { break }
            guard case .success(let (inode, page)) = resolveHostPage(address: at, protection: GmemABI.Protection.read)
            else { break }
            pages.append(PinnedPage(inode: inode, page: page))
            at += GmemABI.pageSize
        }
        if pages.isEmpty, length > 0 { return .failure(.EFAULT) }
        var held: [Int] = []
        for page in pages where !held.contains(page.inode) {
            held.append(page.inode)
            inodes[page.inode]!.references += 1
        }
        let id = Self.insertLowest(HostPin(pages: pages, inodes: held), into: &pins, hint: &hints.pins)
        return .success((id, UInt64(pages.count) << GmemABI.pageShift))
    }

    /// Drops pin `id` (closing the pipe): its pages lose the reference.
    ///
    /// Fails with `EINVAL` for an id that is not a live pin.
    public mutating func unpin(_ id: Int) -> Result<Void, ModelErrno> {
        guard id >= 0, id < pins.count, let pin = pins[id] else { return .failure(.EINVAL) }
        Self.removeEntry(id, from: &pins, hint: &hints.pins)
        for inode in pin.inodes { dropInodeReference(inode) }
        return .success(())
    }

    /// The first page of `[start, end)` of inode `inode` that a live pin holds, or nil.
    func firstPinnedPage(_ inode: Int, _ start: UInt64, _ end: UInt64) -> UInt64? {
        var first: UInt64?
        for pin in pins {
            guard let pin else { continue }
            for page in pin.pages where page.inode == inode && page.page >= start && page.page < end {
                first = min(first ?? page.page, page.page)
            }
        }
        return first
    }

    /// Pages `[start, end)` of inode `inode` leave the file: pins on them no longer count.
    mutating func detachPinnedPages(_ inode: Int, _ start: UInt64, _ end: UInt64) {
        for id in pins.indices {
            guard let pin = pins[id],
                pin.pages.contains(where: { $0.inode == inode && $0.page >= start && $0.page < end })
            else {
                continue
            }
            pins[id]!.pages.removeAll { $0.inode == inode && $0.page >= start && $0.page < end }
        }
    }
}
