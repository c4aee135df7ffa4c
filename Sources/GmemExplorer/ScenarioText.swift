import GmemModel

/// Writes a trace as a scenario file (the conformance scenario language, README "Scenario
/// files"), so `gmem check FILE` replays it on the model and on this host's kernel.
///
/// The expectations (`-> …`) are upstream Linux's, computed by replaying the trace on the
/// upstream model: that is what the real kernel must answer. Where the explored design answers
/// otherwise, a comment on the line says what it answered, so the file shows at a glance the
/// step where upstream refuses the attack.
public enum ScenarioText {
    /// The GMEM-SPEC rules a trace for `invariant` exercises.
    static func rules(for invariant: Invariant?) -> [String] {
        switch invariant {
        case .noCrossVMExposure: ["B5", "B8"]
        case .noUseAfterFree: ["L1"]
        case .confidentialMemoryDiesWithVM: ["L1", "L6"]
        case .deleteKeepsData: ["B8", "L4"]
        case .quiescenceFreesEverything: ["L5", "L6"]
        case nil: ["B5"]
        }
    }

    /// The scenario name for a finding: `explore-<design>-<invariant or hand-off>`.
    public static func name(design: Design, invariant: Invariant?) -> String {
        let designName =
            design.lifetime == .slotsPinFile ? "slots-pin-file-\(design.protection.rawValue)" : design.lifetime.rawValue
        return "explore-\(designName)-\(design.flavour.rawValue)-\(invariant?.rawValue ?? "hand-off")"
    }

    /// The scenario text of `finding` (a violation of `invariant`, or the hand-off trace when
    /// `invariant` is nil) found for `design` in `universe`.
    public static func text(of finding: Finding, invariant: Invariant?, design: Design, universe: Universe) -> String {
        let steps = finding.trace.map(\.step)
        let upstream = Explorer.replay(
            steps, design: Design(lifetime: .upstream, flavour: design.flavour), universe: universe)
        let what =
            invariant.map { "\($0.rawValue): \($0.statement(for: design.flavour))" }
            ?? "hand-off: a file is bound into a VM other than the one that created it"
        var lines = [
            "# Found by `gmem explore \(commandLine(design))`, \(steps.count) steps:",
            "# \(what)",
            "# At step \(steps.count): \(finding.detail).",
            "# Expectations (->) are upstream Linux's, so `gmem check` replays the trace on this kernel;",
            "# a comment marks each step where \(design.lifetime == .upstream ? "the design" : design.shortName) answers otherwise.",
            "scenario \(name(design: design, invariant: invariant)) rules=\(rules(for: invariant).joined(separator: ","))",
        ]
        for (index, step) in steps.enumerated() {
            var line = "\(action(step, universe: universe)) -> \(expectation(upstream[index].modelOutcome))"
            let explored = expectation(finding.trace[index].modelOutcome)
            if explored != expectation(upstream[index].modelOutcome) {
                line += "   # \(design.shortName): \(explored)"
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `gmem explore` options that select `design`.
    static func commandLine(_ design: Design) -> String {
        design.lifetime == .slotsPinFile
            ? "--policy slots-pin-file --protection \(design.protection.rawValue) --flavour \(design.flavour.rawValue)"
            : "--policy \(design.lifetime.rawValue) --flavour \(design.flavour.rawValue)"
    }

    /// One step as a scenario line (without its expectation).
    static func action(_ step: ExplorerStep, universe: Universe) -> String {
        let vm = ExplorerStep.vmName
        let file = ExplorerStep.fileName
        let size = "\(universe.pagesPerFile * 4)K"
        func address(_ value: UInt64) -> String { value < 4096 ? String(value) : hex(value) }
        switch step {
        case .createVM(let v):
            return "vm \(vm(v))"
        case .createFile(let f, let v):
            return "gmem \(file(f)) \(vm(v)) size=\(size) flags=mmap|init_shared"
        case .bind(let v, let s, let f):
            return
                "region \(vm(v)) slot=\(s) gpa=\(address(universe.guestPhysicalAddress(slot: s))) size=\(size) file=\(file(f))"
        case .deleteSlot(let v, let s):
            return "delete \(vm(v)) slot=\(s) gpa=\(address(universe.guestPhysicalAddress(slot: s)))"
        case .closeVM(let v):
            return "close \(vm(v))"
        case .closeFile(let f):
            return "close \(file(f))"
        case .guestWrite(let v, let s, let p):
            return
                "guest \(vm(v)) gpa=\(address(universe.guestPhysicalAddress(slot: s, page: p))) write=\(hex(ExplorerStep.secret(ofVM: v)))"
        case .guestRead(let v, let s, let p):
            return "guest \(vm(v)) gpa=\(address(universe.guestPhysicalAddress(slot: s, page: p))) read"
        }
    }

    /// A model outcome as the scenario language's expectation.
    static func expectation(_ outcome: ModelOutcome) -> String {
        switch outcome {
        case .done, .descriptor, .address: "ok"
        case .value(let value): "value \(hex(value))"
        case .signal(let signal): signal.description
        case .failed(let errno): errno.description
        case .guest(.value(let value)): "value \(hex(value))"
        case .guest(.written): "written"
        case .guest(.memoryFault(let fault)):
            "fault gpa=\(hex(fault.guestPhysicalAddress))" + (fault.flags == 0 ? "" : " flags=\(fault.flags)")
        case .guest(.mmio): "mmio"
        case .guest(.userspaceFault): "efault"
        }
    }
}

extension Design {
    /// `upstream` or `slots-pin-file/none` (without the flavour).
    public var shortName: String {
        lifetime == .slotsPinFile ? "slots-pin-file/\(protection.rawValue)" : lifetime.rawValue
    }
}
