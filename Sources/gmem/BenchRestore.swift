import Foundation
import GmemBench
import MicroVM

extension BenchCommand {
    /// Snapshot and restore bandwidth of a 256 MiB guest with 64 MiB touched against the host's
    /// own copy into a fresh guest_memfd mapping (goal ≥ 0.8 ×); restore-to-first-exit of a
    /// 16 MiB guest against a cold start of it (goal ≤ 1.5 ×); clones per second against cold
    /// starts per second. Each round measures both sides back to back, alternating the order.
    func restoreFigures() throws -> [Figure] {
        let directory = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        let big: UInt64 = 256 << 20, touched: UInt64 = 64 << 20
        var snapshot: [Double] = [], restore: [Double] = [], copy: [Double] = [], copy2: [Double] = [], sync: [Double] = []
        var saved: UInt64 = 0
        for round in 0..<rounds {
            func ours() throws {
                let r = try RestoreBench.snapshotAndRestore(memory: big, touched: touched, directory: directory)
                snapshot.append(r.snapshot); restore.append(r.restore); sync.append(r.sync); saved = r.saved
            }
            func host() throws {
                copy.append(try RestoreBench.hostCopy(memory: big, bytes: touched))
                copy2.append(try RestoreBench.hostCopy(memory: big, bytes: touched))
            }
            if round.isMultiple(of: 2) { try ours(); try host() } else { try host(); try ours() }
        }

        let small: UInt64 = 16 << 20, pings: UInt32 = 20
        let path = directory + "/gmem-bench-first-exit-\(getpid()).gsnap"
        defer { unlink(path) }
        try RestoreBench.writeEarlySnapshot(memory: small, exits: 10, pings: pings, to: path)
        let early = try Snapshot(path: path)
        var restored: [Double] = [], cold: [Double] = [], clones: [Double] = [], colds: [Double] = []
        let cloneCount = 8
        for round in 0..<rounds {
            func ours() throws {
                var times: [Double] = []
                for _ in 0..<10 { times.append(try RestoreBench.restoreToFirstExit(early)) }
                restored.append(Figure.median(times) ?? 0)
                clones.append(try RestoreBench.clonesPerSecond(early, clones: cloneCount))
            }
            func theirs() throws {
                var times: [Double] = []
                for _ in 0..<10 { times.append(try RestoreBench.coldStartToFirstExit(memory: small, pings: pings)) }
                cold.append(Figure.median(times) ?? 0)
                colds.append(try RestoreBench.coldStartsPerSecond(memory: small, pings: pings, count: cloneCount))
            }
            if round.isMultiple(of: 2) { try ours(); try theirs() } else { try theirs(); try ours() }
        }
        let mib = String(format: "%.1f", Double(saved) / Double(1 << 20))
        return [
            Figure(name: "restore-snapshot", unit: "MiB/s", swift: snapshot, c: copy, lowerIsBetter: false, goal: 0.8,
                   command: "gmem bench --filter restore",
                   note: "256 MiB pingpong guest, 64 MiB written by the VMM: \(mib) MiB saved (mincore, CRC32C, pwrite to the page cache) vs memcpy of 64 MiB into a fresh guest_memfd mapping; fsync excluded (median \(String(format: "%.0f", Figure.median(sync) ?? 0)) MiB/s)"),
            Figure(name: "restore-copy", unit: "MiB/s", swift: restore, c: copy2, lowerIsBetter: false, goal: 0.8,
                   command: "gmem bench --filter restore",
                   note: "restore of that snapshot (new VM, guest_memfd, pread into its mapping, CRC32C, vCPU state; file in the page cache) vs memcpy of 64 MiB into a fresh guest_memfd mapping"),
            Figure(name: "restore-first-exit", unit: "µs", swift: restored, c: cold, lowerIsBetter: true, goal: 1.5,
                   command: "gmem bench --filter restore-first-exit",
                   note: "16 MiB pingpong snapshotted at exit 10: Snapshot.restore (KVM_CREATE_VM, guest_memfd, pages, vCPU state; the file opened and parsed once) to the first guest exit on its own vCPU thread, vs a cold start's KVM_CREATE_VM to first exit (Machine.run), median of 10 per round"),
            Figure(name: "restore-clones", unit: "clones/s", swift: clones, c: colds, lowerIsBetter: false, goal: nil,
                   command: "gmem bench --filter restore-clones",
                   note: "\(cloneCount) clones of that snapshot restored, run at once and finished, vs \(cloneCount) cold starts of the same guest back to back"),
        ]
    }
}
