/// The built-in guests `gmem run` knows by name, with their default parameter.
public enum GuestCatalog {
    /// One built-in guest.
    public struct Entry: Sendable {
        public let name: String
        public let image: [UInt8]
        /// The parameter `gmem run` passes when `--param` is not given.
        public let defaultParameter: UInt32
        public let summary: String
        /// The extra regions (sizes in bytes) `gmem run` gives the guest when `--extra` is not given.
        public var defaultExtraRegions: [UInt64] = []
        /// Whether the parameter `gmem run` passes without `--param` is the guest's RAM in MiB
        /// (instead of ``defaultParameter``).
        public var parameterIsMemoryMiB = false
    }

    public static let entries: [Entry] = [
        Entry(
            name: "hello", image: GuestImages.hello, defaultParameter: 1,
            summary: "prints, fills its memory, has the VMM punch a range, checks it reads zero (default)"),
        Entry(
            name: "pingpong", image: GuestImages.pingpong, defaultParameter: 100_000,
            summary: "PARAM port writes in a loop: the exit round trip"),
        Entry(
            name: "touch", image: GuestImages.touch, defaultParameter: 1,
            summary: "PARAM passes writing one byte per page: first-touch cost"),
        Entry(
            name: "smp", image: GuestImages.smp, defaultParameter: 1,
            summary: "every vCPU fills its region; vCPU 0 checks them all"),
        Entry(
            name: "snapshot", image: GuestImages.snapshot, defaultParameter: 1000,
            summary: "pings PARAM times, asking for a snapshot of itself halfway (port 0x514); checks its memory after"),
        Entry(
            name: "release", image: GuestImages.release, defaultParameter: 0,
            summary:
                "has the VMM release a region's guest_memfd, then touches it: ends in a memory fault (GMEM-SPEC G2)",
            // It finds its extra region at the parameter, in MiB.
            defaultExtraRegions: [2 << 20], parameterIsMemoryMiB: true),
    ]

    /// The guest called `name`, if there is one.
    public static func entry(named name: String) -> Entry? { entries.first { $0.name == name } }
}
