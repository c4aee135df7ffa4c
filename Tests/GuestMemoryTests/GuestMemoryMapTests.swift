import KVM
import TestSupport
import Testing

@testable import GuestMemory

@Suite("Guest memory layouts are validated before any syscall")
struct LayoutValidationTests {
    func expectInvalid(
        _ specs: [GuestMemoryMap.RegionSpec], _ text: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            try GuestMemoryMap.validate(specs.sorted { $0.start < $1.start })
            Issue.record("layout accepted", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidLayout(let what) = error else {
                Issue.record("expected invalidLayout, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(what.contains(text), "\(what)", sourceLocation: sourceLocation)
        }
    }

    @Test("no regions, an empty or unaligned region, overlapping regions: each an invalidLayout naming why")
    func refused() {
        expectInvalid([], "no regions")
        expectInvalid([.init(name: "ram", start: GuestPhysicalAddress(0), size: 0)], "ram is empty")
        expectInvalid(
            [.init(name: "ram", start: GuestPhysicalAddress(0), size: 1000)], "ram is empty, not page-aligned")
        expectInvalid([.init(name: "ram", start: GuestPhysicalAddress(0x800), size: 4096)], "not page-aligned")
        expectInvalid(
            [
                .init(name: "low", start: GuestPhysicalAddress(0), size: 2 * MiB),
                .init(name: "high", start: GuestPhysicalAddress(MiB), size: 2 * MiB),
            ], "high overlaps")
    }

    @Test("adjacent page-aligned regions are accepted")
    func accepted() throws {
        try GuestMemoryMap.validate([
            .init(name: "low", start: GuestPhysicalAddress(0), size: 2 * MiB),
            .init(name: "high", start: GuestPhysicalAddress(2 * MiB), size: 2 * MiB),
        ])
    }
}

extension KernelTests {
    @Suite("Guest memory on a real VM: out of range, not host-accessible, released")
    struct GuestMemoryKernelTests {
        static func twoRegions(_ vm: borrowing VirtualMachine) throws -> GuestMemoryMap {
            try GuestMemoryMap(
                vm: vm,
                layout: [
                    .init(name: "low", start: GuestPhysicalAddress(0), size: 2 * MiB),
                    .init(name: "high", start: GuestPhysicalAddress(4 * MiB), size: 2 * MiB),
                ])
        }

        @Test("accesses inside a region work; in the gap, across a region's end or past memory are outOfRange")
        func outOfRange() throws {
            let vm = try KVMSystem().createVM()
            let memory = try Self.twoRegions(vm)
            try memory.store(UInt64(0x1122_3344_5566_7788), at: GuestPhysicalAddress(4 * MiB + 8))
            #expect(try memory.load(UInt64.self, at: GuestPhysicalAddress(4 * MiB + 8)) == 0x1122_3344_5566_7788)
            for (address, count) in [(2 * MiB, 1), (2 * MiB - 4, 8), (6 * MiB, 1), (UInt64.max, 1)] {
                #expect(
                    throws: GuestMemoryError.outOfRange(address: GuestPhysicalAddress(address), count: UInt64(count))
                ) {
                    _ = try memory.read(at: GuestPhysicalAddress(address), count: count)
                }
            }
            #expect(throws: GuestMemoryError.self) { try memory.region(containing: GuestPhysicalAddress(3 * MiB)) }
        }

        @Test("a region with no shared side refuses host access with notHostAccessible")
        func notHostAccessible() throws {
            let vm = try KVMSystem().createVM()
            let file = try vm.createGuestMemfd(size: 2 * MiB, flags: [])
            let region = GuestMemoryRegion(
                name: "private", range: GuestRange(start: GuestPhysicalAddress(0), size: 2 * MiB), slot: 0, file: file,
                mapping: nil)
            do {
                // SAFETY: the closure never runs (the region is refused first); it reads only the buffer's count.
                _ = try unsafe region.withSharedBytes(offset: 0, count: 8) { $0.count }
                Issue.record("withSharedBytes on a region with no host mapping was not refused")
            } catch {
                #expect(error == .notHostAccessible(region: "private"), "\(error)")
            }
        }

        @Test("after release, every access to the region is released and the other region keeps working")
        func released() throws {
            let vm = try KVMSystem().createVM()
            let memory = try Self.twoRegions(vm)
            let low = try memory.region(containing: GuestPhysicalAddress(0))
            low.release()
            #expect(!low.isLive)
            #expect(throws: GuestMemoryError.released(region: "low")) {
                _ = try memory.read(at: GuestPhysicalAddress(0), count: 8)
            }
            #expect(throws: GuestMemoryError.released(region: "low")) {
                try memory.store(UInt8(1), at: GuestPhysicalAddress(16))
            }
            try memory.store(UInt8(7), at: GuestPhysicalAddress(4 * MiB))
            #expect(try memory.load(UInt8.self, at: GuestPhysicalAddress(4 * MiB)) == 7)
        }
    }
}
