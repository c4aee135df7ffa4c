import Foundation
import GuestImages
import KVM
import TestSupport
import Testing

@testable import MicroVM

#if canImport(Glibc)
import Glibc
#endif

/// The guest_memfd descriptors of this process ("anon_inode:[kvm-gmem]").
func guestMemfdCount() -> Int {
    let fm = FileManager.default
    return (try? fm.contentsOfDirectory(atPath: "/proc/self/fd"))?.filter { fd in
        ((try? fm.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "").contains("gmem")
    }.count ?? -1
}

/// Runs `config` until it pauses itself after `exits` exits of vCPU 0, snapshots it to `path`
/// and stops it.
func snapshotAtExits(_ config: MachineConfig, exits: Int, to path: String) throws -> SnapshotReport {
    let machine = try MachineHandle.build(config, pauseAfterExits: exits)
    try machine.start()
    guard try machine.waitUntilPaused() else {
        throw MachineError.invalidConfiguration("the guest ended before exit \(exits)")
    }
    let report = try machine.snapshot(to: path, reason: "exits=\(exits)")
    machine.stop()
    return report
}

extension KernelTests {
    @Suite("Snapshot, restore and clone: memory copied into a new VM's own guest_memfd")
    struct SnapshotTests {
        @Test("pingpong snapshotted mid-count finishes with the full count after restore, in a new VM")
        func pingpongMidCount() throws {
            let scratch = try ScratchDirectory("pingpong")
            defer { scratch.remove() }
            let path = scratch.file("pingpong.gsnap")
            let before = kvmResources()
            let saved = try snapshotAtExits(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 20_000), exits: 10_000, to: path
            )
            #expect(saved.vcpus == 1 && saved.memoryBytes > 0 && saved.memoryBytes < 16 << 20)
            #expect(saved.regions.first?.savedBytes == saved.memoryBytes)
            let snapshot = try Snapshot(path: path)
            #expect(snapshot.manifest.devices.pings == 9_999)
            #expect(snapshot.manifest.image.name == "pingpong")
            #expect(snapshot.manifest.image.size == UInt64(GuestImages.pingpong.count))
            try snapshot.verify()
            let (machine, restored) = try snapshot.restore()
            #expect(restored.memoryBytes == saved.memoryBytes)
            try machine.start()
            let report = try machine.wait()
            #expect(report.succeeded, "\(report.cause)")
            #expect(report.pings == 20_000)
            #expect(
                report.exits["io-out"] == 10_002,
                "the restored run makes only the other 10,001 pings and the exit: none replayed")
            _ = consume machine
            #expect(kvmResources() == before)
        }

        @Test("hello snapshotted mid-fill passes its punch and pattern check after restore; untouched pages stay holes")
        func helloMidFill() throws {
            let scratch = try ScratchDirectory("hello")
            defer { scratch.remove() }
            let path = scratch.file("hello.gsnap")
            let machine = try MachineHandle.build(
                MachineConfig(name: "hello", image: GuestImages.hello, memorySize: 128 << 20))
            try machine.start()
            while !machine.consoleOutput.contains(UInt8(ascii: "\n")) { usleep(20) }
            try machine.pause()
            let console = String(decoding: machine.consoleOutput, as: UTF8.self)
            #expect(!console.contains("filled"), "the snapshot must land mid-fill: \(console)")
            let saved = try machine.snapshot(to: path)
            machine.stop()
            #expect(saved.memoryBytes < 128 << 20, "pages the fill had not reached are not saved")
            let (restored, _) = try Snapshot(path: path).restore()
            try restored.start()
            let report = try restored.wait()
            let output = String(decoding: report.console, as: UTF8.self)
            #expect(report.succeeded, "\(report.cause)\n\(output)")
            #expect(
                output.hasPrefix("hello from a guest_memfd-backed guest"), "the console before the snapshot is kept")
            #expect(output.contains("reads back zero; pattern intact elsewhere"))
            #expect((report.memory.first?.punchedBytes ?? 0) == 64 * 1024)
        }

        @Test("smp with 2 vCPUs snapshotted while both fill: both regions check out after restore")
        func smpTwoVCPUs() throws {
            let scratch = try ScratchDirectory("smp")
            defer { scratch.remove() }
            let path = scratch.file("smp.gsnap")
            let machine = try MachineHandle.build(
                MachineConfig(name: "smp", image: GuestImages.smp, memorySize: 128 << 20, vcpus: 2))
            try machine.start()
            usleep(1_000)
            try machine.pause()
            let saved = try machine.snapshot(to: path)
            machine.stop()
            #expect(saved.vcpus == 2)
            let snapshot = try Snapshot(path: path)
            #expect(snapshot.manifest.vcpus.count == 2 && snapshot.manifest.vcpus[0].exitStatus == nil)
            let (restored, _) = try snapshot.restore()
            try restored.start()
            let report = try restored.wait()
            #expect(report.succeeded, "\(report.cause)\n\(String(decoding: report.console, as: UTF8.self))")
            #expect(report.vcpuStatuses == [0: 0, 1: 0])
        }

        @Test("release: the released region is restored released, and the guest faults there as before")
        func releaseStaysReleased() throws {
            let scratch = try ScratchDirectory("release")
            defer { scratch.remove() }
            let path = scratch.file("release.gsnap")
            var config = MachineConfig(name: "release", image: GuestImages.release, parameter: 16)
            config.extraRegions = [2 << 20]
            let full = try Machine.run(config)
            guard case .memoryFault(_, _, _, _, let region) = full.cause else {
                Issue.record("\(full.cause)")
                return
            }
            #expect(region == "extra1")
            let total = full.exits.values.reduce(0, +)
            // inside the last console line, after the release
            _ = try snapshotAtExits(config, exits: total - 3, to: path)
            let snapshot = try Snapshot(path: path)
            #expect(snapshot.manifest.regions.map(\.released) == [false, true])
            #expect(snapshot.manifest.savedBytes(region: 1) == 0)
            let (restored, _) = try snapshot.restore()
            #expect(restored.memory.regions[1].isLive == false)
            try restored.start()
            let report = try restored.wait()
            guard case .memoryFault(_, let gpa, _, _, let faulted) = report.cause else {
                Issue.record("\(report.cause)")
                return
            }
            #expect(faulted == "extra1" && gpa == 16 << 20)
            #expect(String(decoding: report.console, as: UTF8.self).contains("extra region released by the VMM"))
        }

        @Test("clone: four machines from one snapshot, each on guest_memfds of its own VM, running at once")
        func clones() throws {
            let scratch = try ScratchDirectory("clones")
            defer { scratch.remove() }
            let path = scratch.file("clones.gsnap")
            _ = try snapshotAtExits(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 20_000), exits: 10_000, to: path
            )
            let snapshot = try Snapshot(path: path)
            let files = guestMemfdCount()
            var machines: [MachineHandle] = []
            for _ in 0..<4 { machines.append(try snapshot.restore(RestoreOptions()).0) }
            #expect(guestMemfdCount() == files + 4, "one new guest_memfd per clone")
            #expect(Set(machines.map { $0.vm.identity }).count == 4)
            for machine in machines { try machine.start() }
            #expect(machines.allSatisfy { $0.state == .running })
            let reports = try machines.map { try $0.wait() }
            #expect(reports.allSatisfy { $0.succeeded && $0.pings == 20_000 })
            machines.removeAll()
            #expect(guestMemfdCount() == files)
        }

        @Test("a snapshot needs a paused machine; a vCPU's state round-trips through KVM")
        func needsPause() throws {
            let scratch = try ScratchDirectory("running")
            defer { scratch.remove() }
            let path = scratch.file("running.gsnap")
            let machine = try MachineHandle.build(
                MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 400_000_000))
            #expect(throws: SnapshotError.self) { try machine.snapshot(to: path) }
            try machine.start()
            #expect(throws: SnapshotError.self) { try machine.snapshot(to: path) }
            try machine.pause()
            let state = try machine.runners[0].vcpu.captureState()
            #expect(state.msrs.count > 0)
            #expect(state.decodedSpecialRegisters.efer & 0x500 == 0x500)
            let copy = try KVMSystem().createVM()
            let vcpu = try copy.createVCPU(id: 0)
            try vcpu.applyState(state)
            let again = try vcpu.captureState()
            #expect(again.registers == state.registers && again.specialRegisters == state.specialRegisters)
            #expect(
                again.msrs.filter { $0.index != 0x10 } == state.msrs.filter { $0.index != 0x10 },
                "all but the TSC, which runs on")
            #expect(!fileExists(path), "no file from refused snapshots")
        }
    }
}
