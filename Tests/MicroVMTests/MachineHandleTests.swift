import GuestImages
import KVM
import TestSupport
import Testing

@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

extension KernelTests {
    @Suite("Micro-VM: a machine you can hold (MachineHandle)")
    struct MachineHandleTests {
        @Test("start, pause, resume, stop: no ping while paused, every vCPU on a named thread, nothing left after")
        func lifecycle() throws {
            let before = kvmResources()
            do {
                let machine = try MachineHandle.build(
                    MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 400_000_000))
                #expect(machine.state == .built)
                try machine.start()
                #expect(machine.state == .running)
                while machine.pings < 1000 { usleep(100) }
                try machine.pause()
                #expect(machine.state == .paused)
                #expect(kvmResources().vcpuThreads == before.vcpuThreads + 1)
                let paused = machine.pings
                usleep(20_000)
                #expect(machine.pings == paused, "a ping while paused")
                try machine.resume()
                while machine.pings < paused + 1000 { usleep(100) }
                let report = machine.stop()
                #expect(report.cause == .stopped)
                #expect(report.pings > paused)
                #expect(machine.state == .ended)
            }
            #expect(kvmResources() == before)
        }

        @Test("transitions the state does not allow throw and change nothing")
        func invalidTransitions() throws {
            let machine = try MachineHandle.build(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 400_000_000))
            func refused(_ action: String, _ body: () throws -> Void) {
                do {
                    try body()
                    Issue.record("\(action) was allowed in state \(machine.state)")
                } catch let error as MachineError {
                    guard case .invalidTransition = error else {
                        Issue.record("\(action): \(error)")
                        return
                    }
                } catch {
                    Issue.record("\(action): \(error)")
                }
            }
            refused("resume") { try machine.resume() }
            refused("pause") { try machine.pause() }
            refused("wait") { _ = try machine.wait() }
            #expect(machine.state == .built)
            try machine.start()
            refused("start") { try machine.start() }
            refused("resume") { try machine.resume() }
            try machine.pause()
            refused("pause") { try machine.pause() }
            refused("wait") { _ = try machine.wait() }
            try machine.resume()
            machine.stop()
            refused("start") { try machine.start() }
            refused("pause") { try machine.pause() }
            #expect(machine.state == .ended)
        }

        @Test("pauseAfterExits: the machine pauses itself at vCPU 0's Nth exit, then finishes with every ping")
        func pauseAtExitCount() throws {
            let machine = try MachineHandle.build(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 20_000),
                pauseAfterExits: 10_000)
            try machine.start()
            #expect(try machine.waitUntilPaused())
            // Exit 1 is the parameter read; then one exit per ping, and the kick's EINTR is the next.
            #expect(machine.pings == 9_999)
            try machine.resume()
            let report = try machine.wait()
            #expect(report.succeeded, "\(report.cause)")
            #expect(report.pings == 20_000)
        }

        @Test("two vCPUs pause and resume together; smp still checks both regions")
        func smpPauseResume() throws {
            var config = MachineConfig(name: "smp", image: GuestImages.smp, memorySize: 64 << 20, vcpus: 2)
            config.timeout = .seconds(30)
            let machine = try MachineHandle.build(config)
            try machine.start()
            do {
                try machine.pause()
                usleep(2_000)
                try machine.resume()
            } catch {
                // The guest may end first on a fast host: then pausing is refused as ending.
                guard case .invalidTransition = error else { throw error }
            }
            let report = try machine.wait()
            #expect(report.succeeded, "\(report.cause)")
            #expect(report.vcpuStatuses == [0: 0, 1: 0])
        }

        @Test("pausing a guest that already ended is refused as ending")
        func pauseAfterEnd() throws {
            let machine = try MachineHandle.build(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 10))
            try machine.start()
            while machine.liveVCPUs > 0 { usleep(100) }
            #expect(throws: MachineError.self) { try machine.pause() }
            #expect(try machine.wait().succeeded)
        }
    }
}
