import Foundation
import KVM
import TestSupport
import Testing

@testable import MicroVM

/// A minimal static ELF64 x86-64 executable: one RWX PT_LOAD segment holding `code` at
/// `address` (entry at its start unless given), `memorySize` bytes in memory.
func makeELF(
    code: [UInt8], address: UInt64 = 0x20_0000, entry: UInt64? = nil, memorySize: UInt64? = nil,
    flags: UInt32 = 7
) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 64 + 56)
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for (i, b) in littleEndianBytes(value).enumerated() { bytes[offset + i] = b }
    }
    bytes[0] = 0x7F
    bytes[1] = 0x45
    bytes[2] = 0x4C
    bytes[3] = 0x46
    bytes[4] = 2
    bytes[5] = 1
    bytes[6] = 1
    put(UInt16(2), at: 16)  // ET_EXEC
    put(UInt16(62), at: 18)  // x86-64
    put(UInt32(1), at: 20)
    put(entry ?? address, at: 24)
    put(UInt64(64), at: 32)  // phoff
    put(UInt16(64), at: 52)  // ehsize
    put(UInt16(56), at: 54)  // phentsize
    put(UInt16(1), at: 56)  // phnum
    put(UInt32(1), at: 64)  // PT_LOAD
    put(flags, at: 68)
    put(UInt64(120), at: 72)  // offset
    put(address, at: 80)  // vaddr
    put(address, at: 88)  // paddr
    put(UInt64(code.count), at: 96)  // filesz
    put(memorySize ?? UInt64(max(code.count, 4096)), at: 104)
    put(UInt64(4096), at: 112)
    return bytes + code
}

/// x86-64 machine code for guest tests (CPL3, identity-mapped).
enum Code {
    /// `mov eax, status; out 0xF4, eax` then spin.
    static func exit(_ status: UInt32) -> [UInt8] {
        [0xB8] + le(status) + [0xE7, 0xF4, 0xEB, 0xFE]
    }
    /// `ud2`: an invalid opcode, which with no IDT becomes a triple fault.
    static let crash: [UInt8] = [0x0F, 0x0B]
    /// `jmp $`: never exits.
    static let spin: [UInt8] = [0xEB, 0xFE]
    /// `mov al, 1; out 0x99, al` — a port no device serves.
    static let strayPort: [UInt8] = [0xB0, 0x01, 0xE6, 0x99, 0xEB, 0xFE]
    /// `mov rax, [address]` then exit 0: a read from `address`.
    static func read(_ address: UInt32) -> [UInt8] {
        [0x8B, 0x04, 0x25] + le(address) + exit(0)
    }

    /// `mov eax, [address]; out 0xF4, eax`: exits with the 32-bit word read at `address`.
    static func readAndReport(_ address: UInt32) -> [UInt8] {
        [0x8B, 0x04, 0x25] + le(address) + [0xE7, 0xF4, 0xEB, 0xFE]
    }

    static func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// The KVM descriptors (VMs, vCPUs, guest_memfds: their links read "anon_inode:kvm-…" or
/// "anon_inode:[kvm-…]") and the vCPU threads (named "gmem-vcpu-N") of this process. Kernel
/// tests run one at a time, so between tests both are this process's leftovers.
func kvmResources() -> (fds: Int, vcpuThreads: Int) {
    let fm = FileManager.default
    let fds =
        (try? fm.contentsOfDirectory(atPath: "/proc/self/fd"))?.filter { fd in
            ((try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "").contains("kvm")
        }.count ?? -1
    let threads =
        (try? fm.contentsOfDirectory(atPath: "/proc/self/task"))?.filter { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?.hasPrefix("gmem-vcpu")
                ?? false
        }.count ?? -1
    return (fds, threads)
}
