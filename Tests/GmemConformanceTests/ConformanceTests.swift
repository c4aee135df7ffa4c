import Foundation
import GmemConformance
import GmemExplorer
import GmemModel
import KVM
import TestSupport
import Testing

extension KernelTests {
    @Suite("Conformance: the kernel against the model")
    struct ConformanceTests {
        static let capabilities = ConformanceRunner.hostCapabilities() ?? .referenceHost

        @Test(
            "every catalogue scenario gives the same outcomes on the model and the kernel",
            arguments: Catalogue.scenarios.map(\.name))
        func catalogueScenario(name: String) throws {
            let scenario = try #require(Catalogue.scenarios.first { $0.name == name })
            let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
            #expect(
                result.status != .diverged && result.status != .failed,
                "\(result.status): \(result.firstProblem ?? "")")
            if result.status == .skipped {
                // Skipped on the kernel only because the host lacks a capability the scenario
                // requires or its pinned profile is not this kernel's, with the reason said; the
                // model still ran. (`requires != nil` was always true: it is an array.)
                #expect(
                    (!scenario.requires.isEmpty || scenario.profile != nil) && result.skipReason != nil,
                    "\(name): skipped, \(result.skipReason ?? "no reason given")")
            }
        }

        @Test("a library check leaves the process's cgroups alone unless asked (the move is process-wide)")
        func noCgroupUnlessAsked() throws {
            let before = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
            var request = ConformanceCheck.Request()
            request.only = try #require(Catalogue.scenarios.first?.name)
            #expect(!request.entersMemoryCgroup)
            let outcome = try ConformanceCheck.run(request)
            #expect(outcome.succeeded)
            #expect(try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) == before)
            guard case .scenarios(let report) = outcome else { return }
            #expect(!report.notes.contains { $0.contains("running in memory cgroup") })
        }

        @Test("the catalogue cites every [host] rule of sections C, F, M, B, L and G")
        func catalogueCoversHostRules() {
            let host = [
                "C1", "C2", "C3", "C4", "C5", "C6", "F1", "F2", "F3", "F4", "F5", "F6", "M1", "M2", "M3", "M4", "M5",
                "B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "L1", "L2", "L3", "L4", "L5", "G1", "G2", "G4",
            ]
            let covered = Set(Catalogue.coveredRules)
            #expect(host.filter { !covered.contains($0) } == [])
            #expect(Catalogue.scenarios.count >= 70)
        }

        @Test("300 random operations agree on the model and the kernel (seed 1)")
        func randomDifferential() {
            let runner = ConformanceRunner(selection: .both, capabilities: Self.capabilities)
            let report = RandomDifferential(runner: runner).run(seed: 1, operations: 300)
            #expect(report.operationsRun == 300)
            #expect(report.divergence == nil, "\(report.divergence.map { ScenarioFormat.text(of: $0.minimal) } ?? "")")
        }

        @Test("a wrong expectation is reported as a failure, not hidden")
        func wrongExpectationFails() throws {
            let scenario = try #require(
                try ScenarioFormat.parse(
                    """
                    vm A
                    gmem F A size=0 -> ok
                    """, source: "wrong"
                ).first)
            let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
            #expect(result.status == .failed)
            #expect(result.steps.last?.kernel == .errno(22))
            #expect(result.steps.last?.model == .errno(22))
        }
    }
}

