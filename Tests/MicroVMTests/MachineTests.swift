import GuestImages
import GuestMemory
import KVM
import Synchronization
import TestSupport
import Testing

@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("Micro-VM: guests on guest_memfd")
    struct MachineTests {
        @Test("hello prints, punches a range of its own memory, finds it zero and exits 0")
        func hello() throws {
            // GMEM-F6 from inside the guest, GMEM-G1
            let report = try Machine.run(MachineConfig(name: "hello", image: GuestImages.hello))
            let console = String(decoding: report.console, as: UTF8.self)
            #expect(report.succeeded, "\(report.cause)\n\(console)")
            #expect(console.contains("hello from a guest_memfd-backed guest"))
            #expect(console.contains("reads back zero; pattern intact elsewhere"))
            // not Optional<UInt64> ==: ASan flags the thunk (RELIABILITY.md)
            #expect((report.memory.first?.punchedBytes ?? 0) == 64 * 1024)
            #expect(report.timeToFirstExit != nil)
            #expect(report.exits["io-out"] ?? 0 > 10)
        }

        @Test("smp: two vCPUs fill their regions and vCPU 0 checks both")
        func smp() throws {
            let report = try Machine.run(MachineConfig(name: "smp", image: GuestImages.smp, vcpus: 2))
            let console = String(decoding: report.console, as: UTF8.self)
            #expect(report.succeeded, "\(report.cause)\n\(console)")
            #expect(report.vcpuStatuses == [0: 0, 1: 0])
            #expect(console.contains("vCPU 1 region"))
        }

        @Test("pingpong: every ping is one exit, counted")
        func pingpong() throws {
            let report = try Machine.run(MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 2000))
            #expect(report.succeeded)
            #expect(report.pings == 2000)
            #expect(report.exits["io-out"] == 2001)
        }

        @Test("touch: one pass per parameter, each timed, memory resident afterwards")
        func touch() throws {
            var config = MachineConfig(name: "touch", image: GuestImages.touch, memorySize: 32 << 20, parameter: 2)
            config.measuresResidency = true
            let report = try Machine.run(config)
            #expect(report.succeeded)
            #expect(report.passes.count == 2)
            #expect((report.memory.first?.residentBytes ?? 0) >= 28 << 20)
        }

        @Test("residency is measured only when asked for (mincore over all of RAM)")
        func residencyIsOptIn() throws {
            let report = try Machine.run(
                MachineConfig(name: "touch", image: GuestImages.touch, memorySize: 8 << 20, parameter: 1))
            #expect(report.succeeded && report.memory.count == 1)
            #expect(report.memory.allSatisfy { $0.residentBytes == nil })
        }

        @Test("a crashing guest ends the run with a shutdown and a register dump")
        func crash() throws {
            let report = try Machine.run(MachineConfig(image: makeELF(code: Code.crash), memorySize: 4 << 20))
            #expect(report.cause == .shutdown(vcpu: 0))
            #expect(report.registerDumps[0] != nil)
            #expect(!report.succeeded)
        }

        @Test("the exit status reaches the report")
        func exitStatus() throws {
            let report = try Machine.run(MachineConfig(image: makeELF(code: Code.exit(7)), memorySize: 4 << 20))
            #expect(report.cause == .exited(status: 7))
            #expect(report.status == 7)
        }

        @Test("a port no device serves ends the run with its number")
        func strayPort() throws {
            let report = try Machine.run(MachineConfig(image: makeELF(code: Code.strayPort), memorySize: 4 << 20))
            #expect(report.cause == .unhandledPort(vcpu: 0, port: 0x99, write: true))
        }

        @Test("a guest read of its own memory through guest_memfd works")
        func readOwnMemory() throws {
            // GMEM-G1: CPL3 accesses fault pages in from the guest_memfd.
            let report = try Machine.run(MachineConfig(image: makeELF(code: Code.read(0x4F_F000)), memorySize: 6 << 20))
            #expect(report.succeeded)
        }

        @Test(
            "a guest_memfd released under a bound memslot: the next guest access is a memory fault there, RAM keeps working"
        )
        func releasedFileFaults() throws {
            // GMEM-G1, GMEM-G2, GMEM-L5 (with a real guest at CPL3, GMEM-G4)
            var config = MachineConfig(name: "release", image: GuestImages.release, memorySize: 8 << 20, parameter: 8)
            config.extraRegions = [2 << 20]
            let report = try Machine.run(config)
            let console = String(decoding: report.console, as: UTF8.self)
            #expect(console.contains("written and read back"), "\(console)")
            #expect(console.contains("RAM still works"))
            #expect(!console.contains("still readable"))
            #expect(
                report.cause
                    == .memoryFault(vcpu: 0, guestPhysicalAddress: 8 << 20, size: 4096, flags: 0, region: "extra1"))
            #expect(report.memory.last?.released == true)
            #expect(report.memory.first?.released == false)
        }

        @Test("without MMAP, the shared side of a guest_memfd memslot is the memory at userspace_addr")
        func sharedSideWithoutMmap() throws {
            // GMEM-B10 (an [upstream] rule that this host shows: with no memory attributes every
            // access is shared, so a file without MMAP serves nothing and userspace_addr serves all)
            let extra: UInt64 = 8 << 20
            var config = MachineConfig(image: makeELF(code: Code.readAndReport(UInt32(extra))), memorySize: 8 << 20)
            config.extraRegions = [2 << 20]
            config.extraRegionFlags = []
            let report = try Machine.run(
                config,
                prepare: { (memory: GuestMemoryMap) throws(GuestMemoryError) in
                    try memory.store(UInt32(0xB10B_10B1), at: GuestPhysicalAddress(extra))
                })
            // The guest read the host's word from the anonymous shared side, not zero from the file.
            #expect(report.cause == .exited(status: 0xB10B_10B1))
            #expect(report.memory.last?.name == "extra1")
        }

        @Test("a guest that never exits is stopped by the timeout")
        func timeout() throws {
            let report = try Machine.run(
                MachineConfig(image: makeELF(code: Code.spin), memorySize: 4 << 20, timeout: .milliseconds(200)))
            #expect(report.cause == .timeout)
            #expect(report.totalTime >= .milliseconds(200))
        }

        @Test("the timeout stops every vCPU of a spinning guest, and the calling thread keeps its name")
        func timeoutOnEveryVCPU() throws {
            // vCPU 0 runs on this thread under a kick timer; vCPU 1 on its own thread.
            func threadName() -> String {
                (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            }
            let before = threadName()
            let report = try Machine.run(
                MachineConfig(
                    image: makeELF(code: Code.spin), memorySize: 4 << 20, vcpus: 2,
                    timeout: .milliseconds(100)))
            let after = threadName()
            #expect(report.cause == .timeout)
            #expect(report.totalTime >= .milliseconds(100) && report.totalTime < .seconds(5))
            #expect(!before.isEmpty && before == after)
        }

        @Test("RunControl.stop() from another thread stops a spinning guest on every vCPU")
        func externalStop() throws {
            let control = RunControl()
            // A plain thread, as a VMM's control thread would be: waits until both vCPUs exist
            // (they spin forever), then stops the run.
            let stopper = try spawnThread {
                while control.kickers.withLock({ $0.count }) < 2 { sched_yield() }
                control.stop()
            }
            let report = try Machine.run(
                MachineConfig(
                    image: makeELF(code: Code.spin), memorySize: 4 << 20, vcpus: 2,
                    timeout: .seconds(20)), control: control)
            joinThread(stopper)
            #expect(report.cause == .stopped)
        }

        @Test("200 consecutive runs leak no descriptor and no thread")
        func noLeaks() throws {
            let config = MachineConfig(image: makeELF(code: Code.exit(0)), memorySize: 4 << 20)
            _ = try Machine.run(config)  // warm up lazily created process state
            let before = kvmResources()
            #expect(before.vcpuThreads == 0)
            for _ in 0..<200 {
                let report = try Machine.run(config)
                #expect(report.succeeded)
            }
            let after = kvmResources()
            #expect(after.fds == before.fds)
            #expect(after.vcpuThreads == 0)
        }
    }
}
