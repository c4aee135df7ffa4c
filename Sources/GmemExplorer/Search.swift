import Dispatch

/// The invariants (and the hand-off question) as bits of one check over a transition.
struct CheckBits: OptionSet, Sendable {
    let rawValue: UInt8
    static let exposure = CheckBits(rawValue: 1)
    static let useAfterFree = CheckBits(rawValue: 2)
    static let confidential = CheckBits(rawValue: 4)
    static let deletion = CheckBits(rawValue: 8)
    static let quiescence = CheckBits(rawValue: 16)
    static let handOff = CheckBits(rawValue: 32)

    static func of(_ invariant: Invariant) -> CheckBits {
        switch invariant {
        case .noCrossVMExposure: .exposure
        case .noUseAfterFree: .useAfterFree
        case .confidentialMemoryDiesWithVM: .confidential
        case .deleteKeepsData: .deletion
        case .quiescenceFreesEverything: .quiescence
        }
    }
}

extension CompactRules {
    /// Which of `wanted` the transition `before` —`move`→ `after` breaks.
    @inline(__always) func check(
        _ before: CompactState, _ move: Move, _ outcome: CompactOutcome, _ after: CompactState,
        flavour: Design.Flavour, wanted: CheckBits
    ) -> CheckBits {
        var broken: CheckBits = []
        let vms = Int(after.vms)
        let files = Int(after.files)
        if wanted.contains(.exposure), case .read(let value) = outcome, value >= 2, Int(value - 2) != Int(move.vm) {
            broken.insert(.exposure)
        }
        if wanted.contains(.handOff), move.kind == .bind, outcome == .ok, before.creator(Int(move.file)) != Int(move.vm)
        {
            broken.insert(.handOff)
        }
        if wanted.contains(.useAfterFree) {
            for f in 0..<files
            where after.fileAlive(f) && after.owner[f] != 0 && liveVM(named: after.owner[f], in: after) < 0 {
                broken.insert(.useAfterFree)
                break
            }
        }
        if wanted.contains(.confidential) {
            switch flavour {
            case .plain: break
            case .snp:
                for w in 0..<vms where !after.vmAlive(w) && secretPages(of: w, in: after) > 0 {
                    broken.insert(.confidential)
                    break
                }
            case .tdx:
                for w in 0..<Int(before.vms)
                where !before.vmAlive(w) && secretPages(of: w, in: after) < secretPages(of: w, in: before) {
                    broken.insert(.confidential)
                    break
                }
            }
        }
        if wanted.contains(.deletion), move.kind == .delete, outcome == .ok {
            for f in 0..<files {
                if after.fileAlive(f) {
                    if pages(of: f, in: before) != pages(of: f, in: after) {
                        broken.insert(.deletion)
                        break
                    }
                } else if choices.countFilesFreedByDelete, before.fileAlive(f), pages(of: f, in: before) != 0 {
                    broken.insert(.deletion)
                    break
                }
            }
        }
        if wanted.contains(.quiescence) {
            var anyOpen = false
            var anyAlive = false
            for v in 0..<vms {
                anyOpen = anyOpen || after.vmOpen(v)
                anyAlive = anyAlive || after.vmAlive(v)
            }
            for f in 0..<files {
                anyOpen = anyOpen || after.fileOpen(f)
                anyAlive = anyAlive || after.fileAlive(f)
            }
            if !anyOpen, anyAlive { broken.insert(.quiescence) }
        }
        return broken
    }
}