extension KernelTests.ConformanceTests {
    /// 3,000 guest accesses through one VM fd (finding F16: each used to make a probe vCPU of
    /// its own, and KVM allows 1,024 per VM), with the scenario's own vCPUs before and after.
    static let manyGuestAccesses: String = {
        var lines = [
            "scenario many-guest-accesses-on-one-vm rules=G1",
            "vm A",
            "gmem F A size=16K flags=mmap|init_shared",
            "mmap P F len=16K",
            "region A slot=0 gpa=0 size=16K file=F",
            // Ids the probe used to reserve (1024–4095) are the scenario's now.
            "vcpu C A id=4095 -> ok",
            "vcpu D A id=1024 -> ok",
        ]
        for i in 1...1_500 {
            lines.append("guest A gpa=\(i % 4 * 4096) write=\(i) -> written")
            lines.append("guest A gpa=\(i % 4 * 4096) read -> value \(i)")
        }
        lines += [
            "read P offset=8K -> value 1498",
            "vcpu E A id=0 -> ok",
            "vcpu G A id=2000 -> ok",
            "guest C gpa=4K read -> value 1497",
            "guest E gpa=12K write=7 -> written",
            "guest A gpa=12K read -> value 7",
            // The probe's vCPU is gmem check's own: the scenario's fd count is the model's.
            "limit fds=7",
            "dup X F -> ok",
            "dup Y F -> EMFILE",
        ]
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test("3,000 guest accesses through one VM fd pass on both backends, beside the scenario's own vCPU ids")
    func manyGuestAccessesOnOneVM() throws {
        let scenario = try #require(try ScenarioFormat.parse(Self.manyGuestAccesses, source: "many").first)
        #expect(scenario.steps.count >= 3_000)
        let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
        #expect(result.status == .passed, "\(result.status): \(result.firstProblem ?? result.skipReason ?? "")")
    }

    @Test("the guest probe's vCPU does not keep a VM alive once the scenario closed every fd of it")
    func probeVCPUDoesNotPinVM() throws {
        let scenario = try #require(
            try ScenarioFormat.parse(
                """
                scenario probe-vcpu-does-not-pin requires=debugfs rules=L1
                vm A
                gmem F A size=16K flags=mmap|init_shared
                region A slot=0 gpa=0 size=16K file=F
                dup B A
                guest A gpa=0 write=9 -> written
                close A
                guest B gpa=0 read -> value 9
                close F
                alive A -> value 1
                close B
                alive A -> value 0
                """, source: "pin"
            ).first)
        let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
        if result.status == .skipped {
            #expect(result.skipReason != nil)
            return
        }
        #expect(result.status == .passed, "\(result.status): \(result.firstProblem ?? "")")
    }

    @Test("the example scenario files in Scenarios/ run on both backends and pass")
    func exampleFiles() throws {
        for (file, scenario) in try exampleScenarios() {
            let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
            #expect(
                result.status == .passed, "\(file) \(scenario.name): \(result.firstProblem ?? result.skipReason ?? "")")
        }
    }
}

extension KernelTests.ConformanceTests {
    @Test(
        "every trace the explorer finds replays on this kernel as upstream expects; the cross-VM bind is refused (GMEM-B5)",
        arguments: Design.all.filter { $0.flavour == .plain })
    func explorerTracesReplay(design: Design) throws {
        let universe = Universe(vms: 2, files: 1, slots: 1, pagesPerFile: 1, depth: 8)
        let report = Explorer(design: design, universe: universe).run()
        var findings = report.results.compactMap { result in
            result.verdict.finding.map { (result.invariant as Invariant?, $0) }
        }
        if let handOff = report.handOff { findings.append((nil, handOff)) }
        #expect(design.lifetime == .upstream || !findings.isEmpty)
        for (invariant, finding) in findings {
            let text = ScenarioText.text(of: finding, invariant: invariant, design: design, universe: universe)
            let scenario = try #require(try ScenarioFormat.parse(text, source: "explorer").first)
            let result = ConformanceRunner(selection: .both, capabilities: Self.capabilities).run(scenario)
            #expect(result.status == .passed, "\(scenario.name): \(result.firstProblem ?? "")\n\(text)")
            if invariant == .noCrossVMExposure {
                #expect(text.contains("-> EINVAL"), "the kernel must refuse the bind into the second VM")
            }
        }
    }
}

