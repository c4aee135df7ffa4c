import CKVM
@_spi(Unchecked) import KVM
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
@Suite("vCPU: run, exits and kicks")
struct VCPUTests {
    @Test("run() decodes a port write")
    func decodesPortWrite() throws {
        let vm = try makeVM()
        let guest = try TinyGuest(in: vm)
        for _ in 0..<3 {
            let exit = try guest.vcpu.run()
            #expect(exit == .ioOut(port: TinyGuest.port, size: 1, count: 1, value: TinyGuest.value))
        }
        let regs = try guest.vcpu.registers()
        #expect(regs.rip >= TinyGuest.entry && regs.rip < TinyGuest.entry + 6)
    }

    @Test("a kick from another thread interrupts a guest that never exits")
    func kickInterruptsSpinningGuest() throws {
        let vm = try makeVM()
        let guest = try TinyGuest(in: vm, spin: true)
        try guest.vcpu.registerCurrentThread()
        defer { guest.vcpu.unregisterThread() }
        let kicker = guest.vcpu.kicker
        // One kick is enough whatever the timing: immediate_exit makes a KVM_RUN that has not
        // started yet return at once, and the signal interrupts one already running.
        let thread = try spawnThread { try? kicker.kick() }
        let exit = try guest.vcpu.run()
        joinThread(thread)
        #expect(exit == .interrupted)
        // The kick is consumed: the vCPU runs again (and is kicked again to stop).
        let thread2 = try spawnThread { try? kicker.kick() }
        #expect(try guest.vcpu.run() == .interrupted)
        joinThread(thread2)
    }

    @Test("creating the same vCPU id twice fails with EEXIST")
    func duplicateVCPUId() throws {
        let vm = try makeVM()
        let first = try vm.createVCPU(id: 0)
        expectErrno(.fileExists) { _ = try vm.createVCPU(id: 0) }
        _ = first
    }
}
}

/// Starts a plain pthread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let result = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
        box.body()
        return nil
    }, box)
    guard result == 0 else {
        Unmanaged<AnyObject>.fromOpaque(box).release()
        throw KVMError(.kick, .init(rawValue: result))
    }
    return thread
}

func joinThread(_ thread: pthread_t) {
    pthread_join(thread, nil)
}
