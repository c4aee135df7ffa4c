import TestSupport
import Testing

@testable import GuestMemory

@Suite("No user value traps: GuestMemory values")
struct ValueTrapTests {
    @Test("GuestPhysicalAddress.isAligned takes any alignment, 0 included")
    func alignment() {
        var random = TestRandom(state: 3)
        for _ in 0..<5000 {
            let address = GuestPhysicalAddress(random.edgy())
            let alignment = random.edgy()
            #expect(address.isAligned(to: alignment) == (alignment != 0 && address.rawValue % alignment == 0))
        }
        #expect(!GuestPhysicalAddress(0).isAligned(to: 0))
    }

    @Test("layouts of any sizes and starts are validated, never trapping (20,000 random layouts)")
    func layouts() {
        var random = TestRandom(state: 5)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 4)
            let specs = (0..<count).map { index in
                GuestMemoryMap.RegionSpec(
                    name: "r\(index)", start: GuestPhysicalAddress(random.edgy()), size: random.edgy())
            }
            do {
                try GuestMemoryMap.validate(specs.sorted { $0.start < $1.start })
                for spec in specs { #expect(spec.start.advanced(by: spec.size) != nil && spec.size > 0) }
            } catch {
                if case .invalidLayout = error {} else { Issue.record("unexpected \(error)") }
            }
        }
        let tooMany = (0...GuestMemoryMap.maximumRegions).map {
            GuestMemoryMap.RegionSpec(name: "r", start: GuestPhysicalAddress(UInt64($0) << 21), size: 2 << 20)
        }
        #expect(throws: GuestMemoryError.self) { try GuestMemoryMap.validate(tooMany) }
    }
}
