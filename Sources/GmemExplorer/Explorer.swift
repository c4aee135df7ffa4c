import GmemModel

/// An exhaustive, bounded, breadth-first model checker over GmemModel for one guest_memfd
/// design: every sequence of userspace operations in the universe, up to its depth, each
/// distinct state visited once. Because the search goes level by level, the first violation
/// of an invariant it meets is a shortest one.
public struct Explorer: Sendable {
    public let design: Design
    public let universe: Universe

    /// A search of `design` in `universe`; check `universe.problem` first (the search
    /// refuses an invalid universe by searching nothing).
    public init(design: Design, universe: Universe = .standard) {
        self.design = design
        self.universe = universe
    }

    /// Runs the search to the bound. `progress` is called about every `progressEvery` new
    /// states and at least every `progressSeconds`; `stopWhen` ends it early once that
    /// invariant is violated (for a quick trace); `maxStates` ends it once that many distinct
    /// states are stored (the report says `stoppedAtLimit`, and nothing beyond is claimed).
    public func run(
        stopWhen stopInvariant: Invariant? = nil,
        maxStates: Int? = nil,
        progressEvery: Int = 100_000,
        progressSeconds: Double = 1,
        progress: ((ExplorationProgress) -> Void)? = nil
    ) -> ExplorationReport {
        let clock = ContinuousClock()
        let start = clock.now
        var nextReportTime = start + .milliseconds(Int(progressSeconds * 1000))
        let checks = Checks(design: design)
        let invariants = Invariant.allCases.filter { $0.applies(to: design.flavour) }

        let initial = ExplorerState(policy: design.policy)
        var visited: Set<ExplorerState> = [initial]
        // Parent pointers: the state each state was first reached from, and by which step.
        var parent: [Int32] = [-1]
        var via: [ExplorerStep?] = [nil]
        var frontier: [(state: ExplorerState, id: Int32)] = [(initial, 0)]
        var found: [Invariant: (from: Int32, step: ExplorerStep, detail: String)] = [:]
        var handOff: (from: Int32, step: ExplorerStep, detail: String)?
        var transitions = 0
        var depth = 0
        var nextReport = progressEvery
        var stoppedAtLimit = false

        search: while depth < universe.depth, !frontier.isEmpty, universe.problem == nil {
            var next: [(state: ExplorerState, id: Int32)] = []
            for (state, id) in frontier {
                for step in state.steps(in: universe) {
                    var after = state
                    let outcome = after.take(step, in: universe)
                    transitions += 1
                    for invariant in invariants where found[invariant] == nil {
                        if let detail = checks.violation(of: invariant, before: state, step: step, outcome: outcome, after: after) {
                            found[invariant] = (id, step, detail)
                        }
                    }
                    if handOff == nil, let detail = checks.handOff(before: state, step: step, outcome: outcome) {
                        handOff = (id, step, detail)
                    }
                    if let stopInvariant, found[stopInvariant] != nil {
                        depth += 1
                        frontier = next
                        break search
                    }
                    // A refused operation changes nothing (GMEM-SPEC P1): `after` is `state`.
                    if case .failed = outcome { continue }
                    if visited.insert(after).inserted {
                        let newID = Int32(parent.count)
                        parent.append(id)
                        via.append(step)
                        next.append((after, newID))
                        if let maxStates, parent.count >= maxStates {
                            stoppedAtLimit = true
                            depth += 1
                            frontier = next
                            break search
                        }
                        if let progress, parent.count >= nextReport || (transitions & 1023 == 0 && clock.now >= nextReportTime) {
                            nextReport = parent.count + progressEvery
                            nextReportTime = clock.now + .milliseconds(Int(progressSeconds * 1000))
                            progress(ExplorationProgress(design: design, depth: depth + 1, statesExplored: parent.count,
                                                         transitions: transitions, seconds: Self.seconds(clock.now - start)))
                        }
                    }
                }
            }
            frontier = next
            if !next.isEmpty { depth += 1 }
        }

        func steps(to id: Int32) -> [ExplorerStep] {
            var steps: [ExplorerStep] = []
            var current = id
            while current > 0 {
                steps.append(via[Int(current)]!)
                current = parent[Int(current)]
            }
            return steps.reversed()
        }
        func finding(_ record: (from: Int32, step: ExplorerStep, detail: String)) -> Finding {
            Finding(detail: record.detail, trace: Self.replay(steps(to: record.from) + [record.step], design: design, universe: universe))
        }

        let results = Invariant.allCases.map { invariant in
            InvariantResult(invariant: invariant, verdict: !invariant.applies(to: design.flavour) ? .notApplicable
                            : found[invariant].map { .violated(finding($0)) } ?? .holds)
        }
        return ExplorationReport(
            design: design, universe: universe, results: results, handOff: handOff.map(finding),
            statesExplored: parent.count, transitions: transitions, depthReached: depth,
            exhausted: !stoppedAtLimit && frontier.isEmpty && stopInvariant.map { found[$0] == nil } ?? true,
            stoppedAtLimit: stoppedAtLimit, seconds: Self.seconds(clock.now - start))
    }

