import CBaseline
import Foundation
@_spi(Unchecked) import KVM
import MicroVM

/// A failure of the measurement code: the C baseline's call that failed, or a guest that did
/// not do what the figure needs.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A guest ready to boot from C: the bytes MicroVM would write and the registers it would set,
/// computed once by MicroVM's own code (LongMode, ELFImage) so both sides run the same guest.
public struct BootSnapshot: Sendable {
    public let low: [UInt8]
    public let image: [UInt8]
    public let imageAddress: UInt64
    public let memorySize: UInt64
    public let specialRegisters: [UInt8]
    public let registers: [UInt8]
    public let entry: UInt64

    /// The snapshot of ELF image `bytes` booted with `memorySize` bytes of RAM; opens
    /// /dev/kvm once for a vCPU's reset state.
    public init(image bytes: [UInt8], memorySize: UInt64) throws {
        let elf = try ELFImage(bytes)
        low = LongMode.tables(base: 0, identityMap: memorySize)
        let start = elf.segments.map(\.physicalAddress).min() ?? GuestABI.imageBase
        let end = elf.segments.map { $0.physicalAddress + $0.fileSize }.max() ?? start
        var image = [UInt8](repeating: 0, count: Int(end - start))
        for (index, segment) in elf.segments.enumerated() {
            let to = Int(segment.physicalAddress - start)
            image.replaceSubrange(to..<to + Int(segment.fileSize), with: elf.fileBytes(ofSegment: index))
        }
        self.image = image
        imageAddress = start
        entry = elf.entry
        self.memorySize = memorySize
        // The reset state of a vCPU on this host, as MicroVM starts from it.
        let kvm = try KVMSystem()
        let vm = try kvm.createVM()
        let vcpu = try vm.createVCPU(id: 0)
        specialRegisters = UncheckedKVM.rawBytes(of: LongMode.specialRegisters(from: try vcpu.specialRegisters()))
        registers = UncheckedKVM.rawBytes(
            of: LongMode.entryRegisters(entry: elf.entry, index: 0, count: 1, memorySize: memorySize))
    }
}

/// The C baseline's entry points, wrapped.
public enum CBaselineRun {
    public struct Result: Sendable {
        public let status: Int64
        public let pings: UInt64
        public let exits: UInt64
        public let firstExitNanoseconds: UInt64
        public let totalNanoseconds: UInt64
        public let passNanoseconds: [UInt64]
    }

    /// Calls `body` with a `cb_boot` describing `snapshot`.
    private static func withBoot(
        _ snapshot: BootSnapshot, parameter: UInt32,
        _ body: (UnsafePointer<cb_boot>) -> Int32
    ) -> Int32 {
        // SAFETY: every pointer handed to C is a live array's buffer for the whole
        // synchronous call, with its exact length; C copies what it needs (into guest memory
        // and registers) and keeps no pointer into them after returning.
        unsafe snapshot.low.withUnsafeBufferPointer { low in
            // SAFETY: as above.
            unsafe snapshot.image.withUnsafeBufferPointer { image in
                // SAFETY: as above.
                unsafe snapshot.specialRegisters.withUnsafeBufferPointer { sregs in
                    // SAFETY: as above.
                    unsafe snapshot.registers.withUnsafeBufferPointer { regs in
                        // SAFETY: as above: the four buffers and their counts, valid for `body`.
                        var boot = unsafe cb_boot(
                            low: low.baseAddress, low_length: low.count,
                            image: image.baseAddress, image_length: image.count, image_gpa: snapshot.imageAddress,
                            memory_size: snapshot.memorySize,
                            sregs: UnsafeRawPointer(sregs.baseAddress), sregs_length: sregs.count,
                            regs: UnsafeRawPointer(regs.baseAddress), regs_length: regs.count,
                            parameter: parameter)
                        // SAFETY: `boot` is a local that lives for the synchronous call.
                        return unsafe body(&boot)
                    }
                }
            }
        }
    }

    /// Boots `snapshot` in C with `parameter` and runs it to its exit.
    public static func run(_ snapshot: BootSnapshot, parameter: UInt32) throws(BenchError) -> Result {
        var result = cb_result()
        // SAFETY: `$0` is valid for the closure (withBoot) and `&result` is a local cb_result
        // that the C call fills and does not keep.
        let rc = unsafe withBoot(snapshot, parameter: parameter) { unsafe cb_run_guest($0, &result) }
        guard rc == 0 else {
            let reason = rc <= -1000 ? "exit reason \(-1000 - Int(rc))" : "errno \(-rc)"
            throw BenchError("the C baseline failed (\(reason))")
        }
        let passes = passNanoseconds(result)
        return Result(
            status: result.status, pings: result.pings, exits: result.exits,
            firstExitNanoseconds: result.first_exit_ns, totalNanoseconds: result.total_ns, passNanoseconds: passes)
    }

