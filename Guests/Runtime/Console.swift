// Guest runtime: console output, one `outb` per byte to port 0x3F8.
// No String (that would need allocation): text is StaticString, numbers
// are formatted digit by digit.

enum Console {
    static func write(_ text: StaticString) {
        let bytes = text.utf8Start
        for i in 0..<text.utf8CodeUnitCount {
            outb(Port.console, bytes[i])
        }
    }

    /// `value` in decimal.
    static func write(_ value: Int) {
        var magnitude = value.magnitude
        if value < 0 { outb(Port.console, UInt8(ascii: "-")) }
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            outb(Port.console, UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
    }

    /// `value` as `0x…` hexadecimal, without leading zeros.
    static func writeHex(_ value: Int) {
        let bits = UInt(bitPattern: value)
        write("0x")
        var shift = (UInt.bitWidth - 4)
        while shift > 0 && (bits >> UInt(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            let digit = UInt8(truncatingIfNeeded: (bits >> UInt(shift)) & 0xF)
            outb(Port.console, digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            shift -= 4
        }
    }

    /// A byte count as "N MiB", "N KiB" or "N bytes", whichever is exact.
    static func writeSize(_ bytes: Int) {
        if bytes != 0 && bytes % miB == 0 {
            write(bytes / miB)
            write(" MiB")
        } else if bytes != 0 && bytes % kiB == 0 {
            write(bytes / kiB)
            write(" KiB")
        } else {
            write(bytes)
            write(" bytes")
        }
    }
}