/// One shard of the visited set: the states whose hash falls in it, in the order they were
/// stored (so each BFS level is a contiguous range), with open addressing over their keys.
/// `@safe`: its buffers are private to it in use (every index below `count` or `capacity`,
/// checked where it is computed), allocated in init and freed once in deinit.
@safe final class Shard: @unchecked Sendable {
    // SAFETY: a shard is written only by the task that owns it in the insert phase, and only
    // read (by every task) in the expand phase; the phases are separated by the barrier of
    // `concurrentPerform`, so no memory is read and written at once.
    var keys: UnsafeMutablePointer<StateKey>
    var parents: UnsafeMutablePointer<UInt32>
    var moves: UnsafeMutablePointer<UInt16>
    var count = 0
    var capacity: Int
    var table: UnsafeMutablePointer<UInt32>
    var tableMask: Int
    /// The candidates other tasks found for this shard in the current level, by task (each
    /// task writes only its own element).
    let inbox: UnsafeMutablePointer<[(key: StateKey, parent: UInt32, move: UInt16)]>
    let tasks: Int

    init(tasks: Int) {
        capacity = 1024
        // SAFETY: fresh allocations owned by this shard, freed once in deinit; keys, parents
        // and moves are trivial types written before they are read (below `count`), the
        // table and the inbox are initialised here.
        unsafe keys = .allocate(capacity: capacity)
        unsafe parents = .allocate(capacity: capacity)
        unsafe moves = .allocate(capacity: capacity)
        tableMask = 2047
        // SAFETY: as above.
        unsafe table = .allocate(capacity: tableMask + 1)
        unsafe table.initialize(repeating: 0, count: tableMask + 1)
        self.tasks = tasks
        // SAFETY: as above.
        unsafe inbox = .allocate(capacity: tasks)
        unsafe inbox.initialize(repeating: [], count: tasks)
    }

    deinit {
        // SAFETY: deinit: nothing else references the shard; each buffer was allocated once
        // (init, grow, rehash) and the inbox's `tasks` arrays are initialised.
        unsafe keys.deallocate()
        unsafe parents.deallocate()
        unsafe moves.deallocate()
        unsafe table.deallocate()
        unsafe inbox.deinitialize(count: tasks)
        unsafe inbox.deallocate()
    }

    var bytes: Int { capacity * (MemoryLayout<StateKey>.stride + 6) + (tableMask + 1) * 4 }

    @inline(__always) func contains(_ key: StateKey, hash: UInt64) -> Bool {
        var slot = Int(truncatingIfNeeded: hash) & tableMask
        while true {
            // SAFETY: slot is masked by tableMask, below the table's tableMask + 1 entries; a
            // non-zero entry is 1 + an index below `count`, whose key is initialised.
            let entry = unsafe table[slot]
            if entry == 0 { return false }
            // SAFETY: as above.
            if unsafe keys[Int(entry - 1)] == key { return true }
            slot = (slot + 1) & tableMask
        }
    }

    /// Stores `key` unless present; returns its new local index or nil.
    @inline(__always) func insert(_ key: StateKey, hash: UInt64, parent: UInt32, move: UInt16) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & tableMask
        while true {
            // SAFETY: as in contains(_:hash:).
            let entry = unsafe table[slot]
            if entry == 0 { break }
            // SAFETY: as in contains(_:hash:).
            if unsafe keys[Int(entry - 1)] == key { return nil }
            slot = (slot + 1) & tableMask
        }
        if count == capacity { grow() }
        // SAFETY: count < capacity after grow(), so index `count` is inside the three buffers;
        // `slot` is masked as above.
        unsafe keys[count] = key
        unsafe parents[count] = parent
        unsafe moves[count] = move
        count += 1
        // SAFETY: as above.
        unsafe table[slot] = UInt32(count)
        if count * 2 > tableMask { rehash() }
        return count - 1
    }

    private func grow() {
        let newCapacity = capacity * 2
        func move<T>(_ pointer: inout UnsafeMutablePointer<T>) {
            let bigger = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
            // SAFETY: the new buffer holds newCapacity > count elements; the `count` stored
            // elements move into it and the old buffer, now uninitialised, is freed once.
            unsafe bigger.moveInitialize(from: pointer, count: count)
            unsafe pointer.deallocate()
            unsafe pointer = bigger
        }
        // SAFETY: each buffer is this shard's own, passed inout for the replacement above.
        unsafe move(&keys)
        unsafe move(&parents)
        unsafe move(&moves)
        capacity = newCapacity
    }

    private func rehash() {
        let size = (tableMask + 1) * 2
        // SAFETY: the old table is freed once and replaced by a new initialised one of `size`
        // entries; slots are masked by the new tableMask and keys are read below `count`.
        unsafe table.deallocate()
        unsafe table = .allocate(capacity: size)
        unsafe table.initialize(repeating: 0, count: size)
        tableMask = size - 1
        for index in 0..<count {
            // SAFETY: as above.
            var slot = unsafe Int(truncatingIfNeeded: keys[index].hash >> Search.shardBits) & tableMask
            // SAFETY: as above.
            while unsafe table[slot] != 0 { slot = (slot + 1) & tableMask }
            unsafe table[slot] = UInt32(index + 1)
        }
    }
}

