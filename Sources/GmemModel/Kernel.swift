/// The whole modelled kernel: one process's fd table, its open files, VMs, guest_memfd
/// inodes and host mappings. A `Hashable` value, so a design explorer can hash states.
///
/// Operations are `mutating` methods that return `Result`: a refused operation returns the
/// errno Linux 6.18 returns and leaves the state untouched (GMEM-SPEC P1).
public struct ModelKernel: Hashable, Sendable {
    /// What the modelled kernel supports.
    public let capabilities: ModelCapabilities
    /// The lifetime design in force.
    public let policy: Policy

    /// fd table: index `fd` → index into `openFiles` (fds 0–2 start open on the process's
    /// standard streams, as in any process).
    var descriptors: [Int?] = [0, 1, 2]
    /// `FD_CLOEXEC` of each fd in `descriptors` (false where the fd is free).
    var closeOnExec: [Bool] = [false, false, false]
    /// Open file descriptions, lowest free index first.
    var openFiles: [OpenFile?] = []
    /// VMs, by id (lowest free first).
    var machines: [Machine?] = []
    /// Memory objects (guest_memfd inodes and anonymous memory), by id.
    var inodes: [Inode?] = []
    /// Host mappings, sorted by start address.
    var mappings: [Mapping] = []
    /// Page pins the host holds (a pipe's `vmsplice`d pages), by id (GMEM-SPEC V4).
    var pins: [HostPin?] = []
    /// The pages (host virtual page numbers) of every mapping without `PROT_READ` whose
    /// page-table entry is present: gup-fast serves them from the entry (x86 cannot express
    /// write-only, so a present entry is readable), where `get_user_pages` refuses such a
    /// mapping (`EFAULT`): KVM's reads through `userspace_addr` (B10) and `vmsplice` pins.
    var presentPages: PageMap<Bool> = PageMap()

    /// The lowest fd number a new process hands out (0–2 are stdin, stdout, stderr, open
    /// from the start; once closed, their numbers are reused like any other).
    public static let firstDescriptor: Int32 = 3
    /// Where the model places its first host mapping (later ones go at the lowest address
    /// from here where the mapping and its ``mappingGuard`` meet no live mapping's window:
    /// ``firstFit(length:windows:limit:)``).
    public static let mappingBase: UInt64 = 0x1000_0000_0000
    /// VMs destroyed since the last ``takeDestroyedVMs()`` (not part of the state's identity).
    var events = ModelEvents()
    /// Where each table's lowest free index may be (not part of the state's identity).
    var hints = TableHints()
    /// The windows of the live host mappings (each mapping as made, and its guard), sorted by
    /// start: a window goes when its last page is unmapped, and its range is reused.
    var mappingWindows: [MappingWindow] = []
    /// The fd limit in force (`RLIMIT_NOFILE` as the model numbers fds): starts at the
    /// capabilities' ``ModelCapabilities/descriptorLimit``; ``setDescriptorLimit(_:)`` changes it.
    public private(set) var descriptorLimit: UInt64

    /// An empty process on a kernel with `capabilities`, running `policy`; never fails.
    public init(capabilities: ModelCapabilities = .referenceHost, policy: Policy = .upstream) {
        self.capabilities = capabilities
        self.policy = policy
        descriptorLimit = capabilities.descriptorLimit
        openFiles = (0..<3).map { _ in OpenFile(kind: .standardStream) }
    }
}

// MARK: - Internal objects

/// An open file description: what an fd (and a mapping) refers to.
struct OpenFile: Hashable, Sendable {
    enum Kind: UInt8, Hashable, Sendable {
        case machine, vcpu, stats, guestMemfd, memfd
        /// fds 0–2 as the process found them (the model takes them to be `/dev/null`).
        case standardStream
        /// `/dev/kvm`.
        case kvmDevice
    }
    var kind: Kind
    /// fds plus mappings plus (alternative policies) memslots referring to it.
    var references: Int32 = 1
    /// The VM of a VM, vCPU or stats file.
    var machine: Int = -1
    /// The vCPU id of a vCPU file.
    var vcpuID: UInt32 = 0
    /// The inode of a guest_memfd or memfd.
    var inode: Int = -1
    /// The VM's view of a guest_memfd: owner and bindings.
    var guestMemfd: GuestMemfdFile?
    /// The file position (`read`, `write`, `lseek` of a memfd).
    var position: UInt64 = 0
}

