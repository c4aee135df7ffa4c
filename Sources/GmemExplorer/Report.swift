import GmemModel

/// One step of a trace and what it returned under the design explored.
public struct TraceStep: Hashable, Sendable, CustomStringConvertible {
    public let step: ExplorerStep
    /// What the step returned, in plain words ("ok", "EINVAL", "read 0x5ec1").
    public let outcome: String
    /// The model's raw outcome.
    public let modelOutcome: ModelOutcome

    public var description: String { "\(step) → \(outcome)" }
}

/// A shortest sequence of operations from the empty process that breaks an invariant (or, for
/// the reachability question, that hands a file to a second VM).
public struct Finding: Hashable, Sendable {
    /// What the last step did wrong, in words.
    public let detail: String
    /// The steps, from an empty process; the last one is where it happens.
    public let trace: [TraceStep]

    public init(detail: String, trace: [TraceStep]) {
        self.detail = detail
        self.trace = trace
    }
}

/// The search's answer for one invariant.
public enum Verdict: Hashable, Sendable {
    /// No reachable state or step within the bound breaks it.
    case holds
    /// Broken; the finding is a shortest counterexample.
    case violated(Finding)
    /// The invariant is not checked in this flavour.
    case notApplicable

    public var finding: Finding? { if case .violated(let finding) = self { finding } else { nil } }
}

/// An invariant and its verdict for one design.
public struct InvariantResult: Hashable, Sendable {
    public let invariant: Invariant
    public let verdict: Verdict
}

/// Everything one search found.
public struct ExplorationReport: Hashable, Sendable {
    public let design: Design
    public let universe: Universe
    public let results: [InvariantResult]
    /// A shortest trace that binds a file into a VM other than its creator, or nil when no
    /// sequence within the bound does.
    public let handOff: Finding?
    /// Distinct states visited (including the empty process).
    public let statesExplored: Int
    /// Steps taken (transitions checked), including those to states already visited.
    public let transitions: Int
    /// The deepest level that had new states.
    public let depthReached: Int
    /// Whether the search ran out of new states before the depth bound.
    public let exhausted: Bool
    /// Whether the search stopped at its `maxStates` limit (so "holds" means nothing beyond
    /// the states it stored).
    public let stoppedAtLimit: Bool
    /// Wall time of the search, in seconds.
    public let seconds: Double
    /// Memory the stored states took (keys, parent pointers, moves, hash tables), in bytes.
    public let bytes: Int
    /// New states per level (level 0 is the empty process).
    public let levels: [Int]
    /// Whether the search stopped at its deadline (only its complete levels are reported).
    public internal(set) var stoppedAtDeadline = false
    /// Whether states were reduced by symmetry (one per class of renamed VMs, files, memslots).
    public let symmetry: Bool

    public var statesPerSecond: Double { seconds > 0 ? Double(statesExplored) / seconds : 0 }

    /// The verdict for `invariant`.
    public func verdict(for invariant: Invariant) -> Verdict {
        results.first { $0.invariant == invariant }?.verdict ?? .notApplicable
    }

    /// Whether every invariant that applies holds.
    public var allHold: Bool { results.allSatisfy { $0.verdict.finding == nil } }
}

/// Progress of a running search, reported every so many states.
public struct ExplorationProgress: Sendable {
    public let design: Design
    public let depth: Int
    public let statesExplored: Int
    /// Steps taken so far.
    public let transitions: Int
    public let seconds: Double
    /// Memory the stored states take so far, in bytes.
    public let bytes: Int

    public var statesPerSecond: Double { seconds > 0 ? Double(statesExplored) / seconds : 0 }
}

/// How big a search looks before it runs (``Explorer/estimate(pilotStates:maxSeconds:symmetry:progress:)``).
public struct SearchEstimate: Hashable, Sendable {
    /// Whether the pilot ran out of time before it stored its states (the projection then
    /// rests on the levels it completed in that time).
    public internal(set) var timeLimited = false
    /// Wall time of the pilot, in seconds.
    public internal(set) var pilotSeconds = 0.0
    /// Distinct states the search is expected to store (exact when `exact`).
    public let states: Int
    /// Whether the pilot search exhausted the space, so `states` is the count.
    public let exact: Bool
    /// States the pilot stored.
    public let pilotStates: Int
    /// Seconds one state cost in the pilot.
    public let secondsPerState: Double
    /// Bytes one stored state costs, roughly.
    public let bytesPerState: Int

    /// The projected wall time, in seconds.
    public var seconds: Double { Double(states) * secondsPerState }
    /// The projected memory, in bytes.
    public var bytes: Double { Double(states) * Double(bytesPerState) }
}

extension ModelOutcome {
    /// The outcome in plain words.
    var plainWords: String {
        switch self {
        case .done: return "ok"
        case .descriptor(let fd): return "ok (fd \(fd))"
        case .address(let address): return "ok (\(hex(address)))"
        case .value(let value): return "host read \(hex(value))"
        case .signal(let signal): return signal.description
        case .failed(let errno): return errno.description
        case .guest(let access):
            switch access {
            case .value(let token):
                if let writer = ExplorerStep.writer(of: token) {
                    return "read \(hex(token)) (VM \(ExplorerStep.vmName(writer))'s secret)"
                }
                return "read \(hex(token))"
            case .written: return "written"
            case .memoryFault(let fault): return "memory-fault exit at gpa \(hex(fault.guestPhysicalAddress))"
            case .mmio(let address, _): return "MMIO exit at gpa \(hex(address)) (no memory there)"
            case .userspaceFault: return "EFAULT"
            }
        }
    }
}

extension CompactOutcome {
    /// What GmemModel's outcome means in the compact semantics.
    init(_ outcome: ModelOutcome) {
        switch outcome {
        case .failed: self = .refused
        case .guest(.value(let token)):
            self = .read(token == 0 ? 0 : ExplorerStep.writer(of: token).map { 2 + UInt8($0) } ?? 255)
        case .guest(.written): self = .written
        case .guest(.mmio): self = .mmio
        case .guest(.memoryFault): self = .fault
        case .guest(.userspaceFault): self = .refused
        case .done, .descriptor, .address, .value, .signal: self = .ok
        }
    }

    /// A GmemModel outcome for a step the model cannot replay (a modelling choice it does
    /// not make): no fd numbers, the errno every refusal in this universe has.
    func modelOutcome(for step: ExplorerStep, universe: Universe) -> ModelOutcome {
        func address() -> UInt64 {
            switch step {
            case .guestRead(_, let slot, let page), .guestWrite(_, let slot, let page):
                universe.guestPhysicalAddress(slot: slot, page: page)
            default: 0
            }
        }
        switch self {
        case .ok: return .done
        case .refused: return .failed(.EINVAL)
        case .read(let value): return .guest(.value(value < 2 ? 0 : ExplorerStep.secret(ofVM: Int(value - 2))))
        case .written: return .guest(.written)
        case .mmio:
            if case .guestWrite = step { return .guest(.mmio(guestPhysicalAddress: address(), isWrite: true)) }
            return .guest(.mmio(guestPhysicalAddress: address(), isWrite: false))
        case .fault:
            return .guest(
                .memoryFault(ModelKernel.MemoryFault(flags: 0, guestPhysicalAddress: address(), size: GmemABI.pageSize))
            )
        }
    }
}
