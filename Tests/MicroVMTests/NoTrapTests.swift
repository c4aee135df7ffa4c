import KVM
import TestSupport
import Testing

@testable import GuestMemory
@testable import MicroVM

@Suite("No user value traps: MicroVM values")
struct ValueTrapTests {
    @Test("MachineConfig.validate takes any sizes: --extra 17592186044414M is a configuration error")
    func machineConfigs() {
        var config = MachineConfig(image: [])
        config.extraRegions = [17_592_186_044_414 << 20]
        #expect(config.addressSpaceEnd == .max)
        #expect(throws: MachineError.self) { try config.validate() }
        var random = TestRandom(state: 9)
        for _ in 0..<20_000 {
            var config = MachineConfig(
                image: [], memorySize: random.edgy(), vcpus: Int(truncatingIfNeeded: random.edgy()))
            config.extraRegions = (0..<Int(random.next() % 4)).map { _ in random.edgy() }
            config.consoleLimit = Int(truncatingIfNeeded: random.edgy())
            do {
                try config.validate()
                #expect(config.addressSpaceEnd <= GuestABI.maximumMemory && (1...64).contains(config.vcpus))
            } catch {}
            _ = LongMode.entryRegisters(
                entry: random.next(), index: config.vcpus, count: config.vcpus, memorySize: config.memorySize)
            _ = LongMode.tables(base: random.edgy() & ~4095, identityMap: random.edgy())
        }
    }

    @Test("Duration.nanoseconds saturates instead of trapping")
    func durations() {
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
        #expect(Duration.seconds(Int64.min).nanoseconds == .min)
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.nanoseconds(-7).nanoseconds == -7)
    }

    @Test("ELFImage.checkFits takes any vCPU count and memory size")
    func checkFits() throws {
        let image = try ELFImage(ELFImage.minimal(code: [0xEB, 0xFE]))
        for vcpus in [Int.min, -1, 0, 65, Int.max] {
            #expect(throws: ELFError.self) { try image.checkFits(memorySize: 16 << 20, vcpus: vcpus) }
        }
        for memory: UInt64 in [0, 1, .max] { _ = try? image.checkFits(memorySize: memory, vcpus: 1) }
    }
}
