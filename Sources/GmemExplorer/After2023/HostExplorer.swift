import Synchronization

/// A shortest trace that breaks an invariant of the universe after 2023.
public struct HostFinding: Hashable, Sendable {
    /// What the last step did wrong, in words.
    public let detail: String
    /// The steps from an empty process, and what each returned under the design.
    public let steps: [HostStep]
    public let outcomes: [HostOutcome]
}

/// Everything one search of a design after 2023 found.
public struct HostReport: Hashable, Sendable {
    public let design: HostDesign
    public let universe: HostUniverse
    /// A shortest violation per invariant, or nil where the invariant holds to the bound.
    public let findings: [HostInvariant: HostFinding]
    /// Distinct states stored (including the empty process).
    public let states: Int
    /// Transitions checked.
    public let transitions: Int
    /// Whether the space was exhausted before the depth bound.
    public let exhausted: Bool
    /// Whether the search stopped at its first violation (so other invariants were not
    /// searched to the bound).
    public let stoppedEarly: Bool
    public let seconds: Double

    public var allHold: Bool { findings.isEmpty }
    public func finding(_ invariant: HostInvariant) -> HostFinding? { findings[invariant] }
}

/// The exhaustive, bounded, breadth-first search of one design after 2023: every sequence
/// of operations in the universe up to its depth, each distinct state stored once, so the
/// first violation of an invariant it meets is a shortest one.
public struct HostExplorer: Sendable {
    public let design: HostDesign
    public let universe: HostUniverse

    public init(design: HostDesign, universe: HostUniverse = .standard) {
        self.design = design
        self.universe = universe
    }

