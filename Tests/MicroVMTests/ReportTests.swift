import Foundation
import GuestImages
import KVM
import MicroVM
import TestSupport
import Testing

extension KernelTests {
    /// MicroVM's reports are the values `gmem run`, `restore` and `snapshot inspect` print: the
    /// JSON decodes back to the report's own values, and the text is formatted from them.
    @Suite("Micro-VM: reports are Encodable values with a text form")
    struct RunReportEncodingTests {
        static func object(_ value: some Encodable) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any])
        }

        @Test("a run's JSON carries schemaVersion and the README's keys, with the report's values")
        func runReport() throws {
            let report = try Machine.run(MachineConfig(name: "pingpong", image: GuestImages.pingpong, parameter: 50))
            #expect(report.succeeded)
            let json = try Self.object(report)
            #expect(json["schemaVersion"] as? Int == ReportFormat.schemaVersion)
            #expect(json["guest"] as? String == "pingpong")
            #expect(json["succeeded"] as? Bool == true)
            #expect(json["status"] as? Int == 0)
            #expect(json["cause"] as? String == "exited")
            #expect(json["detail"] as? String == report.cause.description)
            #expect(json["pings"] as? Int == 50)
            #expect(json["memoryBytes"] as? Int == Int(report.memorySize))
            #expect(json["totalNanoseconds"] as? Int == Int(report.totalTime.nanoseconds))
            #expect((json["exits"] as? [String: Int]) == report.exits)
            let regions = try #require(json["regions"] as? [[String: Any]])
            #expect(regions.map { $0["name"] as? String } == report.memory.map(\.name))
            #expect((json["registers"] as? [String: Any])?.isEmpty == true)
            let text = report.formatted()
            #expect(text.contains("── pingpong: the guest exited with status 0"))
            #expect(text.contains("   pings             50"))
            #expect(report.failureLines.isEmpty)
        }

        @Test("a crashed guest's report says why, with its register dump, in JSON and for stderr")
        func crashed() throws {
            let report = try Machine.run(
                MachineConfig(name: "crash", image: ELFImage.minimal(code: [0x0F, 0x0B]), memorySize: 4 << 20))
            #expect(!report.succeeded)
            let json = try Self.object(report)
            #expect(json["succeeded"] as? Bool == false)
            #expect(json["status"] == nil, "no exit status was written: the key is left out")
            #expect(json["cause"] as? String == report.cause.kind)
            #expect(report.failureLines.first == "\(report.cause)")
            let dumped = (json["registers"] as? [String: [String: Any]]) ?? [:]
            #expect(dumped.count == report.registerDumps.count)
            #expect(report.failureLines.count == 1 + report.registerDumps.count)
        }
    }
}