extension KernelTests.ConformanceTests {
    @Test("a page pin is charged every page it faults in, so the budget refuses the pin that would pass it")
    func pinsAreChargedByPage() throws {
        // 1 MiB of memfd mapped; a 256 KiB budget (plus 16 KiB for the page tables of the one
        // 2 MiB span, 1 GiB, 512 GiB and 256 TiB span it touches) holds four 64 KiB pins (16
        // pages each) and refuses the fifth (each pin was once charged 3 pages however long it was).
        let text = """
            scenario pins
            memfd M size=1M
            mmap P M len=1M
            pin P offset=0 len=64K
            pin P offset=64K len=64K
            pin P offset=128K len=64K
            pin P offset=192K len=64K
            pin P offset=256K len=64K
            """
        let scenario = try #require(try ScenarioFormat.parse(text, source: "pins.gmem").first)
        let backend = try KernelBackend(budget: MemoryBudget(limit: 272 << 10))
        var outcomes: [Outcome] = []
        for step in scenario.steps { outcomes.append(backend.perform(step.action)) }
        #expect(Array(outcomes.prefix(6)) == Array(repeating: .ok, count: 6), "\(outcomes)")
        #expect(backend.budget.used == 272 << 10)
        guard case .budgetRefusal(let why)? = outcomes.last else {
            Issue.record("the fifth pin was not refused: \(outcomes.last.map { "\($0)" } ?? "none")")
            return
        }
        #expect(why.contains("a page pin"))
    }
}

extension KernelTests.ConformanceTests {
    @Test("a KVM ioctl on fds 0-2 is not performed: the kernel backend names why, whatever stdin is")
    func standardStreamIoctlsAreRefused() throws {
        let text = """
            scenario streams
            raw Z fd=0
            vm A Z
            """
        let scenario = try #require(try ScenarioFormat.parse(text, source: "streams.gmem").first)
        let backend = try KernelBackend()
        let outcomes = scenario.steps.map { backend.perform($0.action) }
        #expect(outcomes.first == .ok)
        guard case .unsupported(let why)? = outcomes.last else {
            Issue.record("KVM_CREATE_VM on fd 0 was performed: \(outcomes)")
            return
        }
        #expect(why.contains("KVM_CREATE_VM") && why.contains("standard stream"), "\(why)")
    }
}

extension KernelTests.ConformanceTests {
    @Test("a memslot is charged KVM's per-page metadata before the ioctl: a 1 TiB slot is a budget refusal")
    func memslotsAreCharged() throws {
        // One line once had gmem check OOM-killed inside its own memory cgroup (exit 137): KVM
        // allocates about 2 GiB of reverse maps for a 1 TiB slot on a shadow-paging host.
        let text = """
            scenario big-slot
            vm A
            anon U len=4K
            region A slot=0 gpa=0 size=4K uaddr=U
            region A slot=1 gpa=0x100000000 size=1T uaddr=0x100000000
            region A slot=2 gpa=0x20000000000 size=1T uaddr=0x100000000 flags=log_dirty
            region A slot=3 gpa=0x100000001 size=1T uaddr=0x100000000 -> EINVAL
            """
        let scenario = try #require(try ScenarioFormat.parse(text, source: "big-slot.gmem").first)
        let backend = try KernelBackend()
        let outcomes = scenario.steps.map { backend.perform($0.action) }
        #expect(Array(outcomes.prefix(3)) == [.ok, .ok, .ok], "\(outcomes)")
        for index in [3, 4] {
            guard case .budgetRefusal(let why) = outcomes[index] else {
                Issue.record("step \(index + 1) was not refused by the budget: \(outcomes[index])")
                continue
            }
            #expect(why.contains("a memslot of 1 TiB"), "\(why)")
        }
        // Refused by KVM before it allocates (an unaligned address): the kernel's errno, not the budget's.
        #expect(outcomes[5] == .errno(22), "\(outcomes[5])")
        #expect(backend.budget.used < MemoryBudget.defaultLimit)
    }
}
