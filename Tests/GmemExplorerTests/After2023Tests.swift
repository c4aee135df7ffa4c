import GmemConformance
import GmemExplorer
import Testing

/// The designs after 2023 (issue 16 item 4): the verdicts come from the search; these tests
/// check what it finds against the conversion series and the link RFC, that the traces are
/// shortest and replay, and that the derivation of the link precondition is what the
/// searches decide.
@Suite("Explorer after 2023: conversion and linking")
struct After2023Tests {
    /// One VM, one file, one page: every conversion attack fits, cheap in a debug build.
    static let one = HostUniverse(vms: 1, files: 1, slots: 1, pages: 1, depth: 8)
    /// Two VMs and a linked file: the link attacks (8 and 9 steps) fit.
    static let two = HostUniverse(vms: 2, files: 2, slots: 1, pages: 1, depth: 9)

    @Test(
        "upstream conversion keeps every invariant: pinned pages refuse to become private, PRESERVE needs a software-protected owner"
    )
    func upstreamHolds() {
        var deep = Self.one
        deep.depth = 16
        let report = HostExplorer(design: HostDesign(), universe: deep).run()
        #expect(report.allHold, "\(report.findings.mapValues(\.detail))")
        #expect(report.exhausted)
        #expect(report.transitions > report.states)
    }

    @Test(
        "without the reference check, the host pins a shared page, it becomes private, and the host reads it through the pin"
    )
    func noReferenceCheck() throws {
        let design = HostDesign(conversion: .noReferenceCheck)
        let report = HostExplorer(design: design, universe: Self.one).run()
        let read = try #require(report.finding(.hostNeverReadsPrivate))
        let convert = try #require(report.finding(.noPrivateConversionWhileReferenced))
        #expect(read.steps.count == convert.steps.count + 1)
        #expect(read.steps.contains(.pin(file: 0, page: 0)))
        guard case .readPinned = read.steps.last! else {
            Issue.record("the trace does not end with a read through the pin: \(read.steps)")
            return
        }
        // Breadth-first: one step less finds nothing.
        var shorter = Self.one
        shorter.depth = read.steps.count - 1
        #expect(HostExplorer(design: design, universe: shorter).run().finding(.hostNeverReadsPrivate) == nil)
        // Upstream refuses the conversion with EAGAIN at the pinned page's offset.
        let upstream = HostExplorer.replay(read.steps, design: HostDesign(), universe: Self.one)
        let at = try #require(read.steps.firstIndex { if case .convert = $0 { true } else { false } })
        #expect(upstream[at] == .refusedAt(errno: "EAGAIN", errorOffset: 0))
        #expect(read.outcomes[at] == .ok)
    }

