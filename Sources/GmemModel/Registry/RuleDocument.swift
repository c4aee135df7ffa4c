/// Renders the rule registry: the Markdown of `docs/GMEM-SPEC.md`, JSON for tools, and a
/// short table for a terminal. Pure string building (no Foundation); output is deterministic.
public enum RuleDocument {
    /// The whole specification as Markdown: the preface, the profiles, the numbers, every
    /// rule section by section, then the known kernel bugs. `docs/GMEM-SPEC.md` is exactly this text.
    public static func markdown(
        rules: [ContractRule] = RuleRegistry.rules,
        profiles: [KernelProfile] = KernelProfile.all,
        bugs: [KnownKernelBug] = KnownKernelBug.all
    ) -> String {
        var out = SpecText.preface
        out += "\n## Kernel profiles\n\n"
        out += SpecText.profilesIntroduction
        out += "\n| profile | what it is | overlapping file ranges (B6) |\n|---|---|---|\n"
        for profile in profiles {
            out += "| `\(profile.name)` | \(profile.summary) | `\(profile.overlappingBindingErrno)` |\n"
        }
        let provisional = profiles.flatMap { profile in
            profile.constants.filter(\.provisional).map { (profile.name, $0) }
        }
        if !provisional.isEmpty {
            out += "\nProvisional numbers (from postings, not released kernels: probe them, never assume them):\n\n"
            out += "| profile | name | value | source |\n|---|---|---|---|\n"
            for (name, constant) in provisional {
                out += "| `\(name)` | `\(constant.name)` | \(hex(constant.value)) | \(constant.source) |\n"
            }
        }
        out += "\n" + SpecText.numbers
        for section in ContractRule.Section.allCases {
            let members = rules.filter { $0.section == section }
            guard !members.isEmpty else { continue }
            out += "\n## \(section.rawValue) — \(section.title)\n"
            for rule in members { out += "\n" + markdown(rule, profiles: profiles) }
        }
        if !bugs.isEmpty {
            out += "\n## Known kernel bugs\n\n" + SpecText.knownKernelBugs
            for bug in bugs {
                out += "\n### \(bug.id) (breaks \(bug.rule))\n\n\(bug.explanation)\n\n"
                out += "- Rule: \(bug.rule)\n"
                out += "- Upstream function: `\(bug.function)`\n"
                out += "- Kernels seen: " + bug.kernelsSeen.map { "`\($0)`" }.joined(separator: ", ") + "\n"
            }
        }
        return out
    }

    /// One rule as a Markdown subsection.
    static func markdown(_ rule: ContractRule, profiles: [KernelProfile]) -> String {
        var out = "### \(rule.id) [\(rule.scope.rawValue)]\n\n\(rule.statement)\n\n"
        let holds = profiles.filter { rule.holds(on: $0) }.map { "`\($0.name)`" }
        out += "- Holds for: \(holds.isEmpty ? "no profile" : holds.joined(separator: ", "))\n"
        for other in rule.elsewhere {
            out += "- On `\(other.profile)`: \(other.statement)\n"
        }
        if !rule.mirrors.isEmpty {
            out += "- Mirrors: " + rule.mirrors.map(mirror).joined(separator: "; ") + "\n"
        }
        let scenarios = rule.verifiedBy.compactMap { check -> String? in
            if case .scenario(let name) = check { "`\(name)`" } else { nil }
        }
        let tests = rule.verifiedBy.compactMap { check -> String? in
            if case .test(let path) = check { "[`\(path)`](../\(path))" } else { nil }
        }
        if !scenarios.isEmpty { out += "- Scenarios: " + scenarios.joined(separator: ", ") + "\n" }
        if !tests.isEmpty { out += "- Tests: " + tests.joined(separator: ", ") + "\n" }
        return out
    }

    static func mirror(_ text: String) -> String {
        let prefix = "selftest "
        if text.hasPrefix(prefix) { return "selftest `" + text.dropFirst(prefix.count) + "`" }
        return "`\(text)`"
    }

    /// The version of the `--json` layout: bumped when a key changes meaning or goes away.
    public static let schemaVersion = 1

    /// The registry as one JSON object: `schemaVersion`, `profiles` (name, summary, overlappingBindingErrno,
    /// constants) and `rules` (id, section, scope, statement, holdsFor, elsewhere, mirrors,
    /// verifiedBy as `{kind, name}`), keys in a fixed order.
    public static func json(
        rules: [ContractRule] = RuleRegistry.rules,
        profiles: [KernelProfile] = KernelProfile.all
    ) -> String {
        var out = "{\n  \"schemaVersion\": \(schemaVersion),\n  \"profiles\": ["
        out += profiles.map { profile in
            let constants = profile.constants.map { constant in
                "{\"name\": \(quote(constant.name)), \"value\": \(constant.value), "
                    + "\"provisional\": \(constant.provisional), \"source\": \(quote(constant.source))}"
            }
            return "\n    {\"name\": \(quote(profile.name)), \"summary\": \(quote(profile.summary)), "
                + "\"overlappingBindingErrno\": \(quote(profile.overlappingBindingErrno.description)),\n"
                + "     \"constants\": [\n      " + constants.joined(separator: ",\n      ") + "]}"
        }.joined(separator: ",")
        out += "\n  ],\n  \"rules\": ["
        out += rules.map { rule in
            let elsewhere = rule.elsewhere.map {
                "{\"profile\": \(quote($0.profile)), \"statement\": \(quote($0.statement))}"
            }
            let checks = rule.verifiedBy.map { check -> String in
                switch check {
                case .scenario(let name): "{\"kind\": \"scenario\", \"name\": \(quote(name))}"
                case .test(let path): "{\"kind\": \"test\", \"name\": \(quote(path))}"
                }
            }
            return
                "\n    {\"id\": \(quote(rule.id)), \"section\": \(quote(rule.section.map { String($0.rawValue) } ?? "")), "
                + "\"scope\": \(quote(rule.scope.rawValue)),\n     \"statement\": \(quote(rule.statement)),\n"
                + "     \"holdsFor\": [\(rule.holdsFor.map(quote).joined(separator: ", "))], "
                + "\"elsewhere\": [\(elsewhere.joined(separator: ", "))],\n"
                + "     \"mirrors\": [\(rule.mirrors.map(quote).joined(separator: ", "))],\n"
                + "     \"verifiedBy\": [\(checks.joined(separator: ", "))]}"
        }.joined(separator: ",")
        out += "\n  ]\n}\n"
        return out
    }

    /// One line per rule for a terminal: id, scope, the profiles it holds for, statement.
    public static func table(rules: [ContractRule] = RuleRegistry.rules) -> String {
        var out = ""
        for rule in rules {
            let id = rule.id.padding(to: 4)
            let scope = rule.scope.rawValue.padding(to: 9)
            let holds = rule.holdsFor.joined(separator: ",").padding(to: 10)
            out += "\(id) \(scope) \(holds) \(rule.statement)\n"
            for other in rule.elsewhere {
                out += "\(String(repeating: " ", count: 15))on \(other.profile): \(other.statement)\n"
            }
        }
        return out
    }

    /// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}

extension String {
    /// The string padded with spaces on the right to at least `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
