import GmemModel

/// The compact semantics held against GmemModel: the search runs on ``CompactState``, a
/// restatement of the model's rules; this walks both side by side over every reachable state
/// of a universe and reports every transition where they disagree.
public struct ModelAgreement: Sendable {
    /// Distinct states walked (no symmetry: each state as GmemModel reaches it).
    public let states: Int
    /// Transitions compared.
    public let transitions: Int
    /// What disagreed, one line each (empty when the two semantics agree).
    public let disagreements: [String]
}

extension Explorer {
    /// Walks every state of `universe` (kernel choices; GmemModel makes no others) reachable
    /// under `design`, breadth-first, taking each step on GmemModel and on the compact
    /// semantics: the steps offered, each outcome, the abstract state after, and every
    /// invariant's verdict on the transition must be the same. Stops after `limit`
    /// disagreements.
    public static func agreement(design: Design, universe: Universe, limit: Int = 10) -> ModelAgreement {
        var universe = universe
        universe.choices = .kernel
        let rules = CompactRules(policy: design.policy, universe: universe, choices: .kernel)
        let canon = Canonicalizer(rules: rules, symmetry: false)
        let checks = Checks(design: design)
        let invariants = Invariant.allCases.filter { $0.applies(to: design.flavour) }
        var seen: Set<StateKey> = []
        var frontier: [(model: ExplorerState, compact: CompactState)] = [
            (ExplorerState(policy: design.policy), CompactState())
        ]
        seen.insert(canon.pack(CompactState()))
        var disagreements: [String] = []
        var transitions = 0
        var depth = 0
        func note(_ line: String) { if disagreements.count < limit { disagreements.append(line) } }

        if abstraction(of: frontier[0].model, rules: rules) != frontier[0].compact { note("the empty process differs") }
        while depth < universe.depth, !frontier.isEmpty, disagreements.count < limit {
            var next: [(model: ExplorerState, compact: CompactState)] = []
            for (model, compact) in frontier {
                let steps = model.steps(in: universe)
                var moves: [Move] = []
                rules.forEachMove(compact) { moves.append($0) }
                if steps != moves.map(\.step) {
                    note("depth \(depth): GmemModel offers \(steps.count) steps, the compact semantics \(moves.count)")
                    continue
                }
                for move in moves {
                    transitions += 1
                    var modelAfter = model
                    let modelOutcome = modelAfter.take(move.step, in: universe)
                    var compactAfter = compact
                    let compactOutcome = rules.apply(move, to: &compactAfter)
                    let trace = "after \(depth) steps, \(move.step)"
                    if CompactOutcome(modelOutcome) != compactOutcome {
                        note("\(trace): GmemModel \(modelOutcome), compact \(compactOutcome)")
                        continue
                    }
                    var abstracted = abstraction(of: modelAfter, rules: rules)
                    abstracted.data = compactAfter.data  // the data owner is not visible outside GmemModel
                    if abstracted != compactAfter {
                        note("\(trace): states differ\n  GmemModel \(abstracted)\n  compact   \(compactAfter)")
                        continue
                    }
                    let broken = rules.check(
                        compact, move, compactOutcome, compactAfter, flavour: design.flavour,
                        wanted: invariants.reduce(CheckBits.handOff) { $0.union(.of($1)) })
                    for invariant in invariants {
                        let old =
                            checks.violation(
                                of: invariant, before: model, step: move.step, outcome: modelOutcome, after: modelAfter)
                            != nil
                        if old != broken.contains(.of(invariant)) {
                            note(
                                "\(trace): \(invariant) is \(old ? "broken" : "kept") on GmemModel, \(old ? "kept" : "broken") in the compact semantics"
                            )
                        }
                    }
                    if (checks.handOff(before: model, step: move.step, outcome: modelOutcome) != nil)
                        != broken.contains(.handOff)
                    {
                        note("\(trace): the hand-off answers differ")
                    }
                    if compactOutcome != .refused, seen.insert(canon.pack(compactAfter)).inserted {
                        next.append((modelAfter, compactAfter))
                    }
                }
            }
            frontier = next
            depth += 1
        }
        return ModelAgreement(states: seen.count, transitions: transitions, disagreements: disagreements)
    }

    /// What the compact state of a GmemModel state is.
    static func abstraction(of state: ExplorerState, rules: CompactRules) -> CompactState {
        var s = CompactState()
        s.vms = UInt8(state.vms.count)
        s.files = UInt8(state.files.count)
        func vmIndex(machine: Int) -> Int? {
            state.vms.indices.first { state.vms[$0].alive && state.vms[$0].machine == machine }
        }
        for (v, record) in state.vms.enumerated() where record.alive {
            s.vm[v] = (record.fd != nil ? CompactState.fdOpen : 0) | CompactState.alive
            for slot in state.kernel.memorySlots(ofVM: record.machine) {
                let index = v * 4 + Int(slot.slot)
                if let id = slot.guestMemfd,
                    let f = state.files.indices.first(where: { state.files[$0].alive && state.files[$0].id == id })
                {
                    s.slot[index] = 2 + UInt8(f)
                } else {
                    s.slot[index] = 1
                }
            }
        }
        for (f, record) in state.files.enumerated() where record.alive {
            s.file[f] = (record.fd != nil ? CompactState.fdOpen : 0) | CompactState.alive | UInt8(record.creator) << 4
            switch state.kernel.owner(ofGuestMemfd: record.id) {
            case .some(.machine(let machine)): s.owner[f] = vmIndex(machine: machine).map { 1 + UInt8($0) } ?? 99
            case .some(.destroyedMachine): s.owner[f] = CompactState.dangling
            case .some(.none), nil: s.owner[f] = 0
            }
            if let pages = state.kernel.contents(ofGuestMemfd: record.id) {
                for p in 0..<rules.universe.pagesPerFile {
                    if let token = pages.value(at: UInt64(p)) {
                        s.page[f * 8 + p] = token == 0 ? 1 : ExplorerStep.writer(of: token).map { 2 + UInt8($0) } ?? 99
                    }
                }
            }
        }
        return s
    }
}

extension Explorer {
    /// Whether `steps`, taken on GmemModel under `design`, break `invariant` (nil: hand off a
    /// file to a second VM) at the last step: how a counterexample found elsewhere (Spin's
    /// trail) is confirmed on the model `gmem check` holds against the kernel.
    public static func confirms(
        _ steps: [ExplorerStep], design: Design, invariant: Invariant?, universe: Universe = .standard
    ) -> Bool {
        var state = ExplorerState(policy: design.policy)
        let checks = Checks(design: design)
        for (index, step) in steps.enumerated() {
            guard state.steps(in: universe).contains(step) else { return false }
            let before = state
            let outcome = state.take(step, in: universe)
            if index == steps.count - 1 {
                if let invariant {
                    return checks.violation(of: invariant, before: before, step: step, outcome: outcome, after: state)
                        != nil
                }
                return checks.handOff(before: before, step: step, outcome: outcome) != nil
            }
        }
        return false
    }
}
