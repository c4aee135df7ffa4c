import GuestMemory
import KVM
import TestSupport
import Testing

@testable import MicroVM

extension KernelTests {
    /// The memory-request device driven directly on a guest memory map (no vCPU): the guest's
    /// request block is written where a guest would put it, then served.
    @Suite("Memory-request device: one range check for every operation, report measures the range")
    struct MemoryRequestDeviceTests {
        static let block: UInt64 = 0x30_0000
        static let mib: UInt64 = 1 << 20

        /// A VM with `gmem run`'s layout: 16 MiB of RAM at 0, and one 4 MiB extra region.
        static func makeDevice(vm: borrowing VirtualMachine) throws -> MemoryRequestDevice {
            var config = MachineConfig(image: [])
            config.memorySize = 16 * mib
            config.extraRegions = [4 * mib]
            let memory = try GuestMemoryMap(vm: vm, layout: MachineHandle.layout(of: config))
            return MemoryRequestDevice(memory: memory)
        }

        /// Serves `{op, gpa, size}` and returns (status, result).
        static func request(
            _ device: MemoryRequestDevice, _ op: UInt32, gpa: UInt64, size: UInt64
        ) throws -> (status: UInt32, result: UInt64) {
            let memory = device.memory
            try memory.store(op, at: GuestPhysicalAddress(block))
            try memory.store(UInt32(0xDEAD), at: GuestPhysicalAddress(block + 4))
            try memory.store(gpa, at: GuestPhysicalAddress(block + 8))
            try memory.store(size, at: GuestPhysicalAddress(block + 16))
            try memory.store(UInt64(0x1234), at: GuestPhysicalAddress(block + 24))
            #expect(device.serve(blockAddress: block) == nil)
            return (
                try memory.load(UInt32.self, at: GuestPhysicalAddress(block + 4)),
                try memory.load(UInt64.self, at: GuestPhysicalAddress(block + 24))
            )
        }

        @Test("report (op 3) counts the resident bytes of [gpa, gpa + size) only, and follows writes and punches")
        func reportMeasuresTheRange() throws {
            let vm = try KVMSystem().createVM()
            let device = try Self.makeDevice(vm: vm)
            let range: UInt64 = 0x90_0000
            #expect(try Self.request(device, 3, gpa: range, size: Self.mib) == (0, 0))
            try device.memory.fill(0xA5, at: GuestPhysicalAddress(range + 0x1000), count: 3 * 4096)
            #expect(try Self.request(device, 3, gpa: range, size: Self.mib) == (0, 3 * 4096))
            // A range beside it, and one holding only part of the written pages.
            #expect(try Self.request(device, 3, gpa: range + Self.mib, size: Self.mib) == (0, 0))
            #expect(try Self.request(device, 3, gpa: range + 0x2000, size: 0x1000) == (0, 4096))
            // Another page elsewhere in RAM (the block's own page is resident too) is not in the range.
            #expect(device.memory.residentBytes() > 3 * 4096)
            #expect(try Self.request(device, 1, gpa: range + 0x1000, size: 0x1000) == (0, 0))
            #expect(try Self.request(device, 3, gpa: range, size: Self.mib) == (0, 2 * 4096))
            // The extra region is measured the same way.
            #expect(try Self.request(device, 3, gpa: 16 * Self.mib, size: 4 * Self.mib) == (0, 0))
        }

        @Test(
            "every operation refuses the VMM's GPA 0 ..< 2 MiB, an empty, unaligned, wrapping or out-of-memory range",
            arguments: [UInt32(1), 2, 3])
        func rangeOperationsRefuse(op: UInt32) throws {
            let vm = try KVMSystem().createVM()
            let device = try Self.makeDevice(vm: vm)
            let ends = 20 * Self.mib
            let refused: [(gpa: UInt64, size: UInt64)] = [
                (0, 2 * Self.mib), (0, 4096), (GuestABI.imageBase - 4096, 8192), (0, ends),
                (0x80_0000, 0), (0x80_0000, 1), (0x80_0001, 4096), (0x80_0000, ~0),
                (~0 - 4095, 8192), (ends, 4096), (ends - 4096, 8192), (16 * Self.mib - 4096, 8192),
            ]
            let before = try device.memory.read(at: GuestPhysicalAddress(0), count: 4096)
            for (gpa, size) in refused {
                let reply = try Self.request(device, op, gpa: gpa, size: size)
                #expect(reply == (22, 0), "op \(op) gpa \(gpa) size \(size)")
            }
            #expect(try device.memory.read(at: GuestPhysicalAddress(0), count: 4096) == before)
            #expect(try Self.request(device, op, gpa: GuestABI.imageBase, size: 4096).status == 0)
        }

        @Test("release (op 4) refuses the region holding the VMM's memory and unknown gpas; releases an extra region")
        func releaseUsesTheSameCheck() throws {
            let vm = try KVMSystem().createVM()
            let device = try Self.makeDevice(vm: vm)
            #expect(try Self.request(device, 4, gpa: 0, size: 0) == (22, 0))
            #expect(try Self.request(device, 4, gpa: 0x90_0000, size: 0) == (22, 0))
            #expect(try Self.request(device, 4, gpa: 0xFFFF_F000, size: 0) == (22, 0))
            #expect(try Self.request(device, 99, gpa: 16 * Self.mib, size: 4096) == (22, 0))
            #expect(device.memory.regions[1].isLive)
            #expect(try Self.request(device, 4, gpa: 16 * Self.mib + 0x1000, size: 0) == (0, 0))
            #expect(!device.memory.regions[1].isLive)
            #expect(device.memory.regions[0].isLive)
        }
    }
}