/// The parallel breadth-first search over canonical compact states.
///
/// Level by level: in the expand phase each task takes the new states of its shards, runs
/// every move, checks the invariants on every transition, and sends each successor not
/// already stored to the shard its hash names; in the insert phase each task stores its
/// shards' candidates. The shard count is fixed, so the states, their order and the traces
/// found do not depend on how many cores run the tasks.
struct Search {
    static let shardBits = 3
    static let shards = 1 << shardBits

    let rules: CompactRules
    let canon: Canonicalizer
    let flavour: Design.Flavour
    let wanted: CheckBits

    struct Found: Sendable {
        var parent: UInt32
        var move: UInt16
    }

    struct Result {
        var shards: [Shard]
        var found: [UInt8: Found]
        var foundLevel: [UInt8: Int]
        var levels: [Int]
        var transitions: Int
        var stoppedAtLimit: Bool
        /// Whether the search stopped at its deadline (the level it was expanding is dropped,
        /// so `levels` are complete levels only).
        var stoppedAtDeadline: Bool
        var exhausted: Bool
        var seconds: Double
        var bytes: Int
    }

    static func globalID(shard: Int, local: Int) -> UInt32 { UInt32(shard) << 29 | UInt32(local) }
    static func shardOf(_ id: UInt32) -> Int { Int(id >> 29) }
    static func localOf(_ id: UInt32) -> Int { Int(id & 0x1FFF_FFFF) }

    func run(
        threads: Int, stopWhen: CheckBits, maxStates: Int?, deadline: ContinuousClock.Instant? = nil,
        progress: (@Sendable (Int, Int, Int, Double, Int) -> Void)?, progressSeconds: Double
    ) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let shards = (0..<Self.shards).map { _ in Shard(tasks: Self.shards) }
        let root = CompactState()
        let rootKey = canon.canonical(root)
        let rootHash = rootKey.hash
        let rootShard = Int(rootHash & UInt64(Self.shards - 1))
        _ = shards[rootShard].insert(rootKey, hash: rootHash >> Self.shardBits, parent: UInt32.max, move: 0)
        var levelStart = [Int](repeating: 0, count: Self.shards)
        var found: [UInt8: Found] = [:]
        var foundLevel: [UInt8: Int] = [:]
        var levels = [1]
        var transitions = 0
        var stopped = false
        var pastDeadline = false
        var total = 1
        var depth = 0
        let universe = rules.universe
        var nextProgress = clock.now + .milliseconds(Int(progressSeconds * 1000))