/// The file half of a guest_memfd (the kernel's `struct kvm_gmem`): the VM's view.
struct GuestMemfdFile: Hashable, Sendable {
    /// The VM this file may bind to (`gmem->kvm`).
    var owner: FileOwner
    /// Whether this file holds a reference on `owner` (policy).
    var holdsMachineReference: Bool
    /// The VM the data last belonged to (policy (c)).
    var dataOwner: FileOwner
    /// File page → memslot.
    var bindings: PageMap<BindingTarget> = PageMap()
}

/// The memslot a bound file page belongs to.
public struct BindingTarget: Hashable, Sendable {
    /// The VM id.
    public var machine: Int
    /// The memslot number (`as_id << 16 | id`).
    public var slot: UInt32
}

/// A memory object: a guest_memfd inode (the physical memory) or anonymous memory.
struct Inode: Hashable, Sendable {
    enum Kind: UInt8, Hashable, Sendable { case guestMemfd, anonymous, memfd }
    var kind: Kind
    /// Size in bytes.
    var size: UInt64
    /// guest_memfd create flags.
    var flags: UInt64 = 0
    /// Allocated pages and their content token (0 = zero page): a page holding token `t`
    /// holds `t` little-endian in its first 8 bytes and zeros elsewhere, except where
    /// `bytes` says otherwise.
    var pages: PageMap<UInt64> = PageMap()
    /// Bytes (by offset in the inode) of allocated pages that differ from their token's
    /// picture: what host accesses narrower than 8 bytes or off a page start wrote.
    var bytes: [UInt64: UInt8] = [:]
    /// memfd pages allocated by `fallocate` and never written or faulted: not up to date in
    /// the page cache, so fault-around leaves them unmapped.
    var unwritten: PageMap<Bool> = PageMap()
    /// Permission bits (`fchmod` of a memfd).
    var mode: UInt32 = 0o600
    /// guest_memfd pages whose shared/private state a conversion changed from the initial
    /// one (`INIT_SHARED`: shared, else private), and to what (true: private); GMEM-SPEC V1.
    /// Stored only where it differs, so equal states compare equal.
    var conversions: PageMap<Bool> = PageMap()
    /// Files (guest_memfd, memfd) or mapping pieces (anonymous) that refer to it.
    var references: Int32 = 1
}

/// A VM (`struct kvm`).
struct Machine: Hashable, Sendable {
    var type: UInt64
    /// VM fd, vCPU fds, stats fds and (upstream) guest_memfd files.
    var references: Int32 = 1
    /// Created vCPU ids, sorted.
    var vcpuIDs: [UInt32] = []
    /// Memslots, sorted by slot number.
    var slots: [MemorySlot] = []
    /// Memory attributes per guest page (only non-zero values stored).
    var attributes: PageMap<UInt64> = PageMap()
}

/// A host mapping (a VMA): of a guest_memfd file or of anonymous memory.
struct Mapping: Hashable, Sendable {
    var start: UInt64
    var pageCount: UInt64
    var protection: Int32
    /// The open guest_memfd file it maps, or -1 for anonymous memory.
    var file: Int
    /// The inode it maps (for a file mapping, the file's inode).
    var inode: Int
    /// The inode page the mapping's first page maps.
    var pageOffset: UInt64
    /// For a private file mapping, the anonymous inode holding its copied-on-write pages
    /// (indexed by file page), else -1.
    var privateCopies: Int = -1

    var end: UInt64 { start + pageCount << GmemABI.pageShift }
}

// MARK: - Public identities and views