    /// What a search of this universe would cost, judged before it runs: a pilot search of
    /// the first levels (at most `pilotStates` states), whose growth from level to level is
    /// extrapolated to the depth bound. Growth slows as a space saturates, so the projection
    /// is an over-estimate for deep bounds; an exhausted pilot is exact.
    public func estimate(pilotStates: Int = 20_000) -> SearchEstimate {
        let clock = ContinuousClock()
        let start = clock.now
        var visited: Set<ExplorerState> = [ExplorerState(policy: design.policy)]
        var frontier = Array(visited)
        var levels: [Int] = [1]
        var transitions = 0
        while levels.count <= universe.depth, !frontier.isEmpty, visited.count < pilotStates, universe.problem == nil {
            var next: [ExplorerState] = []
            for state in frontier {
                for step in state.steps(in: universe) {
                    var after = state
                    if case .failed = after.take(step, in: universe) { transitions += 1; continue }
                    transitions += 1
                    if visited.insert(after).inserted { next.append(after) }
                }
            }
            frontier = next
            if !next.isEmpty { levels.append(next.count) }
        }
        let seconds = Self.seconds(clock.now - start)
        let perState = visited.count > 0 ? seconds / Double(visited.count) : 0
        if frontier.isEmpty || levels.count > universe.depth {
            return SearchEstimate(states: visited.count, exact: true, pilotStates: visited.count,
                                  secondsPerState: perState, bytesPerState: Self.bytesPerState)
        }
        // The last level's growth, carried on to the bound.
        let last = Double(levels[levels.count - 1]), before = Double(levels[max(0, levels.count - 2)])
        let growth = max(1, last / max(1, before))
        var total = Double(visited.count), level = last
        for _ in levels.count...universe.depth {
            level *= growth
            total += level
            if total > 1e15 { break }
        }
        return SearchEstimate(states: total >= 1e15 ? Int(1e15) : Int(total), exact: false, pilotStates: visited.count,
                              secondsPerState: perState, bytesPerState: Self.bytesPerState)
    }

    /// A rough figure of the memory one stored state costs (the visited set's entry, the
    /// parent pointer and the step that reached it).
    static let bytesPerState = MemoryLayout<ExplorerState>.stride * 2 + 64 + MemoryLayout<Int32>.stride
        + MemoryLayout<ExplorerStep?>.stride + 1_000

    /// Runs `steps` from the empty process under `design` and says what each returned. A step
    /// the search could not take there (an object that does not exist or whose fd is closed,
    /// or beyond `universe`) is reported as `EBADF` and skipped, as the kernel would answer a
    /// stale fd.
    public static func replay(_ steps: [ExplorerStep], design: Design, universe: Universe = .standard) -> [TraceStep] {
        var state = ExplorerState(policy: design.policy)
        return steps.map { step in
            // Only the steps the search could take here: each names objects whose fds are open.
            guard state.steps(in: universe).contains(step) else {
                return TraceStep(step: step, outcome: "EBADF (no such object)", modelOutcome: .failed(.EBADF))
            }
            let outcome = state.take(step, in: universe)
            return TraceStep(step: step, outcome: outcome.plainWords, modelOutcome: outcome)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
