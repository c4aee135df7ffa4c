import GmemConformance
import Testing

/// A byte that is not printable ASCII outside a comment is named as the file holds it: a byte
/// that is not UTF-8 by its value (not as U+FFFD, which the file does not hold), a character by
/// its code point, shown itself only when it is visible.
@Suite("Scenario files: bytes that are not printable ASCII")
struct ScenarioBytesTests {
    @Test(
        "each is an error at its column naming the byte or the code point",
        arguments: [
            ([0xFF], "byte 0xFF is not UTF-8"), ([0x80], "byte 0x80 is not UTF-8"),
            ([0xE2, 0x82], "byte 0xE2 is not UTF-8"), ([0xC0, 0x80], "byte 0xC0 is not UTF-8"),
            ([0x00], "unexpected character U+0000"), ([0x0B], "unexpected character U+000B"),
            ([0x7F], "unexpected character U+007F"), ([0xEF, 0xBB, 0xBF], "unexpected character U+FEFF"),
            ([0xC3, 0xA9], "unexpected character U+00E9 'é'"), ([0xC2, 0xA0], "unexpected character U+00A0"),
            ([0xF0, 0x9F, 0x98, 0x80], "unexpected character U+1F600 '😀'"),
        ] as [([UInt8], String)])
    func named(bytes: [UInt8], message: String) throws {
        let text = Array("vm V\ngmem F V size=4K ".utf8) + bytes + Array(" -> ok\n".utf8)
        let error = #expect(throws: ScenarioFormat.ParseError.self) {
            try ScenarioFormat.parse(bytes: text, source: "t.gmem")
        }
        #expect(error?.line == 2)
        #expect(error?.column == 18)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\u{FFFD}") == false)
    }
}
