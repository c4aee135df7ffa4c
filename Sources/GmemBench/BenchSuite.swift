import Foundation
import GmemConformance
import GmemExplorer
import GuestImages
import KVM
import Logging
import MicroVM

/// `gmem bench` as one library call: each hot path of GmemKit against the same operations in
/// plain C (or Spin, or the host's own copy), interleaved in one run, as ratios.
public struct BenchSuite: Sendable {
    /// What to measure (the `gmem bench` options).
    public struct Options: Sendable, Codable, Equatable {
        /// Only figures whose name contains this.
        public var filter: String?
        public var rounds = 5
        public var pings: UInt32 = 20_000
        public var populateMiB: UInt64 = 1024
        public var densityVMs = 1000
        /// Populate only: the C baseline in the Swift column too (the host's noise alone).
        public var control = false
        public init() {}

        /// Why these options cannot run, or nil.
        public var problem: String? {
            if !(1...100).contains(rounds) { return "--rounds must be 1 to 100" }
            if pings < 100 { return "--pings must be at least 100" }
            if !(10...4000).contains(densityVMs) { return "--density-vms must be 10 to 4000" }
            if !(2...16384).contains(populateMiB) { return "--populate-mib must be 2 to 16384" }
            return nil
        }
    }

    public let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger = Logger(label: "gmemkit.bench")) {
        self.options = options
        self.logger = logger
    }

    /// Runs every figure `options.filter` selects; `done` is told each figure's name as it finishes.
    public static func run(
        _ options: Options, logger: Logger = Logger(label: "gmemkit.bench"),
        done: (String) -> Void = { _ in }
    ) throws(BenchError) -> BenchReport {
        if let problem = options.problem { throw BenchError(problem) }
        let suite = BenchSuite(options: options, logger: logger)
        let needsKVM = ["exit-roundtrip", "cold-start", "churn", "populate", "guest-touch", "density", "restore"]
            .contains { suite.wants($0) }
        if needsKVM, let reason = KVMHost.unavailableReason {
            throw BenchError(reason + " (run with --filter model-ops, explore or check-wall for the model figures)")
        }
        var figures: [Figure] = []
        func add(_ figure: Figure) {
            // a sibling of the figure asked for
            if let filter = options.filter, !figure.name.contains(filter) { return }
            logger.info("figure done", metadata: ["figure": "\(figure.name)"])
            done(figure.name)
            figures.append(figure)
        }
        do {
            if suite.wants("exit-roundtrip") { add(try suite.exitRoundTrip()) }
            if suite.wants("cold-start") || suite.wants("churn") {
                let (cold, churn) = try suite.coldStartAndChurn()
                if suite.wants("cold-start") { add(cold) }
                if suite.wants("churn") { add(churn) }
            }
            if suite.wants("populate") { try suite.populate().forEach(add) }
            if suite.wants("guest-touch") { try suite.guestTouch().forEach(add) }
            if suite.wants("density") { try suite.density().forEach(add) }
            if suite.wants("restore") { try suite.restoreFigures().forEach(add) }
            if suite.wants("model-ops") { add(suite.modelOperations()) }
            if suite.wants("explore") { suite.explore().forEach(add) }
            if suite.wants("check-wall") { add(suite.checkWall()) }
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError("\(error)")
        }
        if figures.isEmpty { throw BenchError("no figure matches --filter \(options.filter ?? "")") }
        return BenchReport(options: options, figures: figures)
    }

    /// Whether `name`, or one of the figures it produces (`name-…`), matches --filter.
    func wants(_ name: String) -> Bool {
        guard let filter = options.filter else { return true }
        return name.contains(filter) || filter.hasPrefix(name + "-")
    }

    /// Runs `options.rounds` rounds of both sides, alternating which goes first (each inherits the
    /// page cache, allocator and scheduler state the other left), then `after` if given.
    func alternate(
        _ swift: () throws -> Void, _ c: () throws -> Void, rounds: Int? = nil,
        after: () throws -> Void = {}
    ) throws {
        for round in 0..<(rounds ?? options.rounds) {
            if round.isMultiple(of: 2) {
                try swift()
                try c()
            } else {
                try c()
                try swift()
            }
            try after()
        }
    }

    // MARK: Figures

    func machine(_ image: [UInt8], name: String, memory: UInt64, parameter: UInt32) throws -> RunReport {
        let report = try Machine.run(MachineConfig(name: name, image: image, memorySize: memory, parameter: parameter))
        guard report.succeeded else { throw BenchError("the \(name) guest did not exit 0: \(report.cause)") }
        return report
    }

    /// Round trip = (run with N pings − run with 0 pings) / N, for each side.
    func exitRoundTrip() throws -> Figure {
        let memory: UInt64 = 4 << 20
        let snapshot = try BootSnapshot(image: GuestImages.pingpong, memorySize: memory)
        var swift: [Double] = []
        var c: [Double] = []
        func swiftSide() throws {
            let full = try machine(GuestImages.pingpong, name: "pingpong", memory: memory, parameter: options.pings)
            let empty = try machine(GuestImages.pingpong, name: "pingpong", memory: memory, parameter: 0)
            guard full.pings == UInt64(options.pings) else { throw BenchError("Swift counted \(full.pings) pings") }
            swift.append(Double((full.totalTime - empty.totalTime).nanoseconds) / Double(options.pings))
        }
        func cSide() throws {
            let cFull = try CBaselineRun.run(snapshot, parameter: options.pings)
            let cEmpty = try CBaselineRun.run(snapshot, parameter: 0)
            guard cFull.pings == UInt64(options.pings) else { throw BenchError("C counted \(cFull.pings) pings") }
            c.append((Double(cFull.totalNanoseconds) - Double(cEmpty.totalNanoseconds)) / Double(options.pings))
        }
        try alternate(swiftSide, cSide)
        return Figure(
            name: "exit-roundtrip", unit: "ns/round trip", swift: swift, c: c, lowerIsBetter: true, goal: 1.05,
            command: "gmem bench --filter exit-roundtrip",
            note: "pingpong guest, \(options.pings) port writes per round, minus an empty run")
    }

    /// One cycle: /dev/kvm → VM → 4 MiB guest_memfd → bind → load → vCPU → first exit (the
    /// guest's exit port) → teardown. Each round runs `cycles` cycles back to back per side:
    /// cold-start is the median of their own timings (open to teardown), churn is cycles per
    /// second of wall time over the whole batch.
    func coldStartAndChurn() throws -> (Figure, Figure) {
        let memory: UInt64 = 4 << 20
        let snapshot = try BootSnapshot(image: GuestImages.pingpong, memorySize: memory)
        var swift: [Double] = []
        var c: [Double] = []
        var swiftChurn: [Double] = []
        var cChurn: [Double] = []
        let cycles = 20
        func swiftSide() throws {
            var times: [Double] = []
            let start = ContinuousClock.now
            for _ in 0..<cycles {
                times.append(
                    Double(
                        try machine(GuestImages.pingpong, name: "pingpong", memory: memory, parameter: 0).totalTime
                            .nanoseconds) / 1000)
            }
            swiftChurn.append(Double(cycles) / (ContinuousClock.now - start).seconds)
            swift.append(Figure.median(times) ?? 0)
        }
        func cSide() throws {
            var times: [Double] = []
            let start = ContinuousClock.now
            for _ in 0..<cycles {
                times.append(Double(try CBaselineRun.run(snapshot, parameter: 0).totalNanoseconds) / 1000)
            }
            cChurn.append(Double(cycles) / (ContinuousClock.now - start).seconds)
            c.append(Figure.median(times) ?? 0)
        }
        try alternate(swiftSide, cSide)
        return (
            Figure(
                name: "cold-start", unit: "µs/cycle", swift: swift, c: c, lowerIsBetter: true, goal: 1.10,
                command: "gmem bench --filter cold-start",
                note: "median of \(cycles) cycles per round; 4 MiB (MicroVM's minimum; the issue says 2 MiB)"),
            Figure(
                name: "churn", unit: "cycles/s", swift: swiftChurn, c: cChurn, lowerIsBetter: false, goal: 0.9,
                command: "gmem bench --filter churn", note: "\(cycles) cold-start cycles back to back")
        )
    }

    /// allocate, first-touch (one byte per page through the safe mapping) and punch, each side
    /// on its own guest_memfd of `options.populateMiB`, interleaved 64 MiB at a time (the first write
    /// to a page is bimodal on the reference host, and depends on which pages a side draws:
    /// interleaving gives both sides the same mix).
    func populate() throws -> [Figure] {
        let size = options.populateMiB << 20
        let gib = Double(size) / Double(1 << 30)
        var swift: [[Double]] = [[], [], []]
        var c: [[Double]] = [[], [], []]
        var memset: [Double] = []
        // Round -1 warms the host up and is not recorded (the first 1 GiB of a run is always slow).
        for round in -1..<options.rounds {
            let swiftSide: PopulateSide =
                options.control ? try CBaselinePopulateFile(size: size) : try GmemKitPopulateFile(size: size)
            let cSide = try CBaselinePopulateFile(size: size)
            // Alternate which side goes first in the first chunk of each round.
            let s: [UInt64]
            let cNs: [UInt64]
            if round.isMultiple(of: 2) {
                (s, cNs) = try populateInterleaved(swiftSide, cSide, size: size, chunk: 64 << 20)
            } else {
                (cNs, s) = try populateInterleaved(cSide, swiftSide, size: size, chunk: 64 << 20)
            }
            for phase in 0..<3 where round >= 0 {
                swift[phase].append(gib / (Double(s[phase]) / 1e9))
                c[phase].append(gib / (Double(cNs[phase]) / 1e9))
            }
        }
        // After the rounds: the first guest_memfd populate after freeing 1 GiB of anonymous
        // memory is about twice as slow, whichever side runs it (measured: it made the side
        // that went first in each round look 0.4–0.8 × the other).
        for _ in 0..<options.rounds {
            memset.append(gib / (Double(try CBaselineRun.memsetAnonymous(size: size)) / 1e9))
        }
        let names = ["populate-allocate", "populate-touch", "populate-punch"]
        let notes = [
            "fallocate of \(options.populateMiB) MiB guest_memfd, 64 MiB at a time, interleaved with the other side",
            "one byte per page through the shared mapping (bounds-checked store), interleaved likewise",
            "fallocate PUNCH_HOLE of \(options.populateMiB) MiB, interleaved likewise",
        ]
        var figures = (0..<3).map {
            Figure(
                name: names[$0], unit: "GiB/s", swift: swift[$0], c: c[$0], lowerIsBetter: false, goal: 0.95,
                command: "gmem bench --filter populate",
                note: (options.control ? "CONTROL (C in both columns): " : "") + notes[$0])
        }
        figures.append(
            Figure(
                name: "populate-memset-reference", unit: "GiB/s", swift: [], c: memset, lowerIsBetter: false, goal: nil,
                command: "gmem bench --filter populate", note: "memset of fresh anonymous memory in C, for reference"))
        return figures
    }

    /// The touch guest over 64 MiB, four passes: ns per page of the first pass, and the median
    /// of passes 2–4 (each ≈ 0.3 ms, so one timer tick or host hiccup moves a single pass by 10 %+).
    func guestTouch() throws -> [Figure] {
        let memory: UInt64 = 64 << 20
        let snapshot = try BootSnapshot(image: GuestImages.touch, memorySize: memory)
        let pages = Double(memory >> 12)
        var swift: [[Double]] = [[], []]
        var c: [[Double]] = [[], []]
        func record(_ passes: [Int64], into values: inout [[Double]]) throws {
            guard passes.count >= 4 else { throw BenchError("touch reported \(passes.count) passes, not 4") }
            values[0].append(Double(passes[0]) / pages)
            values[1].append((Figure.median(passes[1..<4].map { Double($0) }) ?? 0) / pages)
        }
        func swiftSide() throws {
            let report = try machine(GuestImages.touch, name: "touch", memory: memory, parameter: 4)
            try record(report.passes.map(\.nanoseconds), into: &swift)
        }
        func cSide() throws {
            let result = try CBaselineRun.run(snapshot, parameter: 4)
            try record(result.passNanoseconds.map { Int64($0) }, into: &c)
        }
        // Three times the rounds: a round is ≈ 0.2 s, and the second pass (0.3 ms) is noisy.
        try alternate(swiftSide, cSide, rounds: 3 * options.rounds)
        return [
            Figure(
                name: "guest-touch-first", unit: "ns/page", swift: swift[0], c: c[0], lowerIsBetter: true,
                goal: 1 / 0.95,
                command: "gmem bench --filter guest-touch",
                note: "touch guest, 64 MiB, first of 4 passes (guest_memfd allocation on fault)"),
            Figure(
                name: "guest-touch-second", unit: "ns/page", swift: swift[1], c: c[1], lowerIsBetter: true,
                goal: 1 / 0.95,
                command: "gmem bench --filter guest-touch",
                note: "median of passes 2-4 (pages present); 3 × --rounds rounds"),
        ]
    }

    /// `options.densityVMs` VMs alive at once, each with a 4 MiB guest_memfd and a vCPU that has run:
    /// host memory (beyond guest_memfd pages) and descriptors per VM, GmemKit's KVM module
    /// against C. Three rounds at most (each builds and tears down every VM on both sides).
    func density() throws -> [Figure] {
        // Each VM holds 3 descriptors on both sides: raise the soft limit to the hard one.
        let needed = rlim_t(3 * options.densityVMs + 64)
        var limit = rlimit()
        // SAFETY: getrlimit writes one rlimit into the local `limit`, which outlives the call.
        if unsafe getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < needed {
            limit.rlim_cur = min(limit.rlim_max, max(needed, limit.rlim_cur))
            // SAFETY: setrlimit reads the local `limit`, alive for the call.
            _ = unsafe setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            if limit.rlim_cur < needed {
                throw BenchError(
                    "density needs \(needed) descriptors and RLIMIT_NOFILE allows \(limit.rlim_cur) (raise it with ulimit -n, or pass a smaller --density-vms)"
                )
            }
        }
        let snapshot = try BootSnapshot(image: GuestImages.pingpong, memorySize: 4 << 20)
        let count = Double(options.densityVMs)
        var swift: [[Double]] = [[], [], []]
        var c: [[Double]] = [[], [], []]
        func record(_ into: inout [[Double]], _ before: HostUsage, _ after: HostUsage) {
            into[0].append(after.hostBytes(since: before) / count / 1024)
            into[1].append((after.anonymous - before.anonymous) / count / 1024)
            into[2].append((after.descriptors - before.descriptors) / count)
        }
        func swiftSide() throws {
            HostUsage.settle()  // VM teardown frees memory asynchronously
            let before = HostUsage.now()
            let kvm = try KVMSystem()
            var vms: [DensityVM] = []
            vms.reserveCapacity(options.densityVMs)
            for _ in 0..<options.densityVMs { vms.append(try DensityVM(kvm: kvm, snapshot: snapshot)) }
            record(&swift, before, HostUsage.now())
        }
        func cSide() throws {
            HostUsage.settle()
            let before = HostUsage.now()
            try CBaselineRun.densityUp(snapshot, count: options.densityVMs)
            record(&c, before, HostUsage.now())
            CBaselineRun.densityDown()
        }
        try alternate(swiftSide, cSide, rounds: min(options.rounds, 3))
        let note = "\(options.densityVMs) VMs alive, each 4 MiB guest_memfd bound, vCPU run to its first exit"
        return [
            Figure(
                name: "density-host-memory", unit: "KiB/VM", swift: swift[0], c: c[0], lowerIsBetter: true, goal: 1.2,
                command: "gmem bench --filter density",
                note: note + "; MemFree taken minus Unevictable (guest_memfd pages)"),
            Figure(
                name: "density-anonymous-rss", unit: "KiB/VM", swift: swift[1], c: c[1], lowerIsBetter: true, goal: nil,
                command: "gmem bench --filter density", note: "RssAnon of the process (its own heap and stacks)"),
            Figure(
                name: "density-fds", unit: "fds/VM", swift: swift[2], c: c[2], lowerIsBetter: true, goal: 1.2,
                command: "gmem bench --filter density", note: "open descriptors per VM"),
        ]
    }

    func modelOperations() -> Figure {
        let runner = ConformanceRunner(selection: .model, capabilities: .referenceHost)
        var values: [Double] = []
        for round in 0..<options.rounds {
            let start = ContinuousClock.now
            let report = RandomDifferential(runner: runner).run(seed: UInt64(round + 1), operations: 100_000)
            values.append(Double(report.operationsRun) / (ContinuousClock.now - start).seconds)
        }
        return Figure(
            name: "model-ops", unit: "operations/s", swift: values, c: [], lowerIsBetter: false, goal: nil,
            command: "gmem bench --filter model-ops",
            note: "100,000 random operations on the model (GmemConformance's generator)")
    }

    /// The explorer against Spin on one universe (upstream, 3 VMs, 2 files, 2 memslots, 2
    /// pages, depth 12), each round back to back: `explore-states` is states stored per second
    /// without symmetry reduction (both sides store the same states; the count is checked),
    /// `explore-time` the seconds to finish the search with the explorer's symmetry reduction
    /// against Spin's (which has none). Spin's pan is compiled once with -O2, breadth-first,
    /// with every check (as the explorer checks every invariant), and timed as a process.
    func explore() -> [Figure] {
        let universe = Universe(vms: 3, files: 2, slots: 2, pagesPerFile: 2, depth: 12)
        let design = Design(lifetime: .upstream)
        var rates: [Double] = []
        var spinRates: [Double] = []
        var times: [Double] = []
        var spinTimes: [Double] = []
        var note = ""
        var spinDirectory: String?
        if let missing = Spin.unavailable() {
            note = "; Spin not measured: \(missing)"
        } else {
            let directory = NSTemporaryDirectory() + "gmem-bench-spin-\(ProcessInfo.processInfo.processIdentifier)"
            do {
                try Spin.compile(PromelaModel(design: design, universe: universe), in: directory, optimize: "-O2")
                spinDirectory = directory
            } catch {
                note = "; Spin not measured: \(error)"
            }
        }
        defer { if let spinDirectory { try? FileManager.default.removeItem(atPath: spinDirectory) } }
        var states = (explorer: 0, reduced: 0, spin: 0)
        for _ in 0..<options.rounds {
            let full = Explorer(design: design, universe: universe).run(symmetry: false)
            rates.append(full.statesPerSecond)
            let reduced = Explorer(design: design, universe: universe).run()
            times.append(reduced.seconds)
            states.explorer = full.statesExplored
            states.reduced = reduced.statesExplored
            if let spinDirectory {
                let start = ContinuousClock.now
                guard let run = try? Spin.search(in: spinDirectory, depth: universe.depth, hashBits: 22) else {
                    continue
                }
                let seconds = (ContinuousClock.now - start).seconds
                spinRates.append(Double(run.states) / seconds)
                spinTimes.append(seconds)
                states.spin = run.states
            }
        }
        if states.spin != 0, states.spin != states.explorer {
            note += "; STATE COUNTS DIFFER (explorer \(states.explorer), Spin \(states.spin))"
        }
        let what = "upstream, \(universe)"
        return [
            Figure(
                name: "explore-states", unit: "states/s", swift: rates, c: spinRates, lowerIsBetter: false, goal: 1,
                command: "gmem bench --filter explore",
                note:
                    "\(what), no symmetry: \(states.explorer.formatted()) states stored by both; C column: Spin 6.5.2 pan -DBFS -O2"
                    + note),
            Figure(
                name: "explore-time", unit: "s", swift: times, c: spinTimes, lowerIsBetter: true, goal: 1,
                command: "gmem bench --filter explore",
                note:
                    "\(what) searched to the bound: explorer with symmetry (\(states.reduced.formatted()) states, all cores) vs Spin (\(states.spin.formatted()))"
                    + note),
        ]
    }

    func checkWall() -> Figure {
        let selection: BackendSelection = KVMHost.unavailableReason == nil ? .both : .model
        let runner = ConformanceRunner(
            selection: selection, capabilities: ConformanceRunner.hostCapabilities() ?? .referenceHost)
        var values: [Double] = []
        for _ in 0..<options.rounds {
            let start = ContinuousClock.now
            _ = Catalogue.scenarios.map(runner.run)
            values.append((ContinuousClock.now - start).seconds)
        }
        return Figure(
            name: "check-wall", unit: "s", swift: values, c: [], lowerIsBetter: true, goal: nil,
            command: "gmem bench --filter check-wall",
            note: "the \(Catalogue.scenarios.count)-scenario catalogue on \(selection.rawValue); goal < 5 s")
    }

    /// Snapshot and restore bandwidth of a 256 MiB guest with 64 MiB touched against the host's
    /// own copy into a fresh guest_memfd mapping (goal ≥ 0.8 ×); restore-to-first-exit of a
    /// 16 MiB guest against a cold start of it (goal ≤ 1.5 ×); clones per second against cold
    /// starts per second. Each round measures both sides back to back, alternating the order.
    func restoreFigures() throws -> [Figure] {
        let directory =
            NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
        let big: UInt64 = 256 << 20
        let touched: UInt64 = 64 << 20
        var snapshot: [Double] = []
        var restore: [Double] = []
        var copy: [Double] = []
        var copy2: [Double] = []
        var sync: [Double] = []
        var saved: UInt64 = 0
        for round in 0..<options.rounds {
            func ours() throws {
                let r = try RestoreBench.snapshotAndRestore(memory: big, touched: touched, directory: directory)
                snapshot.append(r.snapshot)
                restore.append(r.restore)
                sync.append(r.sync)
                saved = r.saved
            }
            func host() throws {
                copy.append(try RestoreBench.hostCopy(memory: big, bytes: touched))
                copy2.append(try RestoreBench.hostCopy(memory: big, bytes: touched))
            }
            if round.isMultiple(of: 2) {
                try ours()
                try host()
            } else {
                try host()
                try ours()
            }
        }

        let small: UInt64 = 16 << 20
        let pings: UInt32 = 20
        let path = directory + "/gmem-bench-first-exit-\(getpid()).gsnap"
        // SAFETY: `path` is passed as a C string alive for the call; unlink keeps no pointer.
        defer { unsafe unlink(path) }
        try RestoreBench.writeEarlySnapshot(memory: small, exits: 10, pings: pings, to: path)
        let early = try Snapshot(path: path)
        var restored: [Double] = []
        var cold: [Double] = []
        var clones: [Double] = []
        var colds: [Double] = []
        let cloneCount = 8
        for round in 0..<options.rounds {
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
            if round.isMultiple(of: 2) {
                try ours()
                try theirs()
            } else {
                try theirs()
                try ours()
            }
        }
        let mib = String(format: "%.1f", Double(saved) / Double(1 << 20))
        return [
            Figure(
                name: "restore-snapshot", unit: "MiB/s", swift: snapshot, c: copy, lowerIsBetter: false, goal: 0.8,
                command: "gmem bench --filter restore",
                note:
                    "256 MiB pingpong guest, 64 MiB written by the VMM: \(mib) MiB saved (mincore, CRC32C, pwrite to the page cache) vs memcpy of 64 MiB into a fresh guest_memfd mapping; fsync excluded (median \(String(format: "%.0f", Figure.median(sync) ?? 0)) MiB/s)"
            ),
            Figure(
                name: "restore-copy", unit: "MiB/s", swift: restore, c: copy2, lowerIsBetter: false, goal: 0.8,
                command: "gmem bench --filter restore",
                note:
                    "restore of that snapshot (new VM, guest_memfd, pread into its mapping, CRC32C, vCPU state; file in the page cache) vs memcpy of 64 MiB into a fresh guest_memfd mapping"
            ),
            Figure(
                name: "restore-first-exit", unit: "µs", swift: restored, c: cold, lowerIsBetter: true, goal: 1.5,
                command: "gmem bench --filter restore-first-exit",
                note:
                    "16 MiB pingpong snapshotted at exit 10: Snapshot.restore (KVM_CREATE_VM, guest_memfd, pages, vCPU state; the file opened and parsed once) to the first guest exit on its own vCPU thread, vs a cold start's KVM_CREATE_VM to first exit (Machine.run), median of 10 per round"
            ),
            Figure(
                name: "restore-clones", unit: "clones/s", swift: clones, c: colds, lowerIsBetter: false, goal: nil,
                command: "gmem bench --filter restore-clones",
                note:
                    "\(cloneCount) clones of that snapshot restored, run at once and finished, vs \(cloneCount) cold starts of the same guest back to back"
            ),
        ]
    }
}

