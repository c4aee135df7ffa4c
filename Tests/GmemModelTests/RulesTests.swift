import GmemModel
import Testing

/// The shared validation rules give the same answer as the model's operations: one source of
/// truth for the bindings' pre-syscall checks.
@Suite("GMEM-P2: shared validation rules")
struct RulesTests {
    @Test("create rules match the model for every size and flag combination tried")
    func createAgreement() throws {
        // GMEM-P2, GMEM-C1, GMEM-C2
        for size: UInt64 in [0, 1, 4095, 4096, 8192, 12288 + 1, 1 << 63] {
            for flags: UInt64 in 0..<8 {
                var f = try Fixture()
                let rule = GmemRules.validateCreate(
                    size: size, flags: flags, supportedFlags: ModelCapabilities.referenceHost.guestMemfdFlags)
                #expect(
                    f.kernel.createGuestMemfd(vmFD: f.vm, size: size, flags: flags).failure == rule,
                    "size \(size) flags \(flags)")
            }
        }
    }

    @Test("fallocate rules match the model")
    func fallocateAgreement() throws {
        // GMEM-P2, GMEM-F3, GMEM-F4
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        let p = Int64(page)
        for mode: Int32 in [0, 1, 2, 3, 4, 5, 0x11, 0x41, 0x80, 0x81] {
            for (offset, length) in [
                (0, p), (0, 4 * p), (p, 4 * p), (1, p), (0, 0), (-p, p), (8 * p, p), (Int64.max - 1, p),
            ] {
                let rule = GmemRules.validateFallocate(mode: mode, offset: offset, length: length, fileSize: 4 * page)
                var copy = f.kernel
                #expect(
                    copy.fallocate(fd: fd, mode: mode, offset: offset, length: length).failure == rule,
                    "mode \(mode) \(offset)+\(length)")
            }
        }
    }

    @Test("mmap rules match the model")
    func mmapAgreement() throws {
        // GMEM-P2, GMEM-M1, GMEM-M2
        var f = try Fixture()
        for fileFlags: UInt64 in 0..<4 {
            let fd = try f.gmem(flags: fileFlags)
            for prot: Int32 in 0..<8 {
                for mapFlags: Int32 in [0, 1, 2, 3, 4] {
                    let rule = GmemRules.validateMmap(
                        fileFlags: fileFlags, prot: prot, flags: mapFlags, offset: 0, length: page)
                    var copy = f.kernel
                    #expect(copy.mmap(fd: fd, prot: prot, flags: mapFlags, offset: 0, length: page).failure == rule)
                }
            }
        }
    }

    @Test("binding rules match the model")
    func bindingAgreement() throws {
        // GMEM-P2, GMEM-B3, GMEM-B5, GMEM-B6
        var f = try Fixture()
        let other = try f.kernel.createVM().get()
        let own = try f.gmem(pages: 4)
        let foreign = try f.gmem(pages: 4, vm: other)
        #expect(f.bind(own, slot: 0, gpaPage: 100, pages: 1, offsetPage: 0) == .success(()))
        for (file, isOwn) in [(own, true), (foreign, false)] {
            for offsetPage: UInt64 in 0..<5 {
                for pages: UInt64 in 1..<4 {
                    let rule = GmemRules.validateBinding(
                        isGuestMemfd: true, ownedByBindingVM: isOwn, offset: offsetPage * page, size: pages * page,
                        fileSize: 4 * page, rangeIsUnbound: !isOwn || offsetPage > 0)
                    var copy = f
                    #expect(copy.bind(file, slot: 1, gpaPage: 0, pages: pages, offsetPage: offsetPage).failure == rule)
                }
            }
        }
    }

    @Test("memory-region rules match the model")
    func regionAgreement() throws {
        // GMEM-P2, GMEM-B1, GMEM-B2
        var f = try Fixture()
        let fd = try f.gmem(pages: 4)
        for flags: UInt32 in 0..<8 {
            for ioctl in [GmemRules.RegionIoctl.v1, .v2] {
                let region = GmemRules.MemoryRegion(
                    slot: 0, flags: flags, guestPhysicalAddress: 0, memorySize: page, userspaceAddress: 0,
                    guestMemfd: UInt32(fd))
                let rule = GmemRules.validateMemoryRegion(region, ioctl: ioctl, vmType: 0, capabilities: .referenceHost)
                var copy = f.kernel
                let result = copy.apply(
                    ioctl == .v1 ? .setUserMemoryRegion(vmFD: f.vm, region) : .setUserMemoryRegion2(vmFD: f.vm, region))
                if let rule {
                    #expect(result == .failed(rule))
                } else {
                    #expect(result == .done, "flags \(flags) \(ioctl)")
                }
            }
        }
    }

    @Test("memory-attribute rules match the model on both kernels")
    func attributeAgreement() throws {
        // GMEM-P2, GMEM-A1, GMEM-A2
        for capabilities in [ModelCapabilities.referenceHost, .upstream] {
            for type in capabilities.vmTypes {
                var f = try Fixture(capabilities, type: type)
                for (address, size) in [(UInt64(0), page), (1, page), (0, 0), (0, 3)] {
                    for attributes: UInt64 in [0, 8, 9] {
                        for flags: UInt64 in [0, 1] {
                            let rule = GmemRules.validateMemoryAttributes(
                                address: address, size: size, attributes: attributes, flags: flags,
                                supportedAttributes: capabilities.memoryAttributes(forVMType: type),
                                ioctlExists: capabilities.hasMemoryAttributesIoctl)
                            #expect(
                                f.kernel.setMemoryAttributes(
                                    vmFD: f.vm, address: address, size: size, attributes: attributes, flags: flags
                                ).failure == rule)
                        }
                    }
                }
            }
        }
    }

    @Test("host access rule: SIGBUS past the end and without INIT_SHARED")
    func hostAccessRule() {
        // GMEM-M3, GMEM-M4
        #expect(GmemRules.hostAccessRaisesSIGBUS(fileFlags: 3, filePage: 0, fileSize: page) == false)
        #expect(GmemRules.hostAccessRaisesSIGBUS(fileFlags: 3, filePage: 1, fileSize: page) == true)
        #expect(GmemRules.hostAccessRaisesSIGBUS(fileFlags: 1, filePage: 0, fileSize: page) == true)
    }

    @Test("slot change classification")
    func slotChange() {
        // GMEM-B7
        let base = GmemRules.MemoryRegion(
            slot: 0, flags: 0, guestPhysicalAddress: 0, memorySize: page, userspaceAddress: 0x1000)
        func classify(_ region: GmemRules.MemoryRegion, oldFlags: UInt32 = 0) -> Result<
            GmemRules.SlotChange, ModelErrno
        > {
            GmemRules.classifySlotChange(
                oldFlags: oldFlags, oldGuestPhysicalAddress: 0, oldMemorySize: page, oldUserspaceAddress: 0x1000,
                request: region)
        }
        #expect(classify(base) == .success(.nothing))
        var moved = base
        moved.guestPhysicalAddress = page
        #expect(classify(moved) == .success(.move))
        var logged = base
        logged.flags = GmemABI.MemslotFlag.logDirtyPages
        #expect(classify(logged) == .success(.flagsOnly))
        #expect(classify(base, oldFlags: gmemSlot) == .failure(.EINVAL))
        var gmem = base
        gmem.flags = gmemSlot
        #expect(classify(gmem, oldFlags: gmemSlot) == .failure(.EINVAL))
    }
}
