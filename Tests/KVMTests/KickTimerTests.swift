import Testing

@testable import KVM

@Suite("vCPU: kick timer arithmetic")
struct KickTimerArithmeticTests {
    @Test("durations become whole nanoseconds; negative ones 0, huge ones saturate instead of wrapping")
    func nanoseconds() {
        #expect(KickTimer.nanoseconds(.milliseconds(1)) == 1_000_000)
        #expect(KickTimer.nanoseconds(.seconds(30) + .nanoseconds(5)) == 30_000_000_005)
        #expect(KickTimer.nanoseconds(.seconds(-1)) == 0)
        #expect(KickTimer.nanoseconds(.seconds(Int64.max)) == UInt64.max / 2)
    }
}
