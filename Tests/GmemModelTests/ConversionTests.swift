import GmemModel
import Testing

/// In-place conversion and linking on the model (GMEM-SPEC V, profile `next`): the kernel
/// configuration the conversion selftests run on (a software-protected VM, guest_memfd
/// attributes), and the reference host, where none of it exists.
@Suite("GMEM-V: in-place conversion and linking")
struct ConversionTests {
    static let next = KernelProfile.next.capabilities(ModelCapabilities.upstream.withGuestMemfdAttributes())
    static let sw = GmemABI.VMType.softwareProtected
    static let zero = GmemABI.ConversionFlag.zero
    static let preserve = GmemABI.ConversionFlag.preserve

    /// A software-protected VM with one `pages`-page file mapped at `map` and bound at gpa 0.
    struct World {
        var f: Fixture
        let file: Int32
        let map: UInt64
        init(
            pages: UInt64 = 4, flags: UInt64 = mmapFlag | initShared,
            capabilities: ModelCapabilities = ConversionTests.next
        ) throws {
            f = try Fixture(capabilities, type: ConversionTests.sw)
            file = try f.gmem(pages: pages, flags: flags)
            map = try f.kernel.mmap(fd: file, prot: readWrite, flags: mapShared, offset: 0, length: pages * page).get()
            try f.bind(file, pages: pages, userspaceAddress: map).get()
        }
        mutating func convert(_ first: UInt64, _ count: UInt64 = 1, private to: Bool, mode: UInt64 = 0) -> ModelKernel
            .ConversionFailure?
        {
            f.kernel.convert(
                fd: file, offset: first * page, size: count * page, attributes: to ? privateAttribute : 0, flags: mode
            ).failure
        }
        mutating func host(_ page: UInt64) -> Result<UInt64, HostSignal> {
            f.kernel.hostRead(address: map + page * GmemABI.pageSize)
        }
        mutating func guest(_ page: UInt64, _ access: ModelKernel.GuestAccess = .read, isPrivate: Bool) -> ModelKernel
            .GuestAccessOutcome?
        {
            try? f.kernel.guestAccess(
                fd: f.vm, guestPhysicalAddress: page * GmemABI.pageSize, access, isPrivate: isPrivate
            ).get()
        }
    }

