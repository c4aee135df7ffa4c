// CChecksum: CRC32C (Castagnoli), the checksum of every chunk of a GmemKit snapshot
// (docs/snapshot-format.md). The SSE4.2 `crc32` instruction where the CPU has it, a
// slice-by-8 table otherwise; both give the same values (checked by the tests).

#ifndef CCHECKSUM_H
#define CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends `crc` (0 to start) over `length` bytes at `data`; the result of one call over a
/// buffer equals that of consecutive calls over its pieces.
uint32_t gmem_crc32c(uint32_t crc, const void *data, size_t length);
/// The same with the table only (for tests that compare the two paths).
uint32_t gmem_crc32c_software(uint32_t crc, const void *data, size_t length);
/// 1 when gmem_crc32c uses the SSE4.2 instruction on this CPU.
int gmem_crc32c_is_hardware(void);

#ifdef __cplusplus
}
#endif

#endif
