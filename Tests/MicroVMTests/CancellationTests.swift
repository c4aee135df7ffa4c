import GuestImages
import KVM
import TestSupport
import Testing

@testable import MicroVM

extension KernelTests {
    @Suite("Micro-VM: the async entry point honours Task cancellation")
    struct MachineCancellationTests {
        /// A spinning guest on `vcpus` vCPUs that only its 60 s timeout would end.
        static func spinner(vcpus: Int) -> MachineConfig {
            MachineConfig(image: makeELF(code: Code.spin), memorySize: 4 << 20, vcpus: vcpus, timeout: .seconds(60))
        }

        @Test(
            "cancelling the Task of Machine.run() async stops a spinning two-vCPU guest and returns a .cancelled report",
            .timeLimit(.minutes(1)))
        func cancelRunning() async throws {
            let task = Task { () async throws(MachineError) -> RunReport in
                try await Machine.run(Self.spinner(vcpus: 2))
            }
            // Let both vCPUs enter the guest: they spin in KVM_RUN until kicked.
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let report = try await task.value
            #expect(report.cause == .cancelled, "\(report.cause)")
            // Stopped by the kick, not by the 60 s timeout.
            #expect(report.totalTime < .seconds(30))
            #expect(report.cause.kind == "cancelled")
        }

        @Test(
            "a Task cancelled before MachineHandle.run() starts the vCPUs ends at once with .cancelled; the guest never runs"
        )
        func cancelBeforeStart() async throws {
            let machine = try MachineHandle.build(Self.spinner(vcpus: 1))
            let task = Task { () async throws(MachineError) -> RunReport in
                // SAFETY: the UnsafeCurrentTask is this task itself, used only inside the closure, on the task.
                unsafe withUnsafeCurrentTask { unsafe $0?.cancel() }
                return try await machine.run()
            }
            let report = try await task.value
            #expect(report.cause == .cancelled)
            #expect(report.timeToFirstExit == nil, "no vCPU entered the guest")
            #expect(machine.state == .ended)
            // It runs once: a second run is an invalid transition.
            await #expect(throws: MachineError.self) { _ = try await machine.run() }
        }

        @Test("MachineHandle.run() async returns the report of a guest that exits by itself, uncancelled")
        func runToExit() async throws {
            let report = try await MachineHandle.build(MachineConfig(name: "hello", image: GuestImages.hello)).run()
            #expect(report.cause == .exited(status: 0))
        }
    }
}
