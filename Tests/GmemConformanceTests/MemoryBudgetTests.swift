import GmemConformance
import Testing

/// `--memory-budget` is a promise that a scenario cannot take the host's memory: a budget
/// the host cannot honour is refused before anything runs (a budget near 2^64 once wrapped
/// the cgroup limit and let a 1 TiB fallocate reach the host).
@Suite("Memory budget: a budget larger than the host can give is refused")
struct MemoryBudgetTests {
    static let gib: UInt64 = 1 << 30

    @Test(
        "the default budget fits a host with gigabytes available; budgets past MemAvailable do not",
        arguments: [
            (UInt64(256 << 20), true), (2 * gib, true), (7 * gib, false), (UInt64.max, false),
            (UInt64.max - (128 << 20), false),
        ])
    func refusals(limit: UInt64, fits: Bool) {
        let refusal = MemoryBudget.refusal(limit: limit, available: 8 * Self.gib)
        #expect((refusal == nil) == fits, "\(limit): \(refusal ?? "accepted")")
        if let refusal { #expect(refusal.contains("8 GiB available") && !refusal.contains("\n")) }
    }

    @Test("a host with almost nothing available, or an unreadable /proc/meminfo, takes no kernel-side budget")
    func tinyHost() {
        #expect(MemoryBudget.refusal(limit: 0, available: 300 << 20) != nil)
        #expect(MemoryBudget.refusal(limit: 0, available: nil) != nil)
        #expect(MemoryBudget.refusal(limit: 0, available: 0) != nil)
    }

    @Test("MemAvailable is read from this host")
    func readsHost() throws {
        let available = try #require(MemoryBudget.hostAvailable())
        #expect(available > 0)
    }

    @Test("a memslot is charged 9 bytes a page (and the dirty bitmaps with log_dirty); one KVM refuses outright is not")
    func memslotMetadata() {
        let tib: UInt64 = 1 << 40
        #expect(
            MemoryBudget.memslotMetadata(size: tib, guestPhysicalAddress: 0, userspaceAddress: 0, flags: 0)
                == (tib >> 12) * 9 + 4096)
        let logged = MemoryBudget.memslotMetadata(size: tib, guestPhysicalAddress: 0, userspaceAddress: 0, flags: 1)
        #expect(logged == (tib >> 12) * 9 + (tib >> 12) / 4 + 16 + 4096)
        #expect(
            MemoryBudget.memslotMetadata(size: 4096, guestPhysicalAddress: 0, userspaceAddress: 0, flags: 0) == 9 + 4096
        )
        // Empty (a delete), unaligned, or more than KVM_MEM_MAX_NR_PAGES pages: KVM's EINVAL, nothing allocated.
        for (size, gpa, uaddr) in [
            (0, 0, 0), (4095, 0, 0), (4096, 1, 0), (4096, 0, 1), (1 << 43, 0, 0), (UInt64.max & ~4095, 0, 0),
        ]
            as [(UInt64, UInt64, UInt64)]
        {
            #expect(
                MemoryBudget.memslotMetadata(size: size, guestPhysicalAddress: gpa, userspaceAddress: uaddr, flags: 0)
                    == nil)
        }
        #expect(
            MemoryBudget.memslotMetadata(size: (1 << 43) - 4096, guestPhysicalAddress: 0, userspaceAddress: 0, flags: 0)
                != nil)
    }
}
