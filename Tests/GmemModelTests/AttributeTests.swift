import GmemModel
import Testing

@Suite("GMEM-A: memory attributes")
struct AttributeTests {
    @Test("the reference host has no KVM_SET_MEMORY_ATTRIBUTES")
    func absentOnReferenceHost() throws {
        // GMEM-A1 (capability 233 = 0 → ENOTTY)
        var f = try Fixture()
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: privateAttribute).failure
                == .ENOTTY)
        #expect(f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: 0).failure == .ENOTTY)
    }

    @Test("address and size are page-aligned, size non-zero, no wrap, flags zero, attributes supported")
    func argumentChecks() throws {
        // GMEM-A1
        var f = try Fixture(.upstream, type: GmemABI.VMType.softwareProtected)
        func set(_ address: UInt64, _ size: UInt64, _ attributes: UInt64 = privateAttribute, flags: UInt64 = 0)
            -> ModelErrno?
        {
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: address, size: size, attributes: attributes, flags: flags)
                .failure
        }
        #expect(set(0, page, flags: 1) == .EINVAL)
        #expect(set(0, page, 1) == .EINVAL)
        #expect(set(0, page, privateAttribute | 1 << 4) == .EINVAL)
        #expect(set(0, 0) == .EINVAL)
        #expect(set(UInt64.max & ~4095, 2 * page) == .EINVAL)
        #expect(set(100, page) == .EINVAL)
        #expect(set(0, 100) == .EINVAL)
        #expect(set(0, page) == nil)
        #expect(f.kernel.memoryAttributes(vmFD: f.vm, address: 0) == .success(privateAttribute))
        #expect(set(0, page, 0) == nil)
        #expect(f.kernel.memoryAttributes(vmFD: f.vm, address: 0) == .success(0))
    }

    @Test("only VM types with private memory accept PRIVATE")
    func privateNeedsVMType() throws {
        // GMEM-A2
        var f = try Fixture(.upstream, type: GmemABI.VMType.default)
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: privateAttribute).failure
                == .EINVAL)
        #expect(f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: 0) == .success(()))
        let protected = try f.kernel.createVM(type: GmemABI.VMType.softwareProtected).get()
        #expect(
            f.kernel.setMemoryAttributes(vmFD: protected, address: 0, size: page, attributes: privateAttribute)
                == .success(()))
    }

    @Test("converting does not move data; userspace punches the side it no longer needs")
    func conversionKeepsData() throws {
        // GMEM-A3
        var f = try Fixture(.upstream, type: GmemABI.VMType.softwareProtected)
        let fd = try f.gmem(pages: 1, flags: 0)
        let shared = try f.kernel.mapAnonymous(length: page).get()
        #expect(f.bind(fd, pages: 1, userspaceAddress: shared) == .success(()))
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: privateAttribute)
                == .success(()))
        #expect(try f.guestWrite(0, 0xB0B, isPrivate: true) == .written)
        #expect(f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: 0) == .success(()))
        #expect(try f.guestRead(0) == .value(0))  // shared side: the anonymous memory
        #expect(try f.guestWrite(0, 0x5EA) == .written)
        #expect(f.kernel.peek(fd: fd, page: 0) == .success(0xB0B))  // private data stays in the file
        #expect(
            f.kernel.setMemoryAttributes(vmFD: f.vm, address: 0, size: page, attributes: privateAttribute)
                == .success(()))
        #expect(try f.guestRead(0, isPrivate: true) == .value(0xB0B))
        #expect(f.kernel.fallocate(fd: fd, mode: punch, offset: 0, length: Int64(page)) == .success(()))
        #expect(try f.guestRead(0, isPrivate: true) == .value(0))
        #expect(f.kernel.hostRead(address: shared) == .success(0x5EA))
    }
}