/// The figures of one `gmem bench` run: `--json` is its encoding, ``formatted()`` the table.
public struct BenchReport: Codable, Sendable {
    /// The version of this encoding; raised when a key changes meaning or goes away.
    public static let currentSchemaVersion = 1
    public let schemaVersion: Int
    public let rounds: Int
    public let options: Options
    public let figures: [Figure]
    public typealias Options = BenchSuite.Options

    public init(options: Options, figures: [Figure]) {
        schemaVersion = Self.currentSchemaVersion
        rounds = options.rounds
        self.options = options
        self.figures = figures
    }

    /// The human form: the table, then how to read it.
    public func formatted() -> String {
        var lines: [String] = []
        lines.append(
            "figure".padding(toLength: 28, withPad: " ", startingAt: 0)
                + "unit".padding(toLength: 15, withPad: " ", startingAt: 0)
                + "Swift".leftPadded(to: 12) + "±".leftPadded(to: 7) + "C".leftPadded(to: 12) + "±".leftPadded(to: 7)
                + "ratio".leftPadded(to: 8) + "  goal")
        for figure in figures {
            let swift = figure.swiftMedian.map(Self.format) ?? "-"
            let c = figure.cMedian.map(Self.format) ?? "-"
            let ratio = figure.ratio.map { String(format: "%.3f", $0) } ?? "-"
            let goal = figure.goalText ?? ""
            lines.append(
                figure.name.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + figure.unit.padding(toLength: 15, withPad: " ", startingAt: 0)
                    + swift.leftPadded(to: 12) + Self.percent(figure.swiftSpread).leftPadded(to: 7)
                    + c.leftPadded(to: 12) + Self.percent(figure.cSpread).leftPadded(to: 7) + ratio.leftPadded(to: 8)
                    + "  " + goal)
        }
        if options.control {
            lines.append(
                "--control: the Swift column of the populate figures is the C baseline too (the host's noise alone).")
        }
        lines.append(
            "median of \(options.rounds) rounds (guest-touch \(3 * options.rounds), density \(min(options.rounds, 3))); ± is (max-min)/median; ratio is Swift/C (for rates, C/Swift is not used: "
                + "ratio > 1 is better for GiB/s and cycles/s, worse for times).")
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        value >= 100
            ? String(format: "%.0f", value) : value >= 1 ? String(format: "%.2f", value) : String(format: "%.4f", value)
    }

    static func percent(_ value: Double?) -> String { value.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
