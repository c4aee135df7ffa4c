import GmemModel
import Testing

/// The rule registry as a whole: well-formed ids, every rule checked somewhere, profiles
/// named consistently, and the renderings carry every rule.
@Suite("Rule registry")
struct RegistryTests {
    @Test("ids are unique, well formed, in section order and numbered without gaps")
    func ids() {
        let ids = RuleRegistry.ids
        #expect(Set(ids).count == ids.count)
        var lastSection = -1
        var lastNumber: [Character: Int] = [:]
        for rule in RuleRegistry.rules {
            guard let section = rule.section else {
                Issue.record("\(rule.id) has no known section")
                continue
            }
            let order = ContractRule.Section.allCases.firstIndex(of: section)!
            #expect(order >= lastSection, "\(rule.id) is out of section order")
            lastSection = order
            let number = Int(rule.id.dropFirst())
            #expect(number == (lastNumber[section.rawValue] ?? 0) + 1, "\(rule.id) does not follow its predecessor")
            lastNumber[section.rawValue] = number ?? 0
            #expect(RuleRegistry.rule(rule.id) == rule)
        }
        #expect(RuleRegistry.rule("B5")?.scope == .host)
        #expect(RuleRegistry.rule("B" + "99") == nil)
    }

    @Test("every rule has a statement, a scope that fits its section, and at least one check")
    func contents() {
        for rule in RuleRegistry.rules {
            #expect(!rule.statement.isEmpty && rule.statement.hasSuffix("."), "\(rule.id)")
            #expect(!rule.statement.contains("\n"), "\(rule.id): one sentence, one line")
            #expect(!rule.verifiedBy.isEmpty, "\(rule.id) is checked by nothing")
            #expect((rule.section == .project) == (rule.scope == .project), "\(rule.id)")
            #expect(rule.section == .project || !rule.mirrors.isEmpty, "\(rule.id) mirrors no kernel function")
        }
    }

    @Test("every rule holds for, or says how it reads on, each profile, and names only known profiles")
    func profiles() {
        for rule in RuleRegistry.rules {
            for name in rule.holdsFor { #expect(KernelProfile.named(name) != nil, "\(rule.id): \(name)") }
            for other in rule.elsewhere {
                #expect(KernelProfile.named(other.profile) != nil, "\(rule.id): \(other.profile)")
                #expect(!rule.holdsFor.contains(other.profile), "\(rule.id) both holds and differs on \(other.profile)")
            }
            for profile in KernelProfile.all {
                #expect(
                    rule.holds(on: profile) || rule.elsewhere.contains { $0.profile == profile.name },
                    "\(rule.id) says nothing about \(profile.name)")
            }
        }
        // B6 is where 6.18 and the current upstream tree part: EINVAL against EEXIST.
        let b6 = RuleRegistry.rule("B6")!
        #expect(b6.holds(on: .v6_18) && !b6.holds(on: .next))
        #expect(b6.statement(on: .next).contains("EEXIST"))
        #expect(RuleRegistry.profileDependent.map(\.id).contains("B6"))
        #expect(KernelProfile.v6_18.overlappingBindingErrno == .EINVAL)
        #expect(KernelProfile.next.overlappingBindingErrno == .EEXIST)
    }

    @Test("the profile is picked from the release and the conversion capability")
    func detection() {
        #expect(KernelProfile.detect(release: "6.18.44-fc-v1045").profile == .v6_18)
        #expect(KernelProfile.detect(release: "6.18").profile == .v6_18)
        #expect(KernelProfile.detect(release: "6.19.2").profile == .next)
        #expect(KernelProfile.detect(release: "7.3.0-rc4").profile == .next)
        #expect(KernelProfile.detect(release: "6.8.0-45-generic").profile == .v6_18)
        #expect(KernelProfile.detect(release: "6.8.0").reason.contains("older"))
        #expect(KernelProfile.detect(release: "garbage").reason.contains("not MAJOR.MINOR"))
        #expect(KernelProfile.detect(release: "6.18.44", hasConversionCapability: true).profile == .next)
        #expect(KernelProfile.named("next") == .next && KernelProfile.named("6.19") == nil)
        #expect(KernelProfile.next.constants.contains { $0.provisional })
        #expect(!KernelProfile.v6_18.constants.contains { $0.provisional })
    }

    @Test("Markdown, JSON and the table carry every rule; JSON strings are escaped")
    func renderings() {
        let markdown = RuleDocument.markdown()
        let json = RuleDocument.json()
        let table = RuleDocument.table()
        for rule in RuleRegistry.rules {
            #expect(markdown.contains("### \(rule.id) [\(rule.scope.rawValue)]\n\n\(rule.statement)\n"), "\(rule.id)")
            #expect(json.contains("\"id\": \"\(rule.id)\""), "\(rule.id)")
            #expect(table.contains("\(rule.id) "), "\(rule.id)")
        }
        #expect(markdown.hasPrefix("# GMEM-SPEC"))
        #expect(json.hasPrefix("{\n  \"schemaVersion\": \(RuleDocument.schemaVersion),\n  \"profiles\": ["))
        #expect(markdown.contains("| `next` |"))
        #expect(!markdown.contains(".." + "/shared"))
        let odd = ContractRule(
            "C1", .host, "quote \" backslash \\ tab \t bell \u{7}.", mirrors: ["x"], verifiedBy: [.test("t")])
        let text = RuleDocument.json(rules: [odd], profiles: [])
        #expect(text.contains(#""statement": "quote \" backslash \\ tab \t bell \u0007.""#))
    }

    @Test("citations are found in every form the project writes them")
    func citations() {
        let prefix = "GMEM"
        let text = """
            // \(prefix)-B5, P3 and \(prefix)-B6, \(prefix)-B4: kvm_set_memory_region
            see \(prefix)-SPEC M1–M4 and \(prefix)-SPEC G2/G3; \(prefix)-SPEC.md is a file
            scenario x rules=L5,G2 requires=memory-attributes
            NOT\(prefix)-C1 nor \(prefix)-C1x
            """
        let found = RuleCitations.scan(text)
        #expect(found.map(\.id) == ["B5", "P3", "B6", "B4", "M1", "M2", "M3", "M4", "G2", "G3", "L5", "G2"])
        #expect(found.map(\.line) == [1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3])
        #expect(RuleCitations.ids(in: text) == ["B4", "B5", "B6", "G2", "G3", "L5", "M1", "M2", "M3", "M4", "P3"])
    }
}
