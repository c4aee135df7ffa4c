/// A benchmark figure: per-round values of the Swift path and of the C baseline, and what
/// `gmem bench` derives from them (median, spread, ratio, goal).
public struct Figure: Codable, Sendable, Equatable {
    public let name: String
    public let unit: String
    public let swift: [Double]
    public let c: [Double]
    /// Whether a smaller value is better (times) or a larger one (rates).
    public let lowerIsBetter: Bool
    /// The goal on Swift/C: at most this (times), at least this (rates); nil when none.
    public let goal: Double?
    public let command: String
    public let note: String

    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    public static func spread(_ values: [Double]) -> Double? {
        guard let median = median(values), median != 0, let low = values.min(), let high = values.max() else {
            return nil
        }
        return (high - low) / median
    }

    public var swiftMedian: Double? { Self.median(swift) }
    public var cMedian: Double? { Self.median(c) }
    public var swiftSpread: Double? { Self.spread(swift) }
    public var cSpread: Double? { Self.spread(c) }
    /// Swift/C of each round, when both sides ran the same rounds (each pair ran back to back,
    /// in the same host state); nil otherwise.
    public var roundRatios: [Double]? {
        guard !swift.isEmpty, swift.count == c.count, c.allSatisfy({ $0 > 0 }), swift.allSatisfy({ $0 >= 0 }) else {
            return nil
        }
        return zip(swift, c).map { $0 / $1 }
    }
    /// The median of the per-round ratios when the rounds pair up (a host that drifts between
    /// rounds moves both sides of a pair alike), else the ratio of the medians.
    public var ratio: Double? {
        if let roundRatios { return Self.median(roundRatios) }
        // A non-positive median (a memory delta swamped by the host's own churn) has no ratio.
        guard let s = swiftMedian, let c = cMedian, c > 0, s >= 0 else { return nil }
        return s / c
    }
    public var met: Bool? {
        guard let goal, let ratio else { return nil }
        return lowerIsBetter ? ratio <= goal : ratio >= goal
    }
    public var goalText: String? {
        guard let goal else { return nil }
        let bound = lowerIsBetter ? "≤ \(String(format: "%.2f", goal))" : "≥ \(String(format: "%.2f", goal))"
        return bound + (met.map { $0 ? "  met" : "  MISSED" } ?? "")
    }

    public init(
        name: String, unit: String, swift: [Double], c: [Double], lowerIsBetter: Bool, goal: Double?,
        command: String, note: String
    ) {
        self.name = name
        self.unit = unit
        self.swift = swift
        self.c = c
        self.lowerIsBetter = lowerIsBetter
        self.goal = goal
        self.command = command
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case name, unit, swift, c, lowerIsBetter, goal, command, note
        case swiftMedian, cMedian, swiftSpread, cSpread, ratio, roundRatios, met
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(unit, forKey: .unit)
        try container.encode(swift, forKey: .swift)
        try container.encode(c, forKey: .c)
        try container.encode(lowerIsBetter, forKey: .lowerIsBetter)
        try container.encode(goal, forKey: .goal)
        try container.encode(command, forKey: .command)
        try container.encode(note, forKey: .note)
        try container.encode(swiftMedian, forKey: .swiftMedian)
        try container.encode(cMedian, forKey: .cMedian)
        try container.encode(swiftSpread, forKey: .swiftSpread)
        try container.encode(cSpread, forKey: .cSpread)
        try container.encode(ratio, forKey: .ratio)
        try container.encode(roundRatios, forKey: .roundRatios)
        try container.encode(met, forKey: .met)
    }

    /// Decodes the recorded fields; the derived ones (medians, spreads, ratios) are computed again.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try container.decode(String.self, forKey: .name),
            unit: try container.decode(String.self, forKey: .unit),
            swift: try container.decode([Double].self, forKey: .swift),
            c: try container.decode([Double].self, forKey: .c),
            lowerIsBetter: try container.decode(Bool.self, forKey: .lowerIsBetter),
            goal: try container.decodeIfPresent(Double.self, forKey: .goal),
            command: try container.decode(String.self, forKey: .command),
            note: try container.decode(String.self, forKey: .note))
    }
}
