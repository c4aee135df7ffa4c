import AllocationCounter
import GuestImages
import MicroVM
import TestSupport
import Testing

extension KernelTests {
    @Suite("Micro-VM: allocation discipline")
    struct RunLoopAllocationTests {
        /// vCPU 0 runs on the thread that calls `Machine.run`, so this thread's allocation count
        /// covers MicroVM's whole run loop: `VCPU.run()`, exit decoding, the port dispatch and the
        /// ping counter. Two runs that differ only in their number of exits must allocate the same.
        @Test(
            "MicroVM's run loop and port dispatch allocate nothing per exit",
            .enabled(if: allocation_counter_is_active() != 0, "allocation counting is off under sanitizers"))
        func runLoopAllocatesNothingPerExit() throws {
            func allocations(pings: UInt32) throws -> UInt64 {
                let start = allocation_counter_thread_count()
                let report = try Machine.run(
                    MachineConfig(
                        name: "pingpong", image: GuestImages.pingpong,
                        memorySize: 4 << 20, parameter: pings))
                let count = allocation_counter_thread_count() - start
                #expect(report.succeeded && report.pings == UInt64(pings))
                return count
            }
            _ = try allocations(pings: 100)  // first-use lazy initialisation is not steady state
            let few = try allocations(pings: 100)
            let many = try allocations(pings: 10_100)
            #expect(few > 0)  // the counter sees the run's setup, or a zero difference would prove nothing
            #expect(many == few, "\(Int64(many) - Int64(few)) more allocations for 10,000 more exits")
        }
    }
}
