import GmemModel
import Testing

@testable import GmemConformance

@Suite("Scenario language")
struct ScenarioFormatTests {
    @Test("every catalogue scenario prints as text that parses back to the same steps")
    func roundTrip() throws {
        for scenario in Catalogue.scenarios {
            let text = ScenarioFormat.text(of: scenario)
            let parsed = try #require(try ScenarioFormat.parse(text, source: "round trip").first)
            #expect(parsed.name == scenario.name)
            #expect(parsed.rules == scenario.rules)
            #expect(parsed.requires == scenario.requires)
            #expect(parsed.steps.map(\.action) == scenario.steps.map(\.action), "\(scenario.name)")
            #expect(parsed.steps.map(\.expected) == scenario.steps.map(\.expected), "\(scenario.name)")
        }
    }

    @Test("random scenarios over the whole language print as text that parses back to the same steps")
    func randomRoundTrip() throws {
        var generator = SplitMix64(seed: 77)
        for index in 0..<200 {
            let scenario = RandomDifferential.sequence(length: 40, generator: &generator, name: "r\(index)")
            let text = ScenarioFormat.text(of: scenario)
            let parsed = try #require(try ScenarioFormat.parse(text, source: "random").first)
            #expect(parsed.steps.map(\.action) == scenario.steps.map(\.action), "\(text)")
        }
    }

    @Test("the random differential never aims a KVM ioctl at fds 0-2 (their answer is the shell's redirection)")
    func randomKeepsIoctlsOffStandardStreams() {
        var generator = SplitMix64(seed: 7)
        var checked = 0
        for index in 0..<300 {
            let scenario = RandomDifferential.sequence(length: 60, generator: &generator, name: "s\(index)")
            var standard: Set<String> = []
            for step in scenario.steps {
                let ioctlOperand: String?
                switch step.action {
                case .createVM(_, _, let device): ioctlOperand = device
                case .checkExtension(let of, _), .createStats(_, let of): ioctlOperand = of
                case .createVCPU(_, let vm, _), .createGuestMemfd(_, let vm, _, _, _),
                    .setAttributes(let vm, _, _, _, _),
                    .setRegion(let vm, _, _, _, _, _, _, _, _), .link(_, _, let vm, _):
                    ioctlOperand = vm
                case .guestAccess(let via, _, _, _): ioctlOperand = via
                default: ioctlOperand = nil
                }
                if let ioctlOperand, standard.contains(ioctlOperand) {
                    Issue.record("\(scenario.name): \(ScenarioFormat.line(for: step.action)) aims at a standard stream")
                }
                if ioctlOperand != nil { checked += 1 }
                if let bound = step.action.binds {
                    if case .rawDescriptor(_, let number) = step.action, (0...2).contains(number) {
                        standard.insert(bound)
                    } else if case .dup(_, let of) = step.action, standard.contains(of) {
                        standard.insert(bound)
                    } else {
                        standard.remove(bound)
                    }
                }
            }
        }
        #expect(checked > 1000)
    }