    /// Runs the search. With `stopAtFirstViolation` it ends after the level where any
    /// invariant is first broken (the derivation only needs to know that one is).
    public func run(stopAtFirstViolation: Bool = false) -> HostReport {
        let clock = ContinuousClock()
        let start = clock.now
        let rules = HostRules(design: design, universe: universe)
        guard universe.problem == nil else {
            return HostReport(
                design: design, universe: universe, findings: [:], states: 1, transitions: 0,
                exhausted: false, stoppedEarly: false, seconds: 0)
        }
        var index: [HostState: Int32] = [HostState(): 0]
        var states = [HostState()]
        var parents: [Int32] = [-1]
        var moves: [HostStep?] = [nil]
        var found: [HostInvariant: (parent: Int32, step: HostStep)] = [:]
        var transitions = 0
        var levelStart = 0
        var depth = 0
        var stopped = false
        while depth < universe.depth, levelStart < states.count {
            let levelEnd = states.count
            for id in levelStart..<levelEnd {
                let state = states[id]
                for step in rules.steps(in: state) {
                    var after = state
                    let outcome = rules.apply(step, to: &after)
                    transitions += 1
                    let broken = rules.check(state, step, outcome, after)
                    if broken != 0 {
                        for invariant in HostInvariant.allCases
                        where broken & invariant.bit != 0 && found[invariant] == nil {
                            found[invariant] = (Int32(id), step)
                        }
                    }
                    if outcome.changesNothing || after == state || index[after] != nil { continue }
                    index[after] = Int32(states.count)
                    states.append(after)
                    parents.append(Int32(id))
                    moves.append(step)
                }
            }
            levelStart = levelEnd
            depth += 1
            if stopAtFirstViolation, !found.isEmpty {
                stopped = true
                break
            }
        }
        var findings: [HostInvariant: HostFinding] = [:]
        for (invariant, record) in found {
            var path: [HostStep] = [record.step]
            var current = record.parent
            while current > 0 {
                path.append(moves[Int(current)]!)
                current = parents[Int(current)]
            }
            path.reverse()
            findings[invariant] = trace(path, invariant: invariant, rules: rules)
        }
        let elapsed = clock.now - start
        return HostReport(
            design: design, universe: universe, findings: findings, states: states.count,
            transitions: transitions, exhausted: !stopped && levelStart >= states.count, stoppedEarly: stopped,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// Replays `steps` from the empty process and explains the last one.
    func trace(_ steps: [HostStep], invariant: HostInvariant, rules: HostRules) -> HostFinding {
        var state = HostState()
        var outcomes: [HostOutcome] = []
        var detail = invariant.statement
        for (n, step) in steps.enumerated() {
            let before = state
            let outcome = rules.apply(step, to: &state)
            outcomes.append(outcome)
            if n == steps.count - 1 { detail = rules.detail(invariant, before, step, outcome, state) }
        }
        return HostFinding(detail: detail, steps: steps, outcomes: outcomes)
    }

    /// Runs `steps` from the empty process under `design` and says what each returned; a step
    /// the search could not take there (beyond the universe, or naming a closed fd) is
    /// reported as `EBADF` and skipped.
    public static func replay(_ steps: [HostStep], design: HostDesign, universe: HostUniverse = .standard)
        -> [HostOutcome]
    {
        let rules = HostRules(design: design, universe: universe)
        // Offered as in a design with linking (so a kernel without it answers `link` itself).
        var linking = design
        linking.link = linking.link ?? LinkPrecondition()
        let offered = HostRules(design: linking, universe: universe)
        var state = HostState()
        return steps.map { step in
            guard offered.steps(in: state).contains(step) else { return .refused("EBADF") }
            return rules.apply(step, to: &state)
        }
    }

    /// Whether `steps`, taken under `design`, break `invariant` at their last step.
    public static func confirms(
        _ steps: [HostStep], design: HostDesign, invariant: HostInvariant,
        universe: HostUniverse = .standard
    ) -> Bool {
        let rules = HostRules(design: design, universe: universe)
        var state = HostState()
        for (n, step) in steps.enumerated() {
            guard rules.steps(in: state).contains(step) else { return false }
            let before = state
            let outcome = rules.apply(step, to: &state)
            if n == steps.count - 1 { return rules.check(before, step, outcome, state) & invariant.bit != 0 }
        }
        return false
    }
}

/// The derivation of the weakest link precondition: every conjunction of
/// ``LinkPredicate``s is a design; the search decides which keep every invariant, and the
/// minimal ones (no conjunct can be dropped) are the answer. Adding a conjunct only removes
/// links, so a superset of a safe precondition is safe and a subset of an unsafe one is
/// unsafe: candidates are checked by size, skipping supersets of preconditions already safe.
public struct LinkDerivation: Hashable, Sendable {
    /// The minimal safe preconditions (each: no proper subset is safe).
    public let minimal: [LinkPrecondition]
    /// For each precondition one conjunct short of a minimal one (each maximal unsafe
    /// precondition found on the way), the shortest attack that breaks it.
    public let weaker: [(precondition: LinkPrecondition, invariant: HostInvariant, finding: HostFinding)]
    /// Candidates searched.
    public let searched: Int
    /// Candidates found unsafe by replaying an attack found for a weaker one.
    public let replayed: Int
    /// Candidates in all.
    public let candidates: Int
    /// Reports of the minimal designs, searched to the bound.
    public let reports: [HostReport]
    public let universe: HostUniverse
    public let seconds: Double

    public static func == (a: Self, b: Self) -> Bool {
        a.minimal == b.minimal && a.searched == b.searched && a.universe == b.universe
            && a.weaker.map(\.precondition) == b.weaker.map(\.precondition)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(minimal)
        hasher.combine(universe)
    }

    /// Derives the minimal preconditions in `universe` over `predicates`.
    public static func derive(
        universe: HostUniverse = .standard,
        predicates: [LinkPredicate] = LinkPredicate.allCases
    ) -> LinkDerivation {
        let clock = ContinuousClock()
        let start = clock.now
        let bits = predicates.map(\.bit)
        var candidates: [LinkPrecondition] = []
        for combination in 0..<(1 << bits.count) {
            var mask: UInt8 = 0
            for (n, bit) in bits.enumerated() where combination & (1 << n) != 0 { mask |= bit }
            candidates.append(LinkPrecondition(mask: mask))
        }
        candidates.sort { ($0.mask.nonzeroBitCount, $0.mask) < ($1.mask.nonzeroBitCount, $1.mask) }
        var safe: [LinkPrecondition] = []
        var unsafe: [LinkPrecondition: (HostInvariant, HostFinding)] = [:]
        var attacks: [(HostInvariant, HostFinding)] = []
        var searched = 0
        var replayedCount = 0
        // By size: a candidate a known attack still breaks is unsafe without a search (the
        // attack is replayed under it); the others of one size are searched in parallel.
        for size in 0...bits.count {
            var open: [LinkPrecondition] = []
            for candidate in candidates where candidate.mask.nonzeroBitCount == size {
                if safe.contains(where: { candidate.isSuperset(of: $0) }) { continue }
                let design = HostDesign(link: candidate)
                if let attack = attacks.first(where: {
                    HostExplorer.confirms($0.1.steps, design: design, invariant: $0.0, universe: universe)
                }) {
                    let replayed = HostExplorer(design: design, universe: universe)
                        .trace(
                            attack.1.steps, invariant: attack.0, rules: HostRules(design: design, universe: universe))
                    unsafe[candidate] = (attack.0, replayed)
                    replayedCount += 1
                } else {
                    open.append(candidate)
                }
            }
            let results = Mutex<[LinkPrecondition: (HostInvariant, HostFinding)?]>([:])
            let pending = open
            parallel(threads: 0, pending.count) { n in
                let report = HostExplorer(design: HostDesign(link: pending[n]), universe: universe).run(
                    stopAtFirstViolation: true)
                let first = HostInvariant.allCases.lazy.compactMap { i in report.finding(i).map { (i, $0) } }.first
                results.withLock { $0[pending[n]] = .some(first) }
            }
            searched += pending.count
            let decided = results.withLock { $0 }
            for candidate in pending {
                if let found = decided[candidate] ?? nil {
                    unsafe[candidate] = found
                    attacks.append(found)
                } else {
                    safe.append(candidate)
                }
            }
        }
        // The unsafe preconditions one conjunct short of a minimal safe one (why each conjunct
        // is needed), each with a shortest attack (searched again where a replay decided it).
        var short: [LinkPrecondition] = []
        for minimal in safe {
            for predicate in minimal.predicates {
                let less = LinkPrecondition(mask: minimal.mask & ~predicate.bit)
                if unsafe[less] != nil, !short.contains(less) { short.append(less) }
            }
        }
        let shortest = Mutex<[LinkPrecondition: (HostInvariant, HostFinding)]>([:])
        let fullReports = Mutex<[LinkPrecondition: HostReport]>([:])
        let minimal = safe
        let weakerOnes = short
        parallel(threads: 0, weakerOnes.count + minimal.count) { n in
            if n < weakerOnes.count {
                let report = HostExplorer(design: HostDesign(link: weakerOnes[n]), universe: universe).run(
                    stopAtFirstViolation: true)
                if let first = HostInvariant.allCases.lazy.compactMap({ i in report.finding(i).map { (i, $0) } }).first
                {
                    shortest.withLock { $0[weakerOnes[n]] = first }
                }
            } else {
                let condition = minimal[n - weakerOnes.count]
                let report = HostExplorer(design: HostDesign(link: condition), universe: universe).run()
                fullReports.withLock { $0[condition] = report }
            }
        }
        let found = shortest.withLock { $0 }
        let weaker = weakerOnes.compactMap { less in found[less].map { (less, $0.0, $0.1) } }
        let reports = fullReports.withLock { all in minimal.map { all[$0]! } }
        let elapsed = clock.now - start
        return LinkDerivation(
            minimal: safe, weaker: weaker, searched: searched, replayed: replayedCount,
            candidates: candidates.count,
            reports: reports, universe: universe,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