/// A memslot of a VM, as `KVM_SET_USER_MEMORY_REGION(2)` created it.
public struct MemorySlot: Hashable, Sendable {
    /// `as_id << 16 | id`.
    public internal(set) var slot: UInt32
    /// The memslot flags as given.
    public internal(set) var flags: UInt32
    /// The first guest frame number.
    public internal(set) var basePage: UInt64
    /// The number of pages.
    public internal(set) var pageCount: UInt64
    /// `userspace_addr`.
    public internal(set) var userspaceAddress: UInt64
    /// The open guest_memfd file bound (a `GuestMemfdID` raw value), or nil when the slot has
    /// no guest_memfd or its binding was invalidated by the file's release (L5).
    public internal(set) var guestMemfd: Int?
    /// The first file page bound.
    public internal(set) var guestMemfdPageOffset: UInt64
    /// `KVM_MEMSLOT_GMEM_ONLY`: the file had `MMAP` when bound, so shared accesses are served
    /// from the file too.
    public internal(set) var guestMemfdOnly: Bool

    /// Whether the slot was created with `KVM_MEM_GUEST_MEMFD`.
    public var isGuestMemfd: Bool { flags & GmemABI.MemslotFlag.guestMemfd != 0 }
    /// The guest physical address.
    public var guestPhysicalAddress: UInt64 { basePage << GmemABI.pageShift }
    /// The size in bytes.
    public var memorySize: UInt64 { pageCount << GmemABI.pageShift }
    /// The address space (`slot >> 16`).
    public var addressSpace: UInt32 { slot >> 16 }

    func contains(page: UInt64) -> Bool { page >= basePage && page - basePage < pageCount }
}

/// What the model reports about a live VM.
public struct VMSummary: Hashable, Sendable {
    /// The VM id (lowest free, from 0).
    public let id: Int
    /// The VM type.
    public let type: UInt64
    /// References pinning it: VM fd, vCPU fds, stats fds, guest_memfd files (upstream).
    public let references: Int32
    /// The vCPU ids created.
    public let vcpuIDs: [UInt32]
    /// Its memslots, by slot number.
    public let memorySlots: [MemorySlot]
}

/// What the model reports about a live guest_memfd file and its inode.
public struct GuestMemfdSummary: Hashable, Sendable {
    /// The open file's id (stable while it lives).
    public let id: Int
    /// The VM it may bind to.
    public let owner: FileOwner
    /// The size in bytes.
    public let size: UInt64
    /// The create flags.
    public let flags: UInt64
    /// fds, mappings and (alternative policies) memslots referring to it.
    public let references: Int32
    /// Pages currently allocated (F5).
    public let allocatedPages: UInt64
    /// File page ranges bound to memslots.
    public let bindings: [PageMap<BindingTarget>.Extent]
}

/// What a host mapping looks like from the outside.
public struct HostMappingSummary: Hashable, Sendable {
    /// The first address.
    public let address: UInt64
    /// The length in bytes.
    public let length: UInt64
    /// The protection bits.
    public let protection: Int32
    /// The guest_memfd file mapped, or nil for anonymous memory.
    public let guestMemfd: Int?
}

// MARK: - Inspection

extension ModelKernel {
    /// The open fd numbers, ascending.
    public var openDescriptors: [Int32] {
        descriptors.indices.compactMap { fd in
            guard let file = descriptors[fd], openFiles[file]?.kind != .standardStream else { return nil }
            return Int32(fd)
        }
    }

    /// The live VMs, by id.
    public var liveVMs: [VMSummary] {
        machines.indices.compactMap { id in
            machines[id].map {
                VMSummary(id: id, type: $0.type, references: $0.references, vcpuIDs: $0.vcpuIDs, memorySlots: $0.slots)
            }
        }
    }

    /// The live guest_memfd files, by id.
    public var liveGuestMemfds: [GuestMemfdSummary] {
        openFiles.indices.compactMap { id in
            guard let file = openFiles[id], let gmem = file.guestMemfd, let inode = inodes[file.inode] else {
                return nil
            }
            return GuestMemfdSummary(
                id: id, owner: gmem.owner, size: inode.size, flags: inode.flags, references: file.references,
                allocatedPages: inode.pages.pageCount, bindings: gmem.bindings.extents)
        }
    }

    /// The host mappings, by address.
    public var hostMappings: [HostMappingSummary] {
        mappings.map {
            HostMappingSummary(
                address: $0.start, length: $0.pageCount << GmemABI.pageShift,
                protection: $0.protection, guestMemfd: $0.file >= 0 ? $0.file : nil)
        }
    }