    @Test("a hand-written file parses: sizes, flags, expectations, comments")
    func handWritten() throws {
        let scenarios = try ScenarioFormat.parse(
            """
            # two VMs, one file
            scenario mine rules=B5
            vm A
            vm B   # the attacker
            gmem F A size=16K flags=mmap|init_shared
            region B slot=0 gpa=0x100000 size=16K file=F -> EINVAL
            mmap P F len=16K
            write P offset=4K value=7
            read P offset=4K -> value 7
            guest A gpa=0 read -> mmio
            """, source: "test")
        #expect(scenarios.count == 1)
        let steps = scenarios[0].steps
        #expect(steps.count == 8)
        #expect(steps[2].action == .createGuestMemfd(name: "F", vm: "A", size: 16384, flags: 3, reserved: 0))
        #expect(steps[3].expected == .errno(22))
        #expect(
            steps[3].action
                == .setRegion(
                    vm: "B", version: 2, slot: 0, flags: 4, gpa: 0x10_0000, size: 16384,
                    userspace: .literal(0), file: "F", offset: 0))
        #expect(steps[6].expected == .value(7))
    }

    @Test(
        "the new actions and outcomes parse: raw fds, /dev/kvm, cap, madvise, widths, stat fields, error, size arithmetic"
    )
    func newForms() throws {
        let steps = try #require(
            try ScenarioFormat.parse(
                """
                kvm K
                vm A K type=0
                raw Z fd=0
                raw N fd=-1
                gmem F A size=2M+4K
                memfd M size=16K-1
                cap K guest_memfd -> value 1
                cap A KVM_CAP_USER_MEMORY2 -> value 1
                cap A 0x100000000 -> value 0
                region A slot=0 size=4K file=Z -> EINVAL
                mmap P M len=16K
                madvise P offset=4K len=4K advice=dontneed -> ok
                write P offset=4095 width=2 value=0xBEEF
                read P offset=4095 width=2 -> value 0xBEEF
                read P offset=4096 width=1 -> value 0xBE
                stat F -> stat type=reg size=0x201000 blksize=4096
                stat M -> stat ino=different:F
                dup D F
                stat D -> stat ino=same:F cloexec=1
                close N -> error
                """, source: "t"
            ).first
        ).steps
        #expect(steps[1].action == .createVM(name: "A", type: 0, device: "K"))
        #expect(steps[2].action == .rawDescriptor(name: "Z", fd: 0))
        #expect(steps[3].action == .rawDescriptor(name: "N", fd: -1))
        #expect(steps[4].action == .createGuestMemfd(name: "F", vm: "A", size: 0x20_1000, flags: 0, reserved: 0))
        #expect(steps[5].action == .createMemfd(name: "M", size: 16383))
        #expect(steps[6].action == .checkExtension(of: "K", capability: 234))
        #expect(steps[8].action == .checkExtension(of: "A", capability: 1 << 32))
        #expect(
            steps[9].action
                == .setRegion(
                    vm: "A", version: 2, slot: 0, flags: 4, gpa: 0, size: 4096, userspace: .literal(0), file: "Z",
                    offset: 0))
        #expect(steps[11].action == .madvise(mapping: "P", offset: 4096, length: 4096, advice: 4))
        #expect(steps[12].action == .hostWrite(mapping: "P", offset: 4095, width: .half, value: 0xBEEF))
        #expect(steps[16].action == .stat("M", sameInodeAs: "F"))
        #expect(steps[18].expected == .status(StatusPattern(closeOnExec: true, sameInode: true)))
        #expect(steps[19].expected == .anyError)
        #expect(Outcome.anyError.isMet(by: .errno(9)))
        #expect(!Outcome.anyError.isMet(by: .ok))
    }

    /// The error for `text`, or nil when it parses.
    func error(_ text: String) -> ScenarioFormat.ParseError? {
        do {
            _ = try ScenarioFormat.parse(text, source: "f.gmem")
            return nil
        } catch {
            return error
        }
    }

    @Test("errors name the file, line and column, what was expected and the nearest spelling")
    func errorsPointAtTheWord() throws {
        let flag = try #require(error("vm A\ngmem F A size=4K flag=mmap|init_shared"))
        #expect(flag.line == 2 && flag.column == 18)
        #expect(flag.description.hasPrefix("f.gmem:2:18: unknown key 'flag'"))
        #expect(flag.message.contains("did you mean 'flags'?"))
        let offset = try #require(error("vm A\ngmem F A size=4K\nfallocate F ofset=4095 len=4K"))
        #expect(offset.line == 3 && offset.column == 13 && offset.message.contains("did you mean 'offset'?"))
        let verb = try #require(error("vm A\nfrobnicate A"))
        #expect(verb.line == 2 && verb.column == 1 && verb.message.contains("unknown action 'frobnicate'"))
        let reed = try #require(error("vm A\nguest A gpa=0 reed write=1"))
        #expect(reed.column == 15 && reed.message.contains("did you mean 'read'?"))
        let bogus = try #require(error("vm A\ngmem F A size=4K flags=mmap\nmmap P F len=4K bogus"))
        #expect(bogus.line == 3 && bogus.column == 17 && bogus.message.contains("unexpected word 'bogus'"))
        let twice = try #require(error("vm A -> ok -> EINVAL"))
        #expect(twice.column == 12)
        let trailing = try #require(error("vm A -> ok EINVAL"))
        #expect(trailing.column == 12 && trailing.message.contains("after the outcome"))
        let undeclared = try #require(error("vm A\ngmem F B size=4K"))
        #expect(undeclared.column == 8 && undeclared.message.contains("undeclared name 'B'"))
        let rule = try #require(error("scenario s rules=B5,ZZ9\nvm A"))
        #expect(rule.column == 21 && rule.message.contains("unknown rule id 'ZZ9'"))
        let requirement = try #require(error("scenario s requires=memory-attributes,protected-wm\nvm A"))
        #expect(requirement.message.contains("did you mean 'protected-vm'?"))
        let gmemWithoutFile = try #require(error("vm A\nregion A slot=0 size=4K flags=gmem"))
        #expect(gmemWithoutFile.message.contains("flags=gmem needs file=F"))
        let mappingAsFile = try #require(error("anon U len=4K\nclose U"))
        #expect(mappingAsFile.message.contains("is a host mapping"))
        // Every advice Linux knows that the model does not describe is refused at its column
        // (the kernel backend would otherwise run it for real, or answer for the kernel).
        for advice in [12, 14, 22, 23, 25, 100, 102] {
            let refused = try #require(error("anon P len=4K\nmadvise P len=4K advice=\(advice)"), "advice \(advice)")
            #expect(
                refused.line == 2 && refused.column == 25 && refused.message.contains("the model does not describe"),
                "\(refused)")
        }
        #expect(
            error("anon P len=4K\nmadvise P len=4K advice=200") == nil,
            "an advice Linux does not know goes to the kernel (EINVAL)")
    }

    @Test("numbers are range-checked against the C type of their field, never truncated")
    func numberRanges() throws {
        #expect(
            error("vm A\ngmem F A size=4K\nfallocate F mode=0x100000000 len=4K")?.message.contains(
                "out of range for a 32-bit signed field") == true)
        #expect(
            error("vm A\nregion A slot=4294967296 size=4K")?.message.contains(
                "out of range for a 32-bit unsigned field") == true)
        #expect(error("vm A\nregion A slot=0 size=4K flags=4294967296")?.message.contains("out of range") == true)
        #expect(error("vm A\nvcpu C A id=18446744073709551616")?.message.contains("out of range") == true)
        #expect(
            error("vm A\nregion A slot=0 size=4K api=18446744073709551615")?.message.contains(
                "api=18446744073709551615: expected 1") == true)
        #expect(error("anon U len=0xFFFFFFFFFFFFFFFFF")?.message.contains("out of range") == true)
        #expect(error("anon U len=0xFFFFFFFFFFFFFFFF+1")?.message.contains("out of range") == true)
        #expect(error("anon U len=lots")?.message.contains("is not a number") == true)
        #expect(error("raw Z fd=7")?.message.contains("raw descriptors are 0–2") == true)
        #expect(
            error("anon U len=4K\nwrite U width=1 value=256")?.message.contains("does not fit a 1-byte write") == true)
        // In range: negative values are their two's complement, as C converts them.
        #expect(error("anon U len=-4096") == nil)
        #expect(error("anon U len=0x8000000000000000 prot=0x80000000") == nil)
        #expect(error("vm A\ngmem F A size=4K flags=0xFFFFFFFFFFFFFFFF") == nil)
    }

    @Test("uaddr=P+O and P-O take a signed 64-bit offset, refused beyond it at its column, echoed as written")
    func mappingOffsets() throws {
        let wrapped = try #require(error("vm A\nanon U len=4K\nregion A slot=0 size=4K uaddr=U+0xFFFFFFFFFFFFF000"))
        #expect(wrapped.line == 3 && wrapped.column == 32, "\(wrapped)")
        #expect(wrapped.message.contains("uaddr=U+0xFFFFFFFFFFFFF000: the offset after U is out of range"))
        #expect(wrapped.message.contains("-0x8000000000000000…0x7FFFFFFFFFFFFFFF"))
        #expect(error("vm A\nanon U len=4K\nregion A slot=0 size=4K uaddr=U+0x8000000000000000") != nil)
        #expect(error("vm A\nanon U len=4K\nregion A slot=0 size=4K uaddr=U-0x8000000000000001") != nil)
        for (written, shown) in [
            ("U-0x1000", "U-0x1000"), ("U+4K", "U+0x1000"), ("U+0x7FFFFFFFFFFFFFFF", "U+0x7FFFFFFFFFFFFFFF"),
            ("U-0x8000000000000000", "U-0x8000000000000000"), ("U-2M", "U-0x200000"),
        ] {
            let text = "vm A\nanon U len=4K\nregion A slot=0 size=4K uaddr=\(written)"
            let scenario = try #require(try ScenarioFormat.parse(text, source: "x").first)
            let line = ScenarioFormat.line(for: scenario.steps[2].action)
            #expect(line.lowercased().contains("uaddr=\(shown)".lowercased()), "\(written): \(line)")
            // What is printed reads back to the same step.
            let again = try ScenarioFormat.parse(ScenarioFormat.text(of: scenario), source: "x")
            #expect(again.first?.steps.map(\.action) == scenario.steps.map(\.action), "\(written)")
        }
    }

    @Test("a host access's value takes the width's C range (two's complement), and errors quote what was written")
    func accessValues() throws {
        let steps = try #require(
            try ScenarioFormat.parse(
                "anon U len=4K\nwrite U width=1 value=-1\nread U width=1 -> value -1\nwrite U width=2 value=-32768",
                source: "x"
            ).first
        ).steps
        #expect(steps[1].action == .hostWrite(mapping: "U", offset: 0, width: .byte, value: 0xFF))
        #expect(steps[2].expected == .value(0xFF))
        #expect(steps[3].action == .hostWrite(mapping: "U", offset: 0, width: .half, value: 0x8000))
        let low = try #require(error("anon U len=4K\nwrite U width=1 value=-129"))
        #expect(low.column == 23 && low.message.contains("value=-129 does not fit a 1-byte write (-128…255"), "\(low)")
        let high = try #require(error("anon U len=4K\nread U width=2 -> value 0x10000"))
        #expect(high.message.contains("value 0x10000 does not fit a 2-byte read"), "\(high)")
        let gpa = try #require(error("vm A\nguest A gpa=-1 read"))
        #expect(gpa.message.hasPrefix("gpa=-1:"), "\(gpa)")
    }

    @Test("an overlong word is quoted in an error as its first 32 characters and '…'")
    func longWordsAreCut() throws {
        let digits = String(repeating: "9", count: 5000)
        for text in [
            "anon U len=\(digits)", "anon U len=4K\nwrite U value=\(digits)", "vm A\ngmem F A size=4K flags=\(digits)x",
            "frobnicate\(digits)", "vm A\nclose B\(digits)", "scenario s\(digits)x!\nvm A",
        ] {
            let refused = try #require(error(text), "\(text.prefix(40))")
            #expect(refused.message.count < 600, "\(refused.message.prefix(200))")
            #expect(refused.message.contains("…"), "\(refused.message.prefix(200))")
        }
    }

    @Test("scenario names: 1 to 128 characters, a letter or digit first, then letters, digits, - _ . +; once per file")
    func scenarioNames() throws {
        for name in ["a", "c1-size-zero", "9lives", "explore-link-a+b", "v1.2_x", String(repeating: "n", count: 128)] {
            #expect(error("scenario \(name)\nvm A") == nil, "\(name)")
        }
        for name in ["-x", ".hidden", "_x", "a/b", "a=b", "a,b", "a'b", String(repeating: "n", count: 129)] {
            let refused = try #require(error("scenario \(name)\nvm A"), "\(name)")
            #expect(refused.line == 1 && refused.column == 10, "\(refused)")
            #expect(refused.message.contains("is not a scenario name (1 to 128 characters"), "\(refused)")
        }
        let twice = try #require(error("scenario a\nvm A\nscenario a\nvm B"))
        #expect(twice.line == 3 && twice.column == 10 && twice.message.contains("already defined on line 1"))
        let implicit = try #require(error("vm A\nscenario f.gmem\nvm B"))
        #expect(implicit.line == 2 && implicit.message.contains("before the first header (line 1)"), "\(implicit)")
    }

    @Test("numbers are spelled as the grammar lists them (with the nearest valid spelling) and read by value")
    func numberSpelling() throws {
        #expect(error("anon U len=+4096")?.message.contains("did you mean '4096'?") == true)
        #expect(error("anon U len=4k")?.message.contains("did you mean '4K'?") == true)
        #expect(error("anon U len=0X1000")?.message.contains("did you mean '0x1000'?") == true)
        #expect(error("anon U len=0x1K")?.message.contains("is not a number") == true)
        let text = "anon U len=0x0000000000000001000\nanon V len=000000000000000000000004096\nanon W len=2M+4K-0x1000"
        let steps = try #require(try ScenarioFormat.parse(text, source: "x").first).steps
        #expect(
            steps.map(\.action) == [
                .mapAnonymous(name: "U", length: 4096, protection: 3),
                .mapAnonymous(name: "V", length: 4096, protection: 3),
                .mapAnonymous(name: "W", length: 2 << 20, protection: 3),
            ])
    }

    @Test("a key of an outcome, a rule id or a requirement given twice is an error at its column")
    func duplicates() throws {
        let fault = try #require(error("vm A\nguest A gpa=0 read -> fault gpa=0 gpa=4096"))
        #expect(fault.line == 2 && fault.column == 35 && fault.message.contains("gpa= given twice"))
        let rule = try #require(error("scenario a rules=B5,B5\nvm A"))
        #expect(rule.line == 1 && rule.column == 21 && rule.message.contains("B5 given twice"))
        let requirement = try #require(error("scenario a requires=debugfs,debugfs\nvm A"))
        #expect(requirement.line == 1 && requirement.column == 29)
        #expect(error("vm A\nstat A -> stat size=0 size=0")?.message.contains("size= given twice") == true)
    }

    @Test("a byte that is not UTF-8 in a comment is an error at its line and column (in characters)")
    func notUTF8() throws {
        let bytes = Array("vm A\n# café ".utf8) + [0xFF] + Array(" x\n".utf8)
        #expect(
            throws: ScenarioFormat.ParseError(
                source: "f.gmem", line: 2, column: 8,
                message: "byte 0xFF is not UTF-8 (a scenario file is UTF-8 text; comments may hold any character)")
        ) {
            try ScenarioFormat.parse(bytes: bytes, source: "f.gmem")
        }
        #expect(try ScenarioFormat.parse(bytes: Array("vm A # café\n".utf8), source: "f.gmem").first?.steps.count == 1)
    }

    @Test(
        "LF, CRLF and CR line ends and a byte-order mark are accepted; an empty file or one without steps is an error")
    func lineEnds() throws {
        for text in [
            "vm A\ngmem F A size=0 -> ok\n", "vm A\r\ngmem F A size=0 -> ok\r\n", "vm A\rgmem F A size=0 -> ok\r",
            "\u{FEFF}vm A\ngmem F A size=0 -> ok",
        ] {
            let steps = try #require(try ScenarioFormat.parse(text, source: "x").first).steps
            #expect(steps.count == 2)
            #expect(steps[1].line == 2)
            #expect(steps[1].expected == .ok)
        }
        #expect(error("")?.message.contains("no scenario") == true)
        #expect(error("# only a comment\n\n")?.message.contains("no scenario") == true)
        #expect(error("scenario a\nscenario b\nvm A")?.message.contains("scenario 'a' has no steps") == true)
        #expect(error("scenario a\nvm A\nscenario a\nvm A")?.message.contains("already defined") == true)
    }

    @Test("every outcome prints as text that parses back to the same outcome (EFAULT the errno is not efault)")
    func outcomesRoundTrip() throws {
        var outcomes: [Outcome] = [
            .ok, .written, .mmio, .userspaceFault, .anyError, .signal(7), .signal(11), .value(0), .value(0xBEEF),
            .value(.max), .memoryFault(gpa: 0x1000, size: 4096, flags: 0), .memoryFault(gpa: 0, size: 8192, flags: 8),
            .errnoAt(11, errorOffset: 8192), .status(StatusPattern(type: .regular, mode: 0o600, size: 4096)),
        ]
        outcomes += errnoTable.map { Outcome.errno($0.1) }
        let scenario = Scenario(
            name: "outcomes", rules: [],
            steps: [Step(.mapAnonymous(name: "U", length: 4096, protection: 3))]
                + outcomes.map { Step(.hostRead(mapping: "U", offset: 0, width: .double), expect: $0) })
        let text = ScenarioFormat.text(of: scenario)
        let parsed = try #require(try ScenarioFormat.parse(text, source: "x").first)
        #expect(parsed.steps.map(\.expected) == scenario.steps.map(\.expected), "\(text)")
        #expect(
            try ScenarioFormat.parse("anon U len=4K\nread U -> EFAULT", source: "x")[0].steps[1].expected == .errno(14))
        #expect(
            try ScenarioFormat.parse("anon U len=4K\nread U -> efault", source: "x")[0].steps[1].expected
                == .userspaceFault)
    }

    @Test("outcome words are case-sensitive: a keyword in another case is an error at its column naming the spelling")
    func outcomeCase() throws {
        let keywords =
            ScenarioFormat.outcomeKeywords + ["EINVAL", "EBADF", "EFAULT", "EAGAIN", "ENOTSUP", "EWOULDBLOCK"]
        var checked = 0
        for keyword in keywords {
            // The keyword with its first letter in the other case, and wholly in the other case.
            let first = keyword.prefix(1)
            let flipped = (first == first.uppercased() ? first.lowercased() : first.uppercased()) + keyword.dropFirst()
            let whole = keyword == keyword.uppercased() ? keyword.lowercased() : keyword.uppercased()
            for (variant, meant) in [(flipped, keyword), (whole, nil as String?)] {
                if keyword == "efault" && variant == "EFAULT" || keyword == "EFAULT" && variant == "efault" {
                    continue  // both are outcomes (checked by the round trip)
                }
                let refused = try #require(error("anon U len=4K\nread U  ->  \(variant) 0"), "\(variant)")
                #expect(refused.line == 2 && refused.column == 13, "\(refused)")
                #expect(refused.message.hasPrefix("unknown outcome '\(variant)'"), "\(refused)")
                #expect(refused.message.contains("did you mean '\(meant ?? keyword)'?"), "\(refused)")
                checked += 1
            }
        }
        #expect(checked == keywords.count * 2 - 2)
        // The nearest spelling among outcomes that differ only in case is the one closest in case.
        #expect(error("anon U len=4K\nread U -> Efault")?.message.contains("did you mean 'efault'?") == true)
        #expect(error("anon U len=4K\nread U -> eFAULT")?.message.contains("did you mean 'EFAULT'?") == true)
        // error_offset= is a key: exact as well.
        let offset = try #require(error("anon U len=4K\nread U -> EAGAIN Error_offset=0"))
        #expect(offset.column == 18 && offset.message.contains("unexpected word 'Error_offset=0'"), "\(offset)")
    }

    @Test("flag symbols are case-sensitive (nearest spelling); cap takes a KVM_CAP_ name in any case, on purpose")
    func symbolCase() throws {
        let flags = try #require(error("vm A\ngmem F A size=4K flags=mmap|INIT_SHARED"))
        #expect(flags.line == 2 && flags.column == 29, "\(flags)")
        #expect(flags.message.contains("flags=mmap|INIT_SHARED: 'INIT_SHARED' is not one of"), "\(flags)")
        #expect(flags.message.contains("did you mean 'init_shared'?"), "\(flags)")
        let prot = try #require(error("anon U len=4K prot=RW"))
        #expect(prot.column == 20 && prot.message.contains("did you mean 'rw'?"), "\(prot)")
        let key = try #require(error("anon U Len=4K"))
        #expect(key.column == 8 && key.message.contains("did you mean 'len'?"), "\(key)")
        let verb = try #require(error("VM A"))
        #expect(verb.column == 1 && verb.message.contains("did you mean 'vm'?"), "\(verb)")
        let steps = try #require(
            try ScenarioFormat.parse(
                "kvm K\ncap K guest_memfd\ncap K KVM_CAP_GUEST_MEMFD\ncap K Kvm_Cap_Guest_Memfd\ncap K GUEST_MEMFD",
                source: "x"
            ).first
        ).steps
        #expect(Set(steps.dropFirst().map(\.action)).count == 1)
    }

    @Test("a message quotes a number as the file writes it: negative, hex, size arithmetic, overflow, parts of a word")
    func numbersQuotedAsWritten() throws {
        for (text, line, column, message) in [
            ("anon U len=4K\nvm A\nregion A slot=0 size=4K uaddr=U+-1", 3, 33, "uaddr=U+-1: missing number"),
            ("anon U len=4K\nvm A\nregion A slot=0 size=4K uaddr=U+", 3, 33, "uaddr=U+: missing number"),
            (
                "anon U len=4K\nvm A\nregion A slot=0 size=4K uaddr=U-16K+0x1FFFFFFFFFFFFFFFF", 3, 37,
                "uaddr=U-16K+0x1FFFFFFFFFFFFFFFF is out of range (a term must fit 64 bits"
            ),
            (
                "vm A\ngmem F A size=4K\nfallocate F mode=-0x80000001 len=4K", 3, 18,
                "mode=-0x80000001 is out of range for a 32-bit signed field (int)"
            ),
            (
                "vm A\nregion A slot=0x100000000 size=4K", 2, 15,
                "slot=0x100000000 is out of range for a 32-bit unsigned field (__u32)"
            ),
            ("raw Z fd=4K+3", 1, 10, "fd=4K+3: raw descriptors are 0–2"),
            ("anon U len=16K-1\npin U len=16K-1", 2, 11, "len=16K-1: pin takes 1 to 16 whole pages"),
            ("anon U len=16K\npin U offset=-1 len=4K", 2, 14, "offset=-1: pin takes whole pages"),
            (
                "anon U len=18446744073709551616", 1, 12,
                "len=18446744073709551616 is out of range (a term must fit 64 bits"
            ),
            ("anon U len=0xFFFFFFFFFFFFFFFF+1", 1, 12, "len=0xFFFFFFFFFFFFFFFF+1 is out of range for a 64-bit"),
            ("vm A\nguest A gpa=-1 read", 2, 13, "gpa=-1: guest accesses are 8 bytes at a page start"),
            ("vm A\nguest A gpa=4K+1 read", 2, 13, "gpa=4K+1: guest accesses are 8 bytes at a page start"),
            (
                "vm A\nregion A slot=0 size=4K flags=readonly|0x100000000", 2, 40,
                "flags=readonly|0x100000000: '0x100000000' is out of range for a 32-bit unsigned field"
            ),
            ("kvm K\ncap K 0x10000000000000000", 2, 7, "0x10000000000000000 is out of range (a term must fit"),
            (
                "kvm K\ncap K 1 -> value 0x10000000000000000", 2, 18,
                "value 0x10000000000000000 is out of range (a term must fit"
            ),
            ("kvm K\ncap K 1 -> value 16K-", 2, 22, "value 16K-: missing number"),
            ("vm A\nguest A gpa=0 read -> fault gpa=-0x1K", 2, 34, "gpa=-0x1K: '0x1K' is not a number"),
            ("vm A\nstat A -> stat size=4k", 2, 21, "size=4k: '4k' is not how the language writes a number"),
            ("vm A\nattrs A size=4K -> EAGAIN error_offset=+8", 2, 40, "error_offset=+8: a number starts with a digit"),
        ] {
            let refused = try #require(error(text), "\(text)")
            #expect(refused.line == line && refused.column == column, "\(text): \(refused)")
            #expect(refused.message.contains(message), "\(text): \(refused)")
        }
    }

    @Test("a step's problem quotes the step as the file writes it, not as the language prints it back")
    func problemsQuoteTheFile() throws {
        let text =
            "kvm K\ncap K 1   -> value -1\nanon U len=4K\nread U offset=-1 -> ok   # comment\nread U width=1 -> value 0x01"
        let scenario = try #require(try ScenarioFormat.parse(text, source: "x").first)
        #expect(scenario.steps[1].actionText == "cap K 1" && scenario.steps[1].expectationText == "value -1")
        let result = ConformanceRunner(selection: .model, capabilities: .referenceHost).run(scenario)
        let problems = result.steps.flatMap(\.problems)
        #expect(problems.contains { $0.hasPrefix("cap K 1: expected value -1, model gave value ") }, "\(problems)")
        #expect(problems.contains("read U offset=-1: expected ok, model gave SIGSEGV"), "\(problems)")
        #expect(problems.contains("read U width=1: expected value 0x01, model gave value 0"), "\(problems)")
        // A step built in code has no text of its own: it is printed.
        let built = Step(.hostRead(mapping: "U", offset: 1, width: .byte), expect: .ok)
        #expect(built.actionText == "read U offset=1 width=1" && built.expectationText == "ok")
    }

    @Test("requires= takes a list")
    func requiresList() throws {
        let scenario = try #require(
            try ScenarioFormat.parse("scenario s requires=memory-attributes,protected-vm\nvm A", source: "x").first)
        #expect(scenario.requires == [.memoryAttributes, .protectedVM])
    }

    @Test("the whole catalogue passes on the model, as the reference host and as upstream")
    func catalogueOnModel() {
        for capabilities in [ModelCapabilities.referenceHost, .upstream] {
            let runner = ConformanceRunner(selection: .model, capabilities: capabilities)
            for scenario in Catalogue.scenarios {
                let result = runner.run(scenario)
                #expect(
                    result.status == .passed || result.status == .skipped,
                    "\(scenario.name): \(result.firstProblem ?? "")")
            }
        }
    }

    @Test("random sequences are deterministic for a seed and reach every action of the language")
    func generatorIsDeterministic() {
        var a = SplitMix64(seed: 9)
        var b = SplitMix64(seed: 9)
        let first = RandomDifferential.sequence(length: 50, generator: &a, name: "x")
        let second = RandomDifferential.sequence(length: 50, generator: &b, name: "x")
        #expect(first == second)
        var generator = SplitMix64(seed: 3)
        var keywords: Set<String> = []
        for _ in 0..<300 {
            for step in RandomDifferential.sequence(length: 40, generator: &generator, name: "x").steps {
                keywords.insert(String(step.action.keyword.split(separator: " ")[0]))
            }
        }
        #expect(keywords == Set(ScenarioFormat.actions))
    }
}
