/*
 * crc32c.h - CRC-32C (Castagnoli, the iSCSI/ext4 polynomial), the journal's
 * entry checksum. SSE4.2's crc32 instruction when the CPU has it (8 bytes per
 * instruction), else a table, one byte at a time. Same result either way.
 */
#ifndef SP_CRC32C_H
#define SP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues `crc` (0 to start) over n bytes. */
uint32_t sp_crc32c(uint32_t crc, const void *p, size_t n);
/* The table path alone, whatever the CPU (tests compare the two). */
uint32_t sp_crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