    @Test(
        "the inode holds each page's state: INIT_SHARED starts shared, conversion changes one page, the host and the guest follow it"
    )
    func perPageState() throws {
        // GMEM-V1, GMEM-V5, GMEM-V6
        var w = try World()
        _ = w.f.kernel.hostWrite(address: w.map + page, value: 0x41)
        #expect(w.convert(1, private: true) == nil)
        #expect(w.f.kernel.isPrivate(fd: w.file, page: 1) == .success(true))
        #expect(w.f.kernel.isPrivate(fd: w.file, page: 0) == .success(false))
        #expect(w.host(1) == .failure(.sigbus))
        #expect(w.host(0) == .success(0))
        // The guest: private where the file says private, a memory fault for the other kind.
        #expect(w.guest(1, isPrivate: true) == .value(0x41))
        #expect(w.guest(1, isPrivate: false) == .memoryFault(.init(flags: 0, guestPhysicalAddress: page, size: page)))
        #expect(
            w.guest(0, isPrivate: true)
                == .memoryFault(.init(flags: GmemABI.MemoryFaultFlag.private, guestPhysicalAddress: 0, size: page)))
        #expect(w.convert(1, private: false) == nil)
        #expect(w.host(1) == .success(0x41))
        // Converting back leaves no trace: the state equals a fresh file's.
        var fresh = try World()
        _ = fresh.f.kernel.hostWrite(address: fresh.map + page, value: 0x41)
        _ = fresh.host(0)
        #expect(w.f.kernel == fresh.f.kernel)
    }

    @Test("without INIT_SHARED every page starts private; a private-memory VM may create INIT_SHARED files")
    func initialState() throws {
        // GMEM-V1, GMEM-V9
        var w = try World(flags: mmapFlag)
        #expect(w.host(0) == .failure(.sigbus))
        #expect(w.convert(0, private: false) == nil)
        #expect(w.host(0) == .success(0))
        // 6.18 semantics (no guest_memfd attributes): no INIT_SHARED for a software-protected VM.
        var old = try Fixture(.upstream, type: Self.sw)
        #expect(old.kernel.createGuestMemfd(vmFD: old.vm, size: page, flags: mmapFlag | initShared).failure == .EINVAL)
    }

    @Test(
        "argument checks: one content mode, supported attributes, a page-aligned range inside the file; EINVAL without error_offset"
    )
    func argumentChecks() throws {
        // GMEM-V2
        var w = try World()
        func convert(_ offset: UInt64, _ size: UInt64, _ attributes: UInt64 = privateAttribute, _ flags: UInt64 = 0)
            -> ModelKernel.ConversionFailure?
        {
            w.f.kernel.convert(fd: w.file, offset: offset, size: size, attributes: attributes, flags: flags).failure
        }
        let invalid = ModelKernel.ConversionFailure(.EINVAL)
        #expect(convert(0, page, 0, Self.zero | Self.preserve) == invalid)
        #expect(convert(0, page, 0, 4) == invalid)
        #expect(convert(0, page, 1 << 4) == invalid)
        #expect(convert(0, 0) == invalid)
        #expect(convert(UInt64.max & ~4095, 2 * page) == invalid)
        #expect(convert(100, page) == invalid)
        #expect(convert(0, 100) == invalid)
        #expect(convert(4 * page, page) == invalid)
        #expect(convert(3 * page, 2 * page) == invalid)
        #expect(convert(3 * page, page) == nil)
        // A default VM has no private memory: PRIVATE is not one of its attributes.
        var d = try Fixture(Self.next)
        let file = try d.gmem()
        #expect(
            d.kernel.convert(fd: file, offset: 0, size: page, attributes: privateAttribute, flags: 0).failure == invalid
        )
        #expect(d.kernel.convert(fd: file, offset: 0, size: page, attributes: 0, flags: 0).failure == nil)
    }

    @Test(
        "ZERO zeroes a conversion to shared, even of a shared range; ZERO to private is EOPNOTSUPP at the range's start; PRESERVE keeps"
    )
    func contentModes() throws {
        // GMEM-V3
        var w = try World()
        _ = w.f.kernel.hostWrite(address: w.map, value: 7)
        _ = w.f.kernel.hostWrite(address: w.map + page, value: 8)
        #expect(w.convert(1, private: true, mode: Self.zero) == .init(.EOPNOTSUPP, errorOffset: page))
        #expect(w.convert(1, private: true, mode: Self.preserve) == nil)
        #expect(w.guest(1, isPrivate: true) == .value(8))
        #expect(w.convert(1, private: false, mode: Self.zero) == nil)
        #expect(w.host(1) == .success(0))
        #expect(w.convert(0, private: false, mode: Self.zero) == nil)  // already shared: zeroed all the same
        #expect(w.host(0) == .success(0))
        // A VM type without content modes (SNP would have ZERO only; a default VM none).
        var d = try Fixture(Self.next)
        let file = try d.gmem()
        #expect(
            d.kernel.convert(fd: file, offset: page, size: page, attributes: 0, flags: Self.preserve).failure
                == .init(.EOPNOTSUPP, errorOffset: page))
    }

    @Test(
        "a pin makes a conversion to private EAGAIN at the first pinned page and changes nothing; mappings alone never block"
    )
    func pinsBlockPrivate() throws {
        // GMEM-V4
        var w = try World()
        _ = w.host(0)
        _ = w.host(3)
        let (pin, bytes) = try w.f.kernel.pin(address: w.map + 2 * page, length: page).get()
        #expect(bytes == page)
        let before = w.f.kernel
        #expect(w.convert(0, 4, private: true) == .init(.EAGAIN, errorOffset: 2 * page))
        #expect(w.f.kernel == before)
        #expect(w.convert(0, 2, private: true) == nil)  // pages with mappings only
        #expect(w.convert(2, private: false) == nil)  // to shared: pins do not matter
        #expect(try w.f.kernel.unpin(pin).get() == ())
        #expect(w.convert(0, 4, private: true) == nil)
        // A private page cannot be pinned (get_user_pages fails): EFAULT, not a signal.
        #expect(w.f.kernel.pin(address: w.map, length: page).failure == .EFAULT)
        #expect(w.f.kernel.pin(address: w.map, length: 17 * page).failure == .EINVAL)
    }

    @Test(
        "a pin takes the leading pages with a present page-table entry whatever the protection, then needs PROT_READ (gup-fast, then get_user_pages)"
    )
    func pinsTakePresentPages() throws {
        typealias Protection = GmemABI.Protection
        var f = try Fixture()
        let file = try f.gmem(pages: 16)
        let writeOnly = try f.kernel.mmap(
            fd: file, prot: Protection.write, flags: mapShared, offset: 0, length: 4 * page
        )
        .get()
        #expect(f.kernel.pin(address: writeOnly, length: page).failure == .EFAULT)
        #expect(f.kernel.hostWrite(address: writeOnly, value: 1) == .success(()))
        #expect(try f.kernel.pin(address: writeOnly, length: page).get().bytes == page)
        #expect(try f.kernel.pin(address: writeOnly, length: 2 * page).get().bytes == page)
        #expect(f.kernel.hostWrite(address: writeOnly + 2 * page, value: 1) == .success(()))
        // Once the slow path has begun, a later present page is not taken either.
        #expect(try f.kernel.pin(address: writeOnly, length: 3 * page).get().bytes == page)
        #expect(f.kernel.pin(address: writeOnly + page, length: page).failure == .EFAULT)
        // A read through PROT_WRITE maps the page too; dontneed and a punch unmap it.
        #expect(f.kernel.hostRead(address: writeOnly + page) == .success(0))
        #expect(try f.kernel.pin(address: writeOnly + page, length: page).get().bytes == page)
        #expect(f.kernel.madvise(address: writeOnly + page, length: page, advice: 4) == .success(()))
        #expect(f.kernel.pin(address: writeOnly + page, length: page).failure == .EFAULT)
        #expect(f.kernel.fallocate(fd: file, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(f.kernel.pin(address: writeOnly, length: page).failure == .EFAULT)
        // A straddling access makes both of its pages present.
        let straddle = try f.kernel.mmap(
            fd: file, prot: Protection.write, flags: mapShared, offset: 4 * page, length: 0x1388
        ).get()
        #expect(f.kernel.hostWrite(address: straddle + 4094, width: 4, value: 1_906_827_717) == .success(()))
        #expect(try f.kernel.pin(address: straddle, length: 2 * page).get().bytes == 2 * page)
        // PROT_NONE never has an entry; PROT_READ takes the slow path.
        let none = try f.kernel.mmap(fd: file, prot: Protection.none, flags: mapShared, offset: 0, length: page).get()
        #expect(f.kernel.hostWrite(address: none, value: 1) == .failure(.sigsegv))
        #expect(f.kernel.pin(address: none, length: page).failure == .EFAULT)
        let readOnly = try f.kernel.mmap(fd: file, prot: Protection.read, flags: mapShared, offset: 0, length: page)
            .get()
        #expect(try f.kernel.pin(address: readOnly, length: page).get().bytes == page)
    }

    @Test(
        "a pin through a private mapping takes read-only and copied-on-write pages while mapped; a punch keeps the copies mapped, a truncate does not"
    )
    func pinsThroughPrivateMappings() throws {
        typealias Protection = GmemABI.Protection
        var f = try Fixture()
        let memfd = f.kernel.createMemfd(size: 16 * page)
        let shared = try f.kernel.mmap(fd: memfd, prot: readWrite, flags: mapShared, offset: 0, length: 16 * page)
            .get()
        #expect(f.kernel.hostWrite(address: shared + 2 * page, value: 1) == .success(()))
        let copy = try f.kernel.mmap(
            fd: memfd, prot: Protection.write, flags: GmemABI.MapFlag.private, offset: 0, length: 16 * page
        ).get()
        // A read fault maps the file page read-only, and fault-around its allocated neighbour.
        #expect(f.kernel.hostRead(address: copy) == .success(0))
        #expect(try f.kernel.pin(address: copy, length: page).get().bytes == page)
        #expect(try f.kernel.pin(address: copy + 2 * page, length: page).get().bytes == page)
        #expect(f.kernel.pin(address: copy + page, length: page).failure == .EFAULT)
        #expect(f.kernel.hostWrite(address: copy + page, value: 5) == .success(()))
        #expect(f.kernel.fallocate(fd: memfd, mode: punch, offset: 0, length: Int64(3 * page)) == .success(()))
        #expect(try f.kernel.pin(address: copy + page, length: page).get().bytes == page)
        #expect(f.kernel.pin(address: copy, length: page).failure == .EFAULT)
        #expect(f.kernel.fileOperation(.ftruncate, fd: memfd) == .success(()))
        #expect(f.kernel.pin(address: copy + page, length: page).failure == .EFAULT)
        // Fault-around maps only up-to-date pages: not those fallocate allocated.
        let fresh = f.kernel.createMemfd(size: 16 * page)
        #expect(f.kernel.fallocate(fd: fresh, mode: 0, offset: 0, length: Int64(16 * page)) == .success(()))
        let writeOnly = try f.kernel.mmap(
            fd: fresh, prot: Protection.write, flags: mapShared, offset: 0, length: 16 * page
        )
        .get()
        #expect(f.kernel.hostRead(address: writeOnly) == .success(0))
        #expect(try f.kernel.pin(address: writeOnly, length: page).get().bytes == page)
        #expect(f.kernel.pin(address: writeOnly + page, length: page).failure == .EFAULT)
    }

    @Test("gup-fast never takes a vCPU's own pages; a private vCPU mapping's copied-on-write page is taken")
    func pinsOfVCPUPages() throws {
        typealias Protection = GmemABI.Protection
        var f = try Fixture()
        let vcpu = try f.kernel.createVCPU(vmFD: f.vm).get()
        let shared = try f.kernel.mmap(fd: vcpu, prot: Protection.write, flags: mapShared, offset: 0, length: page)
            .get()
        #expect(f.kernel.hostWrite(address: shared, value: 1) == .success(()))
        #expect(f.kernel.pin(address: shared, length: page).failure == .EFAULT)
        let copy = try f.kernel.mmap(
            fd: vcpu, prot: Protection.write, flags: GmemABI.MapFlag.private, offset: 0, length: page
        ).get()
        #expect(f.kernel.hostRead(address: copy) == .success(1))
        #expect(f.kernel.pin(address: copy, length: page).failure == .EFAULT)
        #expect(f.kernel.hostWrite(address: copy, value: 2) == .success(()))
        #expect(try f.kernel.pin(address: copy, length: page).get().bytes == page)
    }

    @Test("a conversion to private unmaps the range: back to shared, a write-only mapping's page is not present")
    func conversionUnmapsPresentPages() throws {
        var w = try World()
        let writeOnly = try w.f.kernel.mmap(
            fd: w.file, prot: GmemABI.Protection.write, flags: mapShared, offset: 0, length: page
        ).get()
        #expect(w.f.kernel.hostWrite(address: writeOnly, value: 1) == .success(()))
        let (pin, bytes) = try w.f.kernel.pin(address: writeOnly, length: page).get()
        #expect(bytes == page)
        #expect(w.f.kernel.unpin(pin) == .success(()))
        #expect(w.convert(0, private: true) == nil)
        #expect(w.convert(0, private: false) == nil)
        #expect(w.f.kernel.pin(address: writeOnly, length: page).failure == .EFAULT)
    }

    @Test("a conversion before allocation is recorded; allocation keeps it")
    func beforeAllocation() throws {
        // GMEM-V7
        var w = try World()
        #expect(w.convert(0, 2, private: true) == nil)
        #expect(w.f.kernel.fallocate(fd: w.file, mode: keepSize, offset: 0, length: Int64(4 * page)) == .success(()))
        #expect(w.host(0) == .failure(.sigbus))
        #expect(w.host(2) == .success(0))
    }

    @Test("punching a converted range frees the pages but keeps the state; a punched page's pin no longer blocks")
    func punchKeepsState() throws {
        // GMEM-V8
        var w = try World()
        _ = w.f.kernel.hostWrite(address: w.map, value: 0x41)
        let (pin, _) = try w.f.kernel.pin(address: w.map, length: page).get()
        #expect(w.convert(0, private: true) == .init(.EAGAIN, errorOffset: 0))
        #expect(w.f.kernel.fallocate(fd: w.file, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(w.convert(0, private: true) == nil)
        #expect(w.guest(0, isPrivate: true) == .value(0))
        #expect(w.f.kernel.fallocate(fd: w.file, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(w.f.kernel.isPrivate(fd: w.file, page: 0) == .success(true))
        _ = w.f.kernel.unpin(pin)
    }

    @Test(
        "without guest_memfd attributes (6.18, the reference host) the ioctl is ENOTTY, on every kind of fd as the kernel answers"
    )
    func absentOnSixEighteen() throws {
        // GMEM-V9, GMEM-V10
        var f = try Fixture()
        let file = try f.gmem()
        #expect(
            f.kernel.convert(fd: file, offset: 0, size: page, attributes: privateAttribute, flags: 0).failure
                == .init(.ENOTTY))
        #expect(f.kernel.convert(fd: f.vm, offset: 0, size: page, attributes: 0, flags: 0).failure == .init(.ENOTTY))
        #expect(f.kernel.convert(fd: 999, offset: 0, size: page, attributes: 0, flags: 0).failure == .init(.EBADF))
        #expect(f.kernel.link(vmFD: f.vm, fd: file, flags: 0).failure == .ENOTTY)
        #expect(
            f.kernel.checkExtension(fd: f.vm, capability: GmemABI.Next.guestMemfdMemoryAttributesCapability)
                == .success(0))
        // The 6.18 profile switches both off whatever the capabilities say.
        let forced = KernelProfile.v6_18.capabilities(Self.next)
        #expect(
            forced.guestMemfdAttributes == 0 && !forced.guestMemfdLink && forced.memoryAttributes == privateAttribute)
        var w = try World()
        #expect(
            w.f.kernel.checkExtension(fd: w.f.vm, capability: GmemABI.Next.guestMemfdMemoryAttributesCapability)
                == .success(8))
        #expect(
            w.f.kernel.setMemoryAttributes(vmFD: w.f.vm, address: 0, size: page, attributes: privateAttribute).failure
                == .ENOTTY)
    }

    @Test(
        "linking gives another VM a file on the same inode: same data and state, its own bindings; the RFC's refusals are EINVAL"
    )
    func link() throws {
        // GMEM-V10
        var capabilities = Self.next
        capabilities.guestMemfdLink = true
        var w = try World(capabilities: capabilities)
        let b = try w.f.kernel.createVM(type: Self.sw).get()
        _ = w.f.kernel.hostWrite(address: w.map, value: 0x5ec2e7)
        #expect(w.f.kernel.link(vmFD: b, fd: w.file, flags: 1).failure == .EINVAL)
        #expect(w.f.kernel.link(vmFD: w.f.vm, fd: w.file, flags: 0).failure == .EINVAL)
        #expect(w.f.kernel.link(vmFD: b, fd: 999, flags: 0).failure == .EINVAL)
        #expect(w.f.kernel.link(vmFD: b, fd: w.f.vm, flags: 0).failure == .EINVAL)
        let linked = try w.f.kernel.link(vmFD: b, fd: w.file, flags: 0).get()
        #expect(w.f.kernel.peek(fd: linked, page: 0) == .success(0x5ec2e7))
        #expect(
            w.f.kernel.convert(fd: linked, offset: 0, size: page, attributes: privateAttribute, flags: 0).failure == nil
        )
        #expect(w.f.kernel.isPrivate(fd: w.file, page: 0) == .success(true))
        // B binds its own file (GMEM-B5 still holds: the linked file is B's), while A's stays bound.
        let region = GmemRules.MemoryRegion(
            slot: 0, flags: gmemSlot, guestPhysicalAddress: 0, memorySize: page,
            userspaceAddress: 0, guestMemfdOffset: 0, guestMemfd: UInt32(linked))
        #expect(w.f.kernel.apply(.setUserMemoryRegion2(vmFD: b, region)) == .done)
        #expect(
            try w.f.kernel.guestAccess(fd: b, guestPhysicalAddress: 0, .read, isPrivate: true).get() == .value(0x5ec2e7)
        )
    }
}
