import Benchmark
import GmemExplorer
import GmemModel
import GuestImages
import KVM
import MicroVM

/// ordo-one/benchmark figures for GmemKit's hot paths, with its malloc counter: the vCPU exit
/// loop must allocate nothing per exit. `gmem bench` reports the same paths against C.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    // One pingpong exit: KVM_RUN → VCPUExit → the port dispatch MicroVM does → re-entry.
    // Scaled by 1,000: the harness's per-sample bookkeeping would otherwise dominate a ≈25 µs exit.
    Benchmark(
        "vcpu-exit-roundtrip", configuration: .init(metrics: [.wallClock, .mallocCountTotal], scalingFactor: .kilo)
    ) { benchmark in
        let guest = try ExitLoop()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try guest.roundTrip())
        }
        benchmark.stopMeasurement()
    }

    Benchmark("model-ops", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            var kernel = ModelKernel()
            let vm = try kernel.createVM().get()
            let file = try kernel.createGuestMemfd(vmFD: vm, size: 16 << 12, flags: 3).get()
            blackHole(kernel.apply(.fallocate(fd: file, mode: 1, offset: 0, length: 16 << 12)))
            blackHole(kernel.apply(.close(fd: file)))
            blackHole(kernel.apply(.close(fd: vm)))
        }
    }

    Benchmark("explore-upstream", configuration: .init(maxIterations: 5)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Explorer(design: Design(lifetime: .upstream)).run().statesExplored)
        }
    }

    Benchmark("cold-start", configuration: .init(maxIterations: 200)) { benchmark in
        for _ in benchmark.scaledIterations {
            let report = try Machine.run(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, memorySize: 4 << 20, parameter: 0))
            blackHole(report.status)
        }
    }

    // MicroVM's own run loop and port dispatch (vCPU 0 runs on this thread): the same cycle as
    // cold-start plus 10,000 exits. Its malloc count per iteration equals cold-start's when the
    // loop allocates nothing per exit.
    Benchmark("microvm-10000-exits", configuration: .init(maxIterations: 50)) { benchmark in
        for _ in benchmark.scaledIterations {
            let report = try Machine.run(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, memorySize: 4 << 20, parameter: 10_000))
            blackHole(report.pings)
        }
    }
}

/// A pingpong guest on one vCPU, driven on the calling thread: each `roundTrip` runs until
/// the guest's next ping, answering its parameter read (a huge N, so it never exits).
final class ExitLoop {
    let kvm: KVMSystem
    let vm: VirtualMachine
    let ram: GuestMemfd
    let mapping: HostMapping
    let vcpu: VCPU

    init() throws {
        let memory: UInt64 = 4 << 20
        kvm = try KVMSystem()
        vm = try kvm.createVM()
        ram = try vm.createGuestMemfd(size: memory, flags: .hostShared)
        mapping = try ram.mapShared()
        let elf = try ELFImage(GuestImages.pingpong)
        try mapping.write(LongMode.tables(base: 0, identityMap: memory), at: 0)
        for segment in elf.segments {
            let start = Int(segment.fileOffset)
            try mapping.write(elf.bytes[start..<start + Int(segment.fileSize)], at: segment.physicalAddress)
        }
        try vm.bind(ram, slot: 0, guestPhysicalAddress: 0, size: memory, userspaceAddress: mapping.hostAddress)
        vcpu = try vm.createVCPU(id: 0)
        try vcpu.setSpecialRegisters(LongMode.specialRegisters(from: try vcpu.specialRegisters()))
        try vcpu.setRegisters(LongMode.entryRegisters(entry: elf.entry, index: 0, count: 1, memorySize: memory))
    }

    func roundTrip() throws -> UInt32 {
        while true {
            switch try vcpu.run() {
            case .ioIn(let port, _, _) where port == GuestABI.Port.parameter:
                vcpu.completeInput(UInt64(UInt32.max))
            case .ioOut(let port, _, _, let value) where port == GuestABI.Port.ping:
                return value
            case .interrupted:
                continue
            case let exit:
                throw ExitLoopError(exit: "\(exit)")
            }
        }
    }
}

struct ExitLoopError: Error { let exit: String }