    /// The first `passes` entries of the C result's fixed-size `pass_ns` array (a tuple in Swift).
    private static func passNanoseconds(_ result: cb_result) -> [UInt64] {
        let count = Int(result.passes)
        // SAFETY: `pass_ns` is a homogeneous tuple of UInt64 (a C array), so its bytes are
        // UInt64 values; the copy is bounded by the tuple's own element count and made
        // before the closure returns.
        return unsafe withUnsafeBytes(of: result.pass_ns) { raw in
            // SAFETY: as above.
            let values = unsafe raw.assumingMemoryBound(to: UInt64.self)
            return unsafe Array(values.prefix(min(max(count, 0), values.count)))
        }
    }

    /// memset of `size` bytes of fresh anonymous memory in C; ns.
    public static func memsetAnonymous(size: UInt64) throws(BenchError) -> UInt64 {
        var ns: UInt64 = 0
        // SAFETY: `&ns` is a local the C call writes once and does not keep.
        let rc = unsafe cb_memset_anonymous(size, &ns)
        guard rc == 0 else { throw BenchError("the C memset baseline failed (errno \(-rc))") }
        return ns
    }
}

extension CBaselineRun {
    /// Builds `count` VMs in C from `snapshot` and keeps them until `densityDown()`.
    public static func densityUp(_ snapshot: BootSnapshot, count: Int) throws(BenchError) {
        // SAFETY: `$0` is valid for the closure (withBoot); cb_density_up copies the boot data
        // into each VM it builds and keeps no pointer to it.
        let rc = unsafe withBoot(snapshot, parameter: 0) { unsafe cb_density_up($0, Int32(count)) }
        guard rc == count else {
            throw BenchError(
                "the C density baseline failed after some VMs (\(rc <= -1000 ? "exit reason \(-1000 - Int(rc))" : "errno \(-rc)"))"
            )
        }
    }

    public static func densityDown() { cb_density_down() }
}

/// One VM of the density figure through GmemKit's KVM module: VM, guest_memfd mapped and
/// bound, vCPU run to its first exit; everything closes when the value goes.
public final class DensityVM {
    let vm: VirtualMachine
    let ram: GuestMemfd
    let mapping: HostMapping
    let vcpu: VCPU

    public init(kvm: borrowing KVMSystem, snapshot: BootSnapshot) throws {
        vm = try kvm.createVM()
        ram = try vm.createGuestMemfd(size: snapshot.memorySize, flags: .hostShared)
        mapping = try ram.mapShared()
        try mapping.write(snapshot.low, at: 0)
        try mapping.write(snapshot.image, at: snapshot.imageAddress)
        try vm.bind(ram, slot: 0, guestPhysicalAddress: 0, size: snapshot.memorySize, hostMemory: mapping)
        vcpu = try vm.createVCPU(id: 0)
        try vcpu.setSpecialRegisters(LongMode.specialRegisters(from: try vcpu.specialRegisters()))
        try vcpu.setRegisters(
            LongMode.entryRegisters(entry: snapshot.entry, index: 0, count: 1, memorySize: snapshot.memorySize))
        guard case .ioIn = try vcpu.run() else {
            throw BenchError("a density VM's first exit was not its parameter read")
        }
    }
}

/// What the host has in use, from /proc: for the density figure.
public struct HostUsage: Sendable {
    /// MemFree and Unevictable (guest_memfd pages, GMEM-SPEC F5) of /proc/meminfo, bytes.
    public let free: Double
    public let unevictable: Double
    /// RssAnon of /proc/self/status, bytes.
    public let anonymous: Double
    /// Open descriptors of this process.
    public let descriptors: Double

    public static func now() -> HostUsage {
        let meminfo = procText("/proc/meminfo")
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return HostUsage(
            free: Double(bytes("MemFree", in: meminfo)), unevictable: Double(bytes("Unevictable", in: meminfo)),
            anonymous: Double(bytes("RssAnon", in: procText("/proc/self/status"))), descriptors: Double(fds))
    }

    /// The text of a /proc file, or "" when it cannot be read.
    public static func procText(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    /// The `NAME:  N kB` field `name` of /proc text (meminfo, status) in bytes, or 0.
    public static func bytes(_ name: String, in text: String) -> UInt64 {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return (line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0) * 1024
        }
        return 0
    }

    /// Waits (at most 10 s) until MemFree moves less than 1 MiB in 300 ms: destroyed VMs
    /// return their memory asynchronously, and a measurement must not start before it is back.
    public static func settle() {
        func free() -> Double { Double(bytes("MemFree", in: procText("/proc/meminfo"))) }
        var last = free()
        for _ in 0..<33 {
            usleep(300_000)
            let now = free()
            if abs(now - last) < 1_048_576.0 { return }
            last = now
        }
    }

    /// Host memory taken since `before`, beyond guest_memfd pages.
    public func hostBytes(since before: HostUsage) -> Double {
        (before.free - free) - (unevictable - before.unevictable)
    }
}
