/// Writes a trace of the universe after 2023 as a scenario file (the conformance scenario
/// language with the conversion actions `convert F offset= len= to=private|shared
/// [mode=zero|preserve]` and `link G F vm=B`), under profile `next`.
///
/// The expectations (`-> …`) are those of upstream conversion (``HostDesign/Conversion/upstream``,
/// no linking: `link` is `ENOTTY`), so the file shows the step where upstream refuses the
/// attack; a comment marks each step where the explored design answers otherwise. Steps the
/// language has no action for (stopping vCPUs, marking a VM dead, a GUP pin) are comments,
/// and the file says it cannot be replayed as is.
public enum HostScenarioText {
    /// `explore-<design>-<invariant>`.
    public static func name(design: HostDesign, invariant: HostInvariant) -> String {
        let designName = design.name.replacingAll("/", with: "-").replacingAll("{", with: "")
            .replacingAll("}", with: "").replacingAll(",", with: "+")
        return "explore-\(designName)-\(invariant.rawValue)"
    }

    /// Whether every step of `steps` has a scenario action.
    public static func replayable(_ steps: [HostStep]) -> Bool {
        steps.allSatisfy { action($0) != nil }
    }

    /// The scenario text of `finding`, found for `design` in `universe`.
    public static func text(
        of finding: HostFinding, invariant: HostInvariant, design: HostDesign,
        universe: HostUniverse = .standard
    ) -> String {
        let upstream = HostExplorer.replay(finding.steps, design: HostDesign(), universe: universe)
        var lines = [
            "# Found by `gmem explore --all` (\(design.name)), \(finding.steps.count) steps:",
            "# \(invariant.rawValue): \(invariant.statement)",
            "# At step \(finding.steps.count): \(finding.detail).",
            "# Expectations (->) are upstream conversion's (profile next; no KVM_LINK_GUEST_MEMFD, so link is ENOTTY);",
            "# a comment marks each step where \(design.name) answers otherwise. type=4 is KVM_X86_SNP_VM (confidential),",
            "# type=1 KVM_X86_SW_PROTECTED_VM.",
        ]
        if !replayable(finding.steps) {
            lines.append("# Not replayable as is: the steps written as comments have no scenario action.")
        }
        lines.append("scenario \(name(design: design, invariant: invariant)) profile=next requires=gmem-attributes")
        let size = "\(universe.pages * 4)K"
        var mapped: Set<Int> = []
        for (index, step) in finding.steps.enumerated() {
            // The host's mapping of a file, before its first use.
            switch step {
            case .hostRead(let f, _), .pin(let f, _):
                if mapped.insert(f).inserted {
                    lines.append("mmap P\(ExplorerStep.fileName(f)) \(ExplorerStep.fileName(f)) len=\(size) -> ok")
                }
            default: break
            }
            let expected = upstream[index]
            let explored = finding.outcomes[index]
            let note = expected == explored ? "" : "   # \(design.name): \(expectation(explored, step))"
            if let action = action(step, size: size, pinned: mapped) {
                let outcome = action.hasPrefix("unpin") ? "" : " -> \(expectation(expected, step))"
                lines.append("\(action)\(outcome)\(note)")
            } else {
                lines.append("# \(step) (no scenario action)\(note.isEmpty ? "" : ";" + note.dropFirst(4))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One step as a scenario line without its expectation, or nil when the language has none.
    static func action(_ step: HostStep, size: String = "4K", pinned: Set<Int> = []) -> String? {
        let vm = ExplorerStep.vmName
        let file = ExplorerStep.fileName
        func gpa(_ slot: Int, _ page: Int) -> String {
            let value = UInt64(slot) << 20 + UInt64(page) << 12
            return value < 4096 ? String(value) : hex(value)
        }
        switch step {
        case .createVM(let v, let confidential): return "vm \(vm(v)) type=\(confidential ? 4 : 1)"
        case .createFile(let f, let v): return "gmem \(file(f)) \(vm(v)) size=\(size) flags=mmap|init_shared"
        case .link(let f, let s, let v): return "link \(file(f)) \(file(s)) vm=\(vm(v))"
        case .bind(let v, let s, let f):
            return "region \(vm(v)) slot=\(s) gpa=\(gpa(s, 0)) size=\(size) file=\(file(f))"
        case .deleteSlot(let v, let s): return "delete \(vm(v)) slot=\(s)"
        case .closeVM(let v): return "close \(vm(v))"
        case .closeFile(let f): return "close \(file(f))"
        case .guestWrite(let v, let s, let p):
            return "guest \(vm(v)) gpa=\(gpa(s, p)) write=\(hex(ExplorerStep.secret(ofVM: v))) private"
        case .guestRead(let v, let s, let p): return "guest \(vm(v)) gpa=\(gpa(s, p)) read private"
        case .convert(let f, let p, let toPrivate, let preserve):
            return "convert \(file(f)) offset=\(p * 4096) len=4K to=\(toPrivate ? "private" : "shared")"
                + (preserve ? " mode=preserve" : toPrivate ? "" : " mode=zero")
        case .hostRead(let f, let p): return "read P\(file(f)) offset=\(p * 4096)"
        case .pin(let f, let p): return "pin P\(file(f)) offset=\(p * 4096) len=4K"
        // `unpin P` closes every pipe of P's pins: one page per pin here, the mapping of the
        // inode's first file (a pin is the inode's).
        case .unpin(let i, _): return pinned.contains(i) ? "unpin P\(file(i))" : nil
        case .stopVM, .resumeVM, .markDead, .readPinned: return nil
        }
    }

    /// An outcome as the scenario language's expectation.
    static func expectation(_ outcome: HostOutcome, _ step: HostStep) -> String {
        switch outcome {
        case .ok: return "ok"
        case .refused(let errno): return errno
        case .refusedAt(let errno, let offset): return "\(errno) error_offset=\(offset)"
        case .read(let value): return "value \(value >= 2 ? hex(ExplorerStep.secret(ofVM: Int(value - 2))) : "0")"
        case .written: return "written"
        case .mmio: return "mmio"
        case .sigbus: return "SIGBUS"
        case .fault:
            if case .guestWrite(_, let s, let p) = step {
                return "fault gpa=\(hex(UInt64(s) << 20 + UInt64(p) << 12)) flags=8"
            }
            if case .guestRead(_, let s, let p) = step {
                return "fault gpa=\(hex(UInt64(s) << 20 + UInt64(p) << 12)) flags=8"
            }
            return "fault"
        }
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