        while depth < universe.depth {
            let starts = levelStart
            let ends = shards.map(\.count)
            if zip(starts, ends).allSatisfy({ $0 >= $1 }) { break }
            let foundSoFar = found.keys.reduce(CheckBits()) { $0.union(CheckBits(rawValue: $1)) }
            let looking = wanted.subtracting(foundSoFar)
            // Expand: task t owns shard t's new states and the outbox row t.
            // A state bound holds within the level too: each task may add at most its share of
            // the room left (a level can be many times the one before it, and its candidates
            // are held in memory until it ends), then stops expanding; the level is partial.
            let share = maxStates.map { Swift.max(1, ($0 - total + Self.shards - 1) / Self.shards) }
            let perTask = UnsafeMutablePointer<(transitions: Int, found: [UInt8: Found], late: Bool, full: Bool)>
                .allocate(capacity: Self.shards)
            // SAFETY: one element per task, initialised here, deinitialised and freed after the
            // merge below (or when the level is dropped); no task outlives `parallel`.
            unsafe perTask.initialize(repeating: (0, [:], false, false), count: Self.shards)
            let tasks = unsafe TaskBox(perTask)
            let shardList = ShardList(shards)
            parallel(threads: threads, Self.shards) { t in
                let shard = shardList.shards[t]
                var outbox = [[(key: StateKey, parent: UInt32, move: UInt16)]](repeating: [], count: Self.shards)
                var localFound: [UInt8: Found] = [:]
                var localLooking = looking
                var count = 0
                var late = false
                var added = 0
                var full = false
                for local in starts[t]..<ends[t] {
                    if full { break }
                    // A deadline ends the level here (checked per state: one state's moves
                    // take microseconds, so the search stops within a state of it).
                    if let deadline, clock.now >= deadline {
                        late = true
                        break
                    }
                    // SAFETY: local is in starts[t]..<ends[t], below the shard's count; the shard is
                    // only read in this phase (Shard's note).
                    let state = canon.unpack(unsafe shard.keys[local])
                    let me = Self.globalID(shard: t, local: local)
                    rules.forEachMove(state) { move in
                        var after = state
                        let outcome = rules.apply(move, to: &after)
                        count += 1
                        if !localLooking.isEmpty {
                            let broken = rules.check(
                                state, move, outcome, after, flavour: flavour, wanted: localLooking)
                            if !broken.isEmpty {
                                for bit in 0..<6 where broken.contains(CheckBits(rawValue: 1 << bit)) {
                                    localFound[UInt8(1 << bit)] = Found(parent: me, move: move.code)
                                }
                                localLooking.subtract(broken)
                            }
                        }
                        // Refused, or nothing changed (a read of an allocated page, a write of
                        // the same secret): the successor is this state, already stored.
                        if outcome == .refused || after == state { return }
                        let key = canon.canonical(after)
                        let hash = key.hash
                        let destination = Int(hash & UInt64(Self.shards - 1))
                        if full || shardList.shards[destination].contains(key, hash: hash >> Self.shardBits) { return }
                        outbox[destination].append((key, me, move.code))
                        added += 1
                        if let share, added >= share { full = true }
                    }
                }
                // SAFETY: each task writes its own element of perTask and its own inbox column.
                unsafe tasks.pointer[t] = (count, localFound, late, full)
                for destination in 0..<Self.shards { shardList.shards[destination].inboxSet(t, outbox[destination]) }
            }
            // Past the deadline, the level is incomplete: drop it (its candidates and its
            // findings), so what is reported is complete levels only.
            // SAFETY: every task has ended; the elements were initialised above.
            if (0..<Self.shards).contains(where: { unsafe perTask[$0].late }) {
                unsafe perTask.deinitialize(count: Self.shards)
                unsafe perTask.deallocate()
                // SAFETY: every task has ended; t < tasks == shards, the inbox's length.
                for shard in shards { for t in 0..<Self.shards { unsafe shard.inbox[t] = [] } }
                pastDeadline = true
                break
            }
            // Merge what this level found: the lowest shard's finding, for determinism.
            for t in 0..<Self.shards {
                // SAFETY: t < shards, the elements initialised above; every task has ended.
                transitions += unsafe perTask[t].transitions
                for (bit, record) in unsafe perTask[t].found where found[bit] == nil {
                    found[bit] = record
                    foundLevel[bit] = depth + 1
                }
            }
            // SAFETY: every task has ended; the elements were initialised above.
            let levelFull = (0..<Self.shards).contains { unsafe perTask[$0].full }
            // SAFETY: every task has ended; the elements are initialised and freed once.
            unsafe perTask.deinitialize(count: Self.shards)
            unsafe perTask.deallocate()
            levelStart = ends
            // Insert: task s stores its shard's candidates, in task order.
            parallel(threads: threads, Self.shards) { s in
                let shard = shardList.shards[s]
                for t in 0..<Self.shards {
                    // SAFETY: t < tasks == shards; task s alone owns shard s in this phase.
                    for candidate in unsafe shard.inbox[t] {
                        _ = shard.insert(
                            candidate.key, hash: candidate.key.hash >> Self.shardBits,
                            parent: candidate.parent, move: candidate.move)
                    }
                    // SAFETY: as above.
                    unsafe shard.inbox[t] = []
                }
            }
            depth += 1
            let now = shards.reduce(0) { $0 + $1.count }
            let added = now - total
            total = now
            if added > 0 { levels.append(added) }
            if let progress, clock.now >= nextProgress {
                nextProgress = clock.now + .milliseconds(Int(progressSeconds * 1000))
                progress(depth, total, transitions, Self.seconds(clock.now - start), shards.reduce(0) { $0 + $1.bytes })
            }
            if added == 0 { break }
            if found.keys.contains(where: { stopWhen.contains(CheckBits(rawValue: $0)) }) {
                stopped = false
                break
            }
            if levelFull || maxStates.map({ total >= $0 }) == true {
                stopped = true
                break
            }
        }
        let exhausted =
            !stopped && !pastDeadline && zip(levelStart, shards.map(\.count)).allSatisfy { $0 >= $1 }
            && !found.keys.contains(where: { stopWhen.contains(CheckBits(rawValue: $0)) })
        return Result(
            shards: shards, found: found, foundLevel: foundLevel, levels: levels, transitions: transitions,
            stoppedAtLimit: stopped, stoppedAtDeadline: pastDeadline, exhausted: exhausted,
            seconds: Self.seconds(clock.now - start),
            bytes: shards.reduce(0) { $0 + $1.bytes })
    }

    /// The moves from the root to the stored state `id`, in the stored (canonical) naming.
    static func path(to id: UInt32, in shards: [Shard]) -> [UInt32] {
        var ids: [UInt32] = []
        var current = id
        while current != UInt32.max {
            ids.append(current)
            // SAFETY: a stored id names a stored state: its local index is below the shard's count.
            current = unsafe shards[shardOf(current)].parents[localOf(current)]
        }
        return ids.reversed()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension Shard {
    @inline(__always) func inboxSet(_ task: Int, _ items: [(key: StateKey, parent: UInt32, move: UInt16)]) {
        // SAFETY: task < tasks; each task writes only its own element (Shard's note).
        unsafe inbox[task] = items
    }
}

/// Runs `body(0..<n)` on up to `threads` cores (all when 0), returning when all are done.
func parallel(threads: Int, _ n: Int, _ body: @Sendable (Int) -> Void) {
    if threads == 1 {
        for index in 0..<n { body(index) }
    } else {
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
    }
}

/// The shards, shared by the tasks of one phase (see ``Shard``'s SAFETY note).
struct ShardList: @unchecked Sendable {
    let shards: [Shard]
    init(_ shards: [Shard]) { self.shards = shards }
}

/// `@safe`: see the SAFETY note; the pointer is valid for one level's `parallel` call.
@safe struct TaskBox: @unchecked Sendable {
    // SAFETY: each task writes only its own index; the coordinator reads after the barrier.
    let pointer: UnsafeMutablePointer<(transitions: Int, found: [UInt8: Found], late: Bool, full: Bool)>
    // SAFETY: stores the pointer only; see the note on `pointer`.
    init(_ pointer: UnsafeMutablePointer<(transitions: Int, found: [UInt8: Found], late: Bool, full: Bool)>) {
        // SAFETY: stores the pointer only; see the note on `pointer`.
        unsafe self.pointer = pointer
    }
    typealias Found = Search.Found
}