    @Test(
        "PRESERVE without the owner check shows a confidential VM's private data to the host; upstream answers EOPNOTSUPP"
    )
    func preserveWithoutOwnerCheck() throws {
        let design = HostDesign(conversion: .preserveWithoutOwnerCheck)
        let finding = try #require(
            HostExplorer(design: design, universe: Self.one).run().finding(.conversionKeepsPrivateData))
        #expect(finding.steps.first == .createVM(vm: 0, confidential: true))
        #expect(finding.steps.last == .convert(file: 0, page: 0, toPrivate: false, preserve: true))
        let upstream = HostExplorer.replay(finding.steps, design: HostDesign(), universe: Self.one)
        #expect(upstream.last == .refusedAt(errno: "EOPNOTSUPP", errorOffset: 0))
        #expect(
            HostExplorer.confirms(
                finding.steps, design: design, invariant: .conversionKeepsPrivateData, universe: Self.one))
        #expect(
            !HostExplorer.confirms(
                finding.steps, design: HostDesign(), invariant: .conversionKeepsPrivateData, universe: Self.one))
    }

    @Test(
        "linking as posted: a software-protected VM's file PRESERVEs a confidential VM's data, and a second live VM reads the first's private data"
    )
    func linkAsPosted() throws {
        let report = HostExplorer(design: .linkAsPosted, universe: Self.two).run()
        let shown = try #require(report.finding(.conversionKeepsPrivateData))
        #expect(shown.steps.count == 8)
        // One VM of each type: the software-protected one's file PRESERVEs the confidential one's data.
        #expect(shown.steps.contains { if case .createVM(_, true) = $0 { true } else { false } })
        #expect(shown.steps.contains { if case .createVM(_, false) = $0 { true } else { false } })
        guard case .convert(_, _, false, true) = shown.steps.last! else {
            Issue.record("the trace does not end with a PRESERVE conversion to shared: \(shown.steps)")
            return
        }
        let read = try #require(report.finding(.privateDataStaysWithItsVM))
        #expect(read.steps.count == 9)
        guard case .guestRead(let reader, _, _) = read.steps.last!, case .read(let value) = read.outcomes.last! else {
            Issue.record("the trace does not end with a guest read: \(read.steps)")
            return
        }
        #expect(reader == 1 && value == 2)
        // Without linking, the same steps stop at the link (ENOTTY).
        let upstream = HostExplorer.replay(read.steps, design: HostDesign(), universe: Self.two)
        let link = try #require(read.steps.firstIndex { if case .link = $0 { true } else { false } })
        #expect(upstream[link] == .refused("ENOTTY"))
        #expect(report.finding(.hostNeverReadsPrivate) == nil)
    }

    @Test("a link whose source is only stopped is broken without a resume: A can still run when B reads its data")
    func stoppedIsNotEnough() {
        let steps: [HostStep] = [
            .createVM(vm: 0, confidential: true), .createVM(vm: 1, confidential: true), .createFile(file: 0, vm: 0),
            .bind(vm: 0, slot: 0, file: 0), .convert(file: 0, page: 0, toPrivate: true, preserve: false),
            .guestWrite(vm: 0, slot: 0, page: 0), .stopVM(vm: 0), .link(file: 1, source: 0, vm: 1),
            .bind(vm: 1, slot: 0, file: 1), .guestRead(vm: 1, slot: 0, page: 0),
        ]
        let universe = HostUniverse(vms: 2, files: 2, slots: 1, pages: 1, depth: 12)
        let stopped = HostDesign(link: LinkPrecondition([.sourceStopped, .sameType, .sourceUnbound]))
        // source-unbound refuses this link (A's memslot is still bound); stopped + same type lets it through.
        #expect(
            !HostExplorer.confirms(steps, design: stopped, invariant: .privateDataStaysWithItsVM, universe: universe))
        let weaker = HostDesign(link: LinkPrecondition([.sourceStopped, .sameType]))
        #expect(HostExplorer.confirms(steps, design: weaker, invariant: .privateDataStaysWithItsVM, universe: universe))
        // Marking A dead instead makes the same read harmless: A never runs again.
        var dead = steps
        dead[6] = .markDead(vm: 0)
        #expect(
            !HostExplorer.confirms(
                dead, design: HostDesign(link: LinkPrecondition([.sourceDead, .sameType])),
                invariant: .privateDataStaysWithItsVM, universe: universe))
    }

    @Test("the derivation over {source-dead, same-vm-type} finds both conjuncts needed, each with its attack")
    func derivation() throws {
        let derived = LinkDerivation.derive(universe: Self.two, predicates: [.sourceDead, .sameType])
        #expect(derived.candidates == 4)
        #expect(derived.minimal == [LinkPrecondition([.sourceDead, .sameType])])
        let dead = try #require(derived.weaker.first { $0.precondition == LinkPrecondition([.sourceDead]) })
        #expect(dead.invariant == .conversionKeepsPrivateData)
        #expect(dead.finding.steps.contains(.markDead(vm: 0)))
        let sameType = try #require(derived.weaker.first { $0.precondition == LinkPrecondition([.sameType]) })
        #expect(sameType.invariant == .privateDataStaysWithItsVM)
        #expect(derived.reports.allSatisfy { $0.allHold })
    }

    @Test("a trace becomes a scenario in the conversion syntax, with upstream's answers and the design's as comments")
    func scenarioText() throws {
        let design = HostDesign(conversion: .preserveWithoutOwnerCheck)
        let finding = try #require(
            HostExplorer(design: design, universe: Self.one).run().finding(.conversionKeepsPrivateData))
        let text = HostScenarioText.text(
            of: finding, invariant: .conversionKeepsPrivateData, design: design, universe: Self.one)
        #expect(
            text.contains(
                "scenario explore-conversion-preserve-without-owner-check-conversion-never-exposes-private-data "
                    + "profile=next requires=gmem-attributes"))
        #expect(text.contains("vm A type=4"))
        #expect(text.contains("gmem F A size=4K flags=mmap|init_shared -> ok"))
        #expect(text.contains("convert F offset=0 len=4K to=private -> ok"))
        #expect(
            text.contains(
                "convert F offset=0 len=4K to=shared mode=preserve -> EOPNOTSUPP error_offset=0   "
                    + "# conversion/preserve-without-owner-check: ok"))
        #expect(HostScenarioText.replayable(finding.steps))
        // A pin is the mapping's (vmsplice), a read through it has no action.
        let report = HostExplorer(design: HostDesign(conversion: .noReferenceCheck), universe: Self.one).run()
        let converted = try #require(report.finding(.noPrivateConversionWhileReferenced))
        let pinText = HostScenarioText.text(
            of: converted, invariant: .noPrivateConversionWhileReferenced,
            design: HostDesign(conversion: .noReferenceCheck), universe: Self.one)
        #expect(pinText.contains("mmap PF F len=4K -> ok\npin PF offset=0 len=4K -> ok"))
        #expect(
            pinText.contains(
                "convert F offset=0 len=4K to=private -> EAGAIN error_offset=0   # conversion/no-reference-check: ok"))
        #expect(HostScenarioText.replayable(converted.steps))
        let read = try #require(report.finding(.hostNeverReadsPrivate))
        #expect(!HostScenarioText.replayable(read.steps))
    }
}

/// The explorer's restatement of the conversion series (`HostRules`) held against GmemModel's
/// (profile `next`, written independently): every trace that the scenario language can express
/// and that needs no confidential VM (the model's `next` profile has no SNP type) passes there.
@Suite("Explorer after 2023 held against GmemModel")
struct After2023ModelTests {
    @Test(
        "the replayable traces of conversion without the reference check and of linking as posted pass on GmemModel under next"
    )
    func tracesPassOnTheModel() throws {
        let reports = [
            HostExplorer(design: HostDesign(conversion: .noReferenceCheck), universe: After2023Tests.one).run(),
            HostExplorer(design: .linkAsPosted, universe: After2023Tests.two).run(),
        ]
        var replayed = 0
        for report in reports {
            for invariant in HostInvariant.allCases {
                // Confidential VMs too (type=4, SNP: the model's upstream host has it under
                // requires=gmem-attributes).
                guard let finding = report.finding(invariant), HostScenarioText.replayable(finding.steps)
                else { continue }
                let text = HostScenarioText.text(
                    of: finding, invariant: invariant, design: report.design, universe: report.universe)
                let scenario = try #require(try ScenarioFormat.parse(text, source: "explorer").first)
                let run = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(scenario)
                #expect(run.status == .passed, "\(report.design) \(invariant): \(run.firstProblem ?? "")\n\(text)")
                replayed += 1
            }
        }
        // The pinned conversion (EAGAIN upstream) and the second live VM's read (link is ENOTTY upstream).
        #expect(replayed >= 2)
    }
}