    /// Pages allocated across all guest_memfd inodes (the model's `Unevictable`, F5).
    public var allocatedGuestMemfdPages: UInt64 {
        inodes.reduce(0) { $0 + ($1.map { $0.kind == .guestMemfd ? $0.pages.pageCount : 0 } ?? 0) }
    }

    /// The VM id an fd refers to (VM, vCPU or stats fd), or nil.
    public func machineID(of fd: Int32) -> Int? {
        guard let index = fileIndex(fd), let file = openFiles[index], file.machine >= 0 else { return nil }
        return file.machine
    }

    /// The guest_memfd file id an fd refers to, or nil.
    public func guestMemfdID(of fd: Int32) -> Int? {
        guard let index = fileIndex(fd), openFiles[index]?.kind == .guestMemfd else { return nil }
        return index
    }

    /// Whether VM `machine` exists (is not destroyed); cheaper than ``liveVMs``.
    public func vmExists(_ machine: Int) -> Bool {
        machine >= 0 && machine < machines.count && machines[machine] != nil
    }

    /// The VM pointer (`gmem->kvm`) of guest_memfd file `id`, or nil when no such file is
    /// open; cheaper than ``liveGuestMemfds``.
    public func owner(ofGuestMemfd id: Int) -> FileOwner? {
        id >= 0 && id < openFiles.count ? openFiles[id]?.guestMemfd?.owner : nil
    }

    /// The bindings (file page ranges → memslots) of guest_memfd file `id`, or none when no
    /// such file is open; cheaper than ``liveGuestMemfds``.
    public func bindings(ofGuestMemfd id: Int) -> [PageMap<BindingTarget>.Extent] {
        id >= 0 && id < openFiles.count ? openFiles[id]?.guestMemfd?.bindings.extents ?? [] : []
    }

    /// The allocated pages and their content tokens of guest_memfd file `id`'s inode, or nil
    /// when no such file is open; for explorers and tests, not a kernel interface.
    public func contents(ofGuestMemfd id: Int) -> PageMap<UInt64>? {
        guard id >= 0, id < openFiles.count, let file = openFiles[id], file.kind == .guestMemfd else { return nil }
        return inodes[file.inode]?.pages
    }

    /// The memslots of VM `machine` (empty when it is not alive).
    public func memorySlots(ofVM machine: Int) -> [MemorySlot] {
        machine < machines.count ? machines[machine]?.slots ?? [] : []
    }

    /// The allocated pages of the guest_memfd behind `fd` (F5).
    ///
    /// Fails with `EBADF` for a closed fd and `EINVAL` for an fd that is not a guest_memfd.
    public func allocatedPages(fd: Int32) -> Result<UInt64, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard file.kind == .guestMemfd, let inode = inodes[file.inode] else { return .failure(.EINVAL) }
        return .success(inode.pages.pageCount)
    }

    /// The content token of page `page` of the guest_memfd behind `fd`, without touching it
    /// (nil when not allocated); for tests and explorers, not a kernel interface.
    ///
    /// Fails with `EBADF` for a closed fd and `EINVAL` for an fd that is not a guest_memfd.
    public func peek(fd: Int32, page: UInt64) -> Result<UInt64?, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        guard file.kind == .guestMemfd, let inode = inodes[file.inode] else { return .failure(.EINVAL) }
        return .success(inode.pages.value(at: page))
    }
}

// MARK: - Tables

extension ModelKernel {
    @inline(__always)
    func fileIndex(_ fd: Int32) -> Int? {
        guard fd >= 0, Int(fd) < descriptors.count else { return nil }
        return descriptors[Int(fd)]
    }

    /// The number of open fds (standard streams included).
    var descriptorCount: Int { descriptors.count - descriptors.lazy.filter { $0 == nil }.count }

    /// Whether one more fd can be installed under the process's fd limit (else `EMFILE`).
    var descriptorAvailable: Bool {
        var free = min(hints.descriptors, descriptors.count)
        while free < descriptors.count, descriptors[free] != nil { free += 1 }
        return UInt64(free) < descriptorLimit
    }

    /// `setrlimit(RLIMIT_NOFILE)` with soft limit `limit` (fds numbered from 0, as the model
    /// numbers them): fds already open stay; installing one at `limit` or above is `EMFILE`.
    public mutating func setDescriptorLimit(_ limit: UInt64) {
        descriptorLimit = limit
    }

