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

    /// Runs the search to the bound: breadth-first over canonical compact states (no fd
    /// numbers, no kernel ids; one state per symmetry class unless `symmetry` is false), on
    /// `threads` cores (0: all, 1: this thread). `stopWhen` ends it after the level where that
    /// invariant is first violated (for a quick trace); `maxStates` ends it once that many
    /// distinct states are stored (the report says `stoppedAtLimit`, and nothing beyond is
    /// claimed); `maxSeconds` ends it at that wall time, dropping the level it was expanding
    /// (`stoppedAtDeadline`). `progress` is called after a level at most every `progressSeconds`.
    public func run(
        stopWhen stopInvariant: Invariant? = nil,
        maxStates: Int? = nil,
        maxSeconds: Double? = nil,
        threads: Int = 0,
        symmetry: Bool = true,
        progressSeconds: Double = 1,
        progress: (@Sendable (ExplorationProgress) -> Void)? = nil
    ) -> ExplorationReport {
        let design = self.design
        let invariants = Invariant.allCases.filter { $0.applies(to: design.flavour) }
        let rules = CompactRules(policy: design.policy, universe: universe, choices: universe.choices)
        let canon = Canonicalizer(rules: rules, symmetry: symmetry)
        let wanted = invariants.reduce(CheckBits.handOff) { $0.union(.of($1)) }
        guard universe.problem == nil else {
            return ExplorationReport(
                design: design, universe: universe,
                results: Invariant.allCases.map {
                    InvariantResult(invariant: $0, verdict: $0.applies(to: design.flavour) ? .holds : .notApplicable)
                },
                handOff: nil, statesExplored: 1, transitions: 0, depthReached: 0, exhausted: false,
                stoppedAtLimit: false,
                seconds: 0, bytes: 0, levels: [1], symmetry: symmetry)
        }
        let search = Search(rules: rules, canon: canon, flavour: design.flavour, wanted: wanted)
        let deadline = maxSeconds.map { ContinuousClock.now + .nanoseconds(Int64(max(0, min($0, 1e6)) * 1e9)) }
        let result = search.run(
            threads: threads, stopWhen: stopInvariant.map { CheckBits.of($0) } ?? [], maxStates: maxStates,
            deadline: deadline,
            progress: progress.map(Self.adapt(design)), progressSeconds: progressSeconds)

        func finding(_ bit: CheckBits) -> Finding? {
            guard let record = result.found[bit.rawValue] else { return nil }
            return trace(to: record, bit: bit, shards: result.shards, rules: rules, canon: canon)
        }
        let results = Invariant.allCases.map { invariant in
            InvariantResult(
                invariant: invariant,
                verdict: !invariant.applies(to: design.flavour)
                    ? .notApplicable
                    : finding(.of(invariant)).map { .violated($0) } ?? .holds)
        }
        var report = ExplorationReport(
            design: design, universe: universe, results: results, handOff: finding(.handOff),
            statesExplored: result.levels.reduce(0, +), transitions: result.transitions,
            depthReached: result.levels.count - 1,
            exhausted: result.exhausted, stoppedAtLimit: result.stoppedAtLimit, seconds: result.seconds,
            bytes: result.bytes,
            levels: result.levels, symmetry: symmetry)
        report.stoppedAtDeadline = result.stoppedAtDeadline
        return report
    }

    static func adapt(_ design: Design) -> (@escaping @Sendable (ExplorationProgress) -> Void) ->
        @Sendable (Int, Int, Int, Double, Int) -> Void
    {
        { callback in
            { depth, states, transitions, seconds, bytes in
                callback(
                    ExplorationProgress(
                        design: design, depth: depth, statesExplored: states, transitions: transitions,
                        seconds: seconds, bytes: bytes))
            }
        }
    }

    /// The concrete trace behind a stored finding: the stored path names objects by their
    /// canonical names, so each step is found again from the concrete state (the first move
    /// whose successor is the next stored state), then the violating move; the trace is
    /// then replayed on GmemModel for its outcomes.
    func trace(to record: Search.Found, bit: CheckBits, shards: [Shard], rules: CompactRules, canon: Canonicalizer)
        -> Finding
    {
        let path = Search.path(to: record.parent, in: shards)
        var state = CompactState()
        var moves: [Move] = []
        var outcomes: [CompactOutcome] = []
        for id in path.dropFirst() {
            // SAFETY: `id` is on a stored path, so its local index is below its shard's count.
            let target = unsafe shards[Search.shardOf(id)].keys[Search.localOf(id)]
            var next: (Move, CompactState, CompactOutcome)?
            rules.forEachMove(state) { move in
                guard next == nil else { return }
                var after = state
                let outcome = rules.apply(move, to: &after)
                if outcome != .refused, canon.canonical(after) == target { next = (move, after, outcome) }
            }
            guard let (move, after, outcome) = next else {
                preconditionFailure(
                    "explorer: a stored path cannot be followed (canonical form is not a function of the state)")
            }
            moves.append(move)
            outcomes.append(outcome)
            state = after
        }
        var last: (Move, CompactState, CompactOutcome)?
        rules.forEachMove(state) { move in
            guard last == nil else { return }
            var after = state
            let outcome = rules.apply(move, to: &after)
            if rules.check(state, move, outcome, after, flavour: design.flavour, wanted: bit).contains(bit) {
                last = (move, after, outcome)
            }
        }
        guard let (move, after, outcome) = last else {
            preconditionFailure("explorer: a stored violation cannot be found again")
        }
        moves.append(move)
        outcomes.append(outcome)
        let detail = Self.detail(
            bit, before: state, move: move, outcome: outcome, after: after, rules: rules, flavour: design.flavour)
        return Finding(
            detail: detail,
            trace: Self.traceSteps(moves.map(\.step), outcomes: outcomes, design: design, universe: universe))
    }

    /// The trace's outcomes: GmemModel's (with its fd numbers and errnos) where the design's
    /// compact semantics agrees on what happened, which under the kernel's choices is every
    /// step (the test `compactMatchesModel`); the compact outcome where a modelling choice
    /// GmemModel does not make changes the answer.
    static func traceSteps(_ steps: [ExplorerStep], outcomes: [CompactOutcome], design: Design, universe: Universe)
        -> [TraceStep]
    {
        let model = replay(steps, design: design, universe: universe)
        return zip(model, outcomes).map { pair in
            let (traced, compact) = pair
            if CompactOutcome(traced.modelOutcome) == compact { return traced }
            let outcome = compact.modelOutcome(for: traced.step, universe: universe)
            return TraceStep(step: traced.step, outcome: outcome.plainWords, modelOutcome: outcome)
        }
    }

    /// What the last step did wrong, in words.
    static func detail(
        _ bit: CheckBits, before: CompactState, move: Move, outcome: CompactOutcome, after: CompactState,
        rules: CompactRules, flavour: Design.Flavour
    ) -> String {
        let vm = ExplorerStep.vmName
        let file = ExplorerStep.fileName
        switch bit {
        case .exposure:
            guard case .read(let value) = outcome else { return "a guest read another VM's secret" }
            let writer = Int(value - 2)
            return
                "VM \(vm(Int(move.vm)))'s guest read \(hex(ExplorerStep.secret(ofVM: writer))), the secret VM \(vm(writer))'s guest wrote"
        case .useAfterFree:
            var f = 0
            for candidate in 0..<Int(after.files)
            where after.fileAlive(candidate) && after.owner[candidate] != 0
                && rules.liveVM(named: after.owner[candidate], in: after) < 0
            {
                f = candidate
                break
            }
            return "\(file(f)) is alive but its VM pointer (gmem->kvm) names a destroyed VM: "
                + "the file does not pin the VM, yet must remember it to refuse every other VM"
        case .confidential:
            if flavour == .snp {
                var w = 0
                for candidate in 0..<Int(after.vms)
                where !after.vmAlive(candidate) && rules.secretPages(of: candidate, in: after) > 0 {
                    w = candidate
                    break
                }
                return
                    "VM \(vm(w)) is destroyed but \(rules.secretPages(of: w, in: after)) page(s) of its memory are still assigned to it: "
                    + "its ASID cannot be reused"
            }
            var w = 0
            for candidate in 0..<Int(before.vms)
            where !before.vmAlive(candidate)
                && rules.secretPages(of: candidate, in: after) < rules.secretPages(of: candidate, in: before)
            {
                w = candidate
                break
            }
            return
                "\(rules.secretPages(of: w, in: before) - rules.secretPages(of: w, in: after)) page(s) of destroyed VM \(vm(w)) had to be reclaimed "
                + "without its VM (TDX reclaim needs the TD's TDMR)"
        case .deletion:
            for f in 0..<Int(after.files) {
                func allocated(_ s: CompactState) -> Int {
                    (0..<rules.universe.pagesPerFile).filter { s.page[f * 8 + $0] != 0 }.count
                }
                if after.fileAlive(f), rules.pages(of: f, in: before) != rules.pages(of: f, in: after) {
                    return
                        "deleting the memslot freed \(max(0, allocated(before) - allocated(after))) page(s) of \(file(f)), which is still open"
                }
                if !after.fileAlive(f), before.fileAlive(f) {
                    return
                        "deleting the memslot freed \(file(f)) (its last reference) and its \(allocated(before)) page(s) of data"
                }
            }
            return "deleting the memslot destroyed data"
        case .quiescence:
            let vms = (0..<Int(after.vms)).filter { after.vmAlive($0) }.count
            let files = (0..<Int(after.files)).filter { after.fileAlive($0) }.count
            let pages = (0..<Int(after.files)).reduce(0) { sum, f in
                sum + (0..<rules.universe.pagesPerFile).filter { after.page[f * 8 + $0] != 0 }.count
            }
            return "every fd is closed, yet \(vms) VM(s), \(files) file(s) and \(pages) page(s) remain"
        default:
            return
                "\(file(Int(move.file))), created from VM \(vm(before.creator(Int(move.file)))), is now bound into VM \(vm(Int(move.vm)))"
        }
    }

    /// What a search of this universe would cost, judged before it runs: a pilot search of
    /// the first levels (at most `pilotStates` states, and at most `maxSeconds` of wall time:
    /// a level is dropped unfinished at the deadline), whose growth from level to level is
    /// extrapolated to the depth bound. Growth slows as a space saturates, so the projection
    /// is an over-estimate for deep bounds; an exhausted pilot is exact. `progress` hears
    /// about the pilot after each level, at most every quarter second, and once at its end.
    public func estimate(
        pilotStates: Int = 200_000, maxSeconds: Double = 2, symmetry: Bool = true,
        progress: (@Sendable (ExplorationProgress) -> Void)? = nil
    ) -> SearchEstimate {
        let pilot = run(
            maxStates: pilotStates, maxSeconds: maxSeconds, threads: 1, symmetry: symmetry,
            progressSeconds: 0.25, progress: progress)
        let levels = pilot.levels
        let perState = pilot.statesExplored > 0 ? pilot.seconds / Double(pilot.statesExplored) : 0
        let bytesPerState = pilot.statesExplored > 0 ? max(48, pilot.bytes / pilot.statesExplored) : 48
        var estimate: SearchEstimate
        if !pilot.stoppedAtLimit, !pilot.stoppedAtDeadline {
            estimate = SearchEstimate(
                states: pilot.statesExplored, exact: true, pilotStates: pilot.statesExplored,
                secondsPerState: perState, bytesPerState: bytesPerState)
        } else {
            // The last complete level's growth, carried on to the bound (a pilot stopped at its
            // state limit has one partial level last; one stopped at its deadline has none).
            let complete = pilot.stoppedAtDeadline ? levels[...] : levels.dropLast()
            let last = Double(complete.last ?? 1)
            let before = Double(complete.dropLast().last ?? 1)
            let growth = max(1, last / max(1, before))
            var total = Double(complete.reduce(0, +))
            var level = last
            if complete.count <= universe.depth {
                for _ in complete.count...universe.depth {
                    level *= growth
                    total += level
                    if total > 1e15 { break }
                }
            }
            estimate = SearchEstimate(
                states: total >= 1e15 ? 1_000_000_000_000_000 : max(pilot.statesExplored, Int(total)),
                exact: false, pilotStates: pilot.statesExplored, secondsPerState: perState,
                bytesPerState: bytesPerState)
        }
        estimate.timeLimited = pilot.stoppedAtDeadline
        estimate.pilotSeconds = pilot.seconds
        // The pilot's last word, whatever the progress interval let through before.
        progress?(
            ExplorationProgress(
                design: design, depth: pilot.depthReached, statesExplored: pilot.statesExplored,
                transitions: pilot.transitions, seconds: pilot.seconds, bytes: pilot.bytes))
        return estimate
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
