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
    /// states; `stopWhen` ends it early once that invariant is violated (for a quick trace).
    public func run(
        stopWhen stopInvariant: Invariant? = nil,
        progressEvery: Int = 100_000,
        progress: ((ExplorationProgress) -> Void)? = nil
    ) -> ExplorationReport {
        let clock = ContinuousClock()
        let start = clock.now
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
                        if let progress, parent.count >= nextReport {
                            nextReport += progressEvery
                            progress(ExplorationProgress(design: design, depth: depth + 1, statesExplored: parent.count,
                                                         seconds: Self.seconds(clock.now - start)))
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
            exhausted: frontier.isEmpty && stopInvariant.map { found[$0] == nil } ?? true,
            seconds: Self.seconds(clock.now - start))
    }

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