    /// Stores `value` at the lowest free index of `table`, scanning from `hint` (no free
    /// index lies below it), so that filling a table is linear, not quadratic.
    static func insertLowest<T>(_ value: T, into table: inout [T?], hint: inout Int) -> Int {
        var index = min(hint, table.count)
        while index < table.count, table[index] != nil { index += 1 }
        if index < table.count { table[index] = value } else { table.append(value) }
        hint = index + 1
        return index
    }

    /// Frees `index` of `table` and trims trailing holes, so equal contents compare equal.
    static func removeEntry<T>(_ index: Int, from table: inout [T?], hint: inout Int) {
        table[index] = nil
        hint = min(hint, index)
        while let last = table.last, last == nil { table.removeLast() }
    }

    /// Installs a new fd for open file `file` at the lowest free number (callers check
    /// ``descriptorAvailable`` where the kernel does).
    mutating func installDescriptor(for file: Int, closeOnExec flag: Bool = false) -> Int32 {
        let fd = Self.insertLowest(file, into: &descriptors, hint: &hints.descriptors)
        if fd < closeOnExec.count { closeOnExec[fd] = flag } else { closeOnExec.append(flag) }
        return Int32(fd)
    }

    /// Creates an open file description with one reference.
    mutating func createOpenFile(_ file: OpenFile) -> Int {
        Self.insertLowest(file, into: &openFiles, hint: &hints.openFiles)
    }

    /// The VM a VM-ioctl fd refers to, with the errno an ioctl on another kind of fd gets:
    /// `EBADF` closed, `EINVAL` a vCPU fd (`kvm_arch_vcpu_ioctl`) or /dev/kvm
    /// (`kvm_arch_dev_ioctl`), `ENOTTY` anything else.
    func machineForVMIoctl(_ fd: Int32) -> Result<Int, ModelErrno> {
        guard let index = fileIndex(fd), let file = openFiles[index] else { return .failure(.EBADF) }
        switch file.kind {
        case .machine: return .success(file.machine)
        case .vcpu, .kvmDevice: return .failure(.EINVAL)
        case .stats, .guestMemfd, .memfd, .standardStream: return .failure(.ENOTTY)
        }
    }
}

// MARK: - References and release (GMEM-SPEC L)

extension ModelKernel {
    /// Drops one reference on open file `index`; releases it when it was the last.
    mutating func dropFileReference(_ index: Int) {
        openFiles[index]!.references -= 1
        if openFiles[index]!.references == 0 { releaseFile(index) }
    }

    /// The last reference to an open file went (`->release`).
    mutating func releaseFile(_ index: Int) {
        let file = openFiles[index]!
        Self.removeEntry(index, from: &openFiles, hint: &hints.openFiles)
        switch file.kind {
        case .machine, .vcpu, .stats:
            if file.kind == .vcpu, file.inode >= 0 { dropInodeReference(file.inode) }
            dropMachineReference(file.machine)
        case .memfd:
            dropInodeReference(file.inode)
        case .standardStream, .kvmDevice:
            break
        case .guestMemfd:
            let gmem = file.guestMemfd!
            // kvm_gmem_release: invalidate every binding; the memslots stay (L5, G2).
            for extent in gmem.bindings.extents {
                let target = extent.value
                if let slotIndex = machines[target.machine]?.slots.firstIndex(where: { $0.slot == target.slot }),
                    machines[target.machine]!.slots[slotIndex].guestMemfd == index
                {
                    machines[target.machine]!.slots[slotIndex].guestMemfd = nil
                }
            }
            dropInodeReference(file.inode)
            if gmem.holdsMachineReference, case .machine(let machine) = gmem.owner {
                dropMachineReference(machine)
            }
        }
    }

    /// Drops one reference on inode `index`; frees it (and its pages) when it was the last.
    mutating func dropInodeReference(_ index: Int) {
        inodes[index]!.references -= 1
        if inodes[index]!.references == 0 { Self.removeEntry(index, from: &inodes, hint: &hints.inodes) }
    }

