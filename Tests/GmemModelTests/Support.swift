import GmemModel
import Testing

let page = GmemABI.pageSize
let mmapFlag = GmemABI.CreateFlag.mmap
let initShared = GmemABI.CreateFlag.initShared
let gmemSlot = GmemABI.MemslotFlag.guestMemfd
let keepSize = GmemABI.FallocateMode.keepSize
let punch = GmemABI.FallocateMode.punchHole | GmemABI.FallocateMode.keepSize
let readWrite = GmemABI.Protection.read | GmemABI.Protection.write
let mapShared = GmemABI.MapFlag.shared
let privateAttribute = GmemABI.MemoryAttribute.private

extension Result {
    /// The error of a failed result, nil on success.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// A process with one VM, on the given kernel.
struct Fixture {
    var kernel: ModelKernel
    let vm: Int32

    init(_ capabilities: ModelCapabilities = .referenceHost, policy: Policy = .upstream, type: UInt64 = 0) throws {
        kernel = ModelKernel(capabilities: capabilities, policy: policy)
        vm = try kernel.createVM(type: type).get()
    }

    /// Creates a guest_memfd of `pages` pages on `vm` (default: the fixture's VM).
    mutating func gmem(pages: UInt64 = 4, flags: UInt64 = mmapFlag | initShared, vm: Int32? = nil) throws -> Int32 {
        try kernel.createGuestMemfd(vmFD: vm ?? self.vm, size: pages * page, flags: flags).get()
    }

    /// Binds `pages` pages of `file` at `offsetPage` to guest page `gpaPage` as memslot `slot`.
    mutating func bind(
        _ file: Int32, slot: UInt32 = 0, gpaPage: UInt64 = 0, pages: UInt64 = 4, offsetPage: UInt64 = 0,
        vm: Int32? = nil, userspaceAddress: UInt64 = 0
    ) -> Result<Void, ModelErrno> {
        kernel.setUserMemoryRegion2(
            vmFD: vm ?? self.vm, slot: slot, flags: gmemSlot, guestPhysicalAddress: gpaPage * page,
            memorySize: pages * page, userspaceAddress: userspaceAddress, guestMemfd: file,
            guestMemfdOffset: offsetPage * page)
    }

    /// Deletes memslot `slot`.
    mutating func delete(slot: UInt32 = 0, vm: Int32? = nil) -> Result<Void, ModelErrno> {
        kernel.setUserMemoryRegion2(
            vmFD: vm ?? self.vm, slot: slot, flags: gmemSlot, guestPhysicalAddress: 0, memorySize: 0)
    }

    /// Maps the whole of a `pages`-page guest_memfd shared read/write.
    mutating func map(_ file: Int32, pages: UInt64 = 4) throws -> UInt64 {
        try kernel.mmap(fd: file, prot: readWrite, flags: mapShared, offset: 0, length: pages * page).get()
    }

    /// A guest read at guest page `gpaPage` through `fd` (default: the VM fd).
    mutating func guestRead(_ gpaPage: UInt64, fd: Int32? = nil, isPrivate: Bool = false) throws
        -> ModelKernel.GuestAccessOutcome
    {
        try kernel.guestAccess(fd: fd ?? vm, guestPhysicalAddress: gpaPage * page, .read, isPrivate: isPrivate).get()
    }

    /// A guest write of `value` at guest page `gpaPage` through `fd` (default: the VM fd).
    mutating func guestWrite(_ gpaPage: UInt64, _ value: UInt64, fd: Int32? = nil, isPrivate: Bool = false) throws
        -> ModelKernel.GuestAccessOutcome
    {
        try kernel.guestAccess(fd: fd ?? vm, guestPhysicalAddress: gpaPage * page, .write(value), isPrivate: isPrivate)
            .get()
    }
}

/// A memory-fault exit as G2/G3 describe it.
func memoryFault(gpaPage: UInt64, isPrivate: Bool = false) -> ModelKernel.GuestAccessOutcome {
    .memoryFault(
        .init(flags: isPrivate ? GmemABI.MemoryFaultFlag.private : 0, guestPhysicalAddress: gpaPage * page, size: 4096))
}

/// `Result<Void, _>` is not `Equatable` (Void is not); compare by case and error.
func == <E: Error & Equatable>(lhs: Result<Void, E>, rhs: Result<Void, E>) -> Bool {
    lhs.failure == rhs.failure
}
