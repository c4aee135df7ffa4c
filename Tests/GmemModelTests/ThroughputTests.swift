import GmemModel
import Testing

@Suite("Throughput (measured, not asserted)")
struct ThroughputTests {
    @Test("random operation sequences: operations per second")
    func operationsPerSecond() {
        let count = 20_000
        var kernel = ModelKernel(capabilities: .upstream)
        var generator = RandomOperations(seed: 99)
        var succeeded = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<count {
                if case .failed = kernel.apply(generator.next(for: kernel)) { continue }
                succeeded += 1
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "GmemModel throughput: \(Int(Double(count) / seconds)) ops/s (\(count) ops, \(succeeded) succeeded, \(elapsed))"
        )
        #expect(succeeded > 0)
    }
}