    /// Frees pages `[start, end)` of inode `index` and the bytes written into them; a pinned
    /// page leaves the file (its pin no longer blocks a conversion, GMEM-SPEC V8).
    mutating func removePages(_ index: Int, _ start: UInt64, _ end: UInt64) {
        guard start < end else { return }
        if !pins.isEmpty { detachPinnedPages(index, start, end) }
        // Freeing file pages unmaps them from every mapping (unmap_mapping_range).
        if !presentPages.isEmpty { unmapPresent(inode: index, start, end) }
        inodes[index]!.pages.remove(start, end)
        inodes[index]!.unwritten.remove(start, end)
        if !inodes[index]!.bytes.isEmpty {
            inodes[index]!.bytes = inodes[index]!.bytes.filter {
                $0.key >> GmemABI.pageShift < start || $0.key >> GmemABI.pageShift >= end
            }
        }
    }

    /// Drops one reference on VM `machine`; destroys it when it was the last (L6).
    mutating func dropMachineReference(_ machine: Int) {
        machines[machine]!.references -= 1
        if machines[machine]!.references == 0 { destroyMachine(machine) }
    }

    /// `kvm_destroy_vm`: frees the memslots (unbinding what is still bound) and the VM.
    mutating func destroyMachine(_ machine: Int) {
        let slots = machines[machine]!.slots
        for slot in slots { unbind(slot, of: machine) }
        Self.removeEntry(machine, from: &machines, hint: &hints.machines)
        events.destroyedVMs.append(machine)
        // Alternative policies: files may outlive their VM; their pointer must not match a
        // future VM that reuses the id.
        for index in openFiles.indices {
            guard var gmem = openFiles[index]?.guestMemfd else { continue }
            var changed = false
            if gmem.owner == .machine(machine) {
                gmem.owner = policy.clearsOwnerOnLastUnbind ? .none : .destroyedMachine
                changed = true
            }
            if gmem.dataOwner == .machine(machine) {
                gmem.dataOwner = .destroyedMachine
                changed = true
            }
            if changed { openFiles[index]!.guestMemfd = gmem }
        }
    }

    /// Removes `slot`'s binding from its file (`kvm_gmem_unbind`) and applies the policy's
    /// unbind decisions: zero the range (b), forget the owner, drop the memslot's reference.
    mutating func unbind(_ slot: MemorySlot, of machine: Int) {
        guard let fileIndex = slot.guestMemfd, openFiles[fileIndex]?.guestMemfd != nil else { return }
        let start = slot.guestMemfdPageOffset
        let end = start + slot.pageCount
        openFiles[fileIndex]!.guestMemfd!.bindings.remove(start, end)
        if policy.zeroesOnUnbind {
            inodes[openFiles[fileIndex]!.inode]!.pages.remove(start, end)
        }
        if policy.clearsOwnerOnLastUnbind, openFiles[fileIndex]!.guestMemfd!.bindings.isEmpty {
            openFiles[fileIndex]!.guestMemfd!.owner = .none
        }
        if policy.memslotHoldsFileReference { dropFileReference(fileIndex) }
    }
}

/// What happened inside the model that an observer may want to know, outside the state's
/// identity: equality ignores it and hashing skips it, so explored states stay comparable.
struct ModelEvents: Hashable, Sendable {
    var destroyedVMs: [Int] = []
    static func == (lhs: ModelEvents, rhs: ModelEvents) -> Bool { true }
    func hash(into hasher: inout Hasher) {}
}

extension ModelKernel {
    /// The ids of the VMs destroyed since the last call (an id may be reused afterwards by
    /// a new VM), for observers that track VMs by creation rather than by id.
    public mutating func takeDestroyedVMs() -> [Int] {
        defer { events.destroyedVMs.removeAll(keepingCapacity: true) }
        return events.destroyedVMs
    }
}

/// Lower bounds of the lowest free index of each table of ``ModelKernel``: an optimisation
/// only, so equality ignores them and hashing skips them.
struct TableHints: Hashable, Sendable {
    var descriptors = 0, openFiles = 0, machines = 0, inodes = 0, pins = 0
    static func == (lhs: TableHints, rhs: TableHints) -> Bool { true }
    func hash(into hasher: inout Hasher) {}
}
