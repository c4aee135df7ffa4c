import AllocationCounter
import CKVM
@_spi(Unchecked) import KVM
import Synchronization
import TestSupport
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
            // renaming: false: this is a Swift Testing pool thread, lent to the test; renamed, it
            // would count as a leftover vCPU thread in the MicroVM tests' leak checks.
            try guest.vcpu.registerCurrentThread(renaming: false)
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

        @Test("a kick timer interrupts a guest that never exits on the thread that armed it")
        func kickTimerInterruptsSpinningGuest() throws {
            let vm = try makeVM()
            let guest = try TinyGuest(in: vm, spin: true)
            try guest.vcpu.registerCurrentThread(renaming: false)
            defer { guest.vcpu.unregisterThread() }
            let start = ContinuousClock.now
            let timer = try KickTimer(after: .milliseconds(20), every: .milliseconds(1))
            #expect(try guest.vcpu.run() == .interrupted)
            #expect(ContinuousClock.now - start >= .milliseconds(20))
            _ = consume timer  // disarmed: the next run is not interrupted by it
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

extension KernelTests {
    @Suite("vCPU: allocation discipline")
    struct VCPUAllocationTests {
        @Test(
            "run() and exit decoding allocate nothing in steady state",
            .enabled(if: allocation_counter_is_active() != 0, "allocation counting is off under sanitizers"))
        func runAllocatesNothing() throws {
            let vm = try makeVM()
            let guest = try TinyGuest(in: vm)
            var outs = 0
            // Warm up (first-use lazy initialisation is not steady state).
            for _ in 0..<100 { if case .ioOut = try guest.vcpu.run() { outs += 1 } }
            // The counter itself must see allocations, or a zero below would prove nothing.
            let probeStart = allocation_counter_thread_count()
            let probe = [Int](repeating: outs, count: 1000)
            #expect(allocation_counter_thread_count() > probeStart && probe.count == 1000)

            let start = allocation_counter_thread_count()
            for _ in 0..<10_000 {
                switch try guest.vcpu.run() {
                case .ioOut(let port, _, _, let value) where port == TinyGuest.port && value == TinyGuest.value:
                    outs += 1
                default: break
                }
            }
            let allocations = allocation_counter_thread_count() - start
            #expect(outs == 10_100)
            #expect(allocations == 0, "\(allocations) allocations in 10,000 exits")
        }
    }
}
