import CBaseline
@_spi(Unchecked) import KVM
import MicroVM

/// A guest ready to boot from C: the bytes MicroVM would write and the registers it would set,
/// computed once by MicroVM's own code (LongMode, ELFImage) so both sides run the same guest.
struct BootSnapshot {
    let low: [UInt8]
    let image: [UInt8]
    let imageAddress: UInt64
    let memorySize: UInt64
    let specialRegisters: [UInt8]
    let registers: [UInt8]

    init(image bytes: [UInt8], memorySize: UInt64) throws {
        let elf = try ELFImage(bytes)
        low = LongMode.tables(base: 0, identityMap: memorySize)
        let start = elf.segments.map(\.physicalAddress).min() ?? GuestABI.imageBase
        let end = elf.segments.map { $0.physicalAddress + $0.fileSize }.max() ?? start
        var image = [UInt8](repeating: 0, count: Int(end - start))
        for segment in elf.segments {
            let from = Int(segment.fileOffset), to = Int(segment.physicalAddress - start)
            image.replaceSubrange(to..<to + Int(segment.fileSize), with: elf.bytes[from..<from + Int(segment.fileSize)])
        }
        self.image = image
        imageAddress = start
        self.memorySize = memorySize
        // The reset state of a vCPU on this host, as MicroVM starts from it.
        let kvm = try KVMSystem()
        let vm = try kvm.createVM()
        let vcpu = try vm.createVCPU(id: 0)
        specialRegisters = UncheckedKVM.rawBytes(of: LongMode.specialRegisters(from: try vcpu.specialRegisters()))
        registers = UncheckedKVM.rawBytes(of: LongMode.entryRegisters(entry: elf.entry, index: 0, count: 1, memorySize: memorySize))
    }
}

/// The C baseline's entry points, wrapped.
enum CBaselineRun {
    struct Result {
        let status: Int64
        let pings: UInt64
        let exits: UInt64
        let firstExitNanoseconds: UInt64
        let totalNanoseconds: UInt64
        let passNanoseconds: [UInt64]
    }

    /// Boots `snapshot` in C with `parameter` and runs it to its exit.
    static func run(_ snapshot: BootSnapshot, parameter: UInt32) throws(CommandFailure) -> Result {
        var result = cb_result()
        // Sound because: every pointer handed to C is a live array's buffer for the whole
        // synchronous call, with its exact length; C reads them and writes only `result`.
        let rc = snapshot.low.withUnsafeBufferPointer { low in
            snapshot.image.withUnsafeBufferPointer { image in
                snapshot.specialRegisters.withUnsafeBufferPointer { sregs in
                    snapshot.registers.withUnsafeBufferPointer { regs in
                        var boot = cb_boot(
                            low: low.baseAddress, low_length: low.count,
                            image: image.baseAddress, image_length: image.count, image_gpa: snapshot.imageAddress,
                            memory_size: snapshot.memorySize,
                            sregs: UnsafeRawPointer(sregs.baseAddress), sregs_length: sregs.count,
                            regs: UnsafeRawPointer(regs.baseAddress), regs_length: regs.count,
                            parameter: parameter)
                        return cb_run_guest(&boot, &result)
                    }
                }
            }
        }
        guard rc == 0 else {
            let reason = rc <= -1000 ? "exit reason \(-1000 - Int(rc))" : "errno \(-rc)"
            throw CommandFailure("gmem bench: the C baseline failed (\(reason))")
        }
        let passes = withUnsafeBytes(of: result.pass_ns) { Array($0.bindMemory(to: UInt64.self).prefix(Int(result.passes))) }
        return Result(status: result.status, pings: result.pings, exits: result.exits,
                      firstExitNanoseconds: result.first_exit_ns, totalNanoseconds: result.total_ns, passNanoseconds: passes)
    }

    /// allocate, first-touch and punch `size` bytes of guest_memfd in C; ns per phase.
    static func populate(size: UInt64) throws(CommandFailure) -> [UInt64] {
        var ns: (UInt64, UInt64, UInt64) = (0, 0, 0)
        // Sound because: `ns` is a tuple of three UInt64 laid out contiguously, as C expects.
        let rc = withUnsafeMutableBytes(of: &ns) { cb_populate(size, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }
        guard rc == 0 else { throw CommandFailure("gmem bench: the C populate baseline failed (errno \(-rc))") }
        return [ns.0, ns.1, ns.2]
    }

    /// memset of `size` bytes of fresh anonymous memory in C; ns.
    static func memsetAnonymous(size: UInt64) throws(CommandFailure) -> UInt64 {
        var ns: UInt64 = 0
        let rc = cb_memset_anonymous(size, &ns)
        guard rc == 0 else { throw CommandFailure("gmem bench: the C memset baseline failed (errno \(-rc))") }
        return ns
    }
}
