/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the
 * checksum of the telemetry spool's and outbox's frames: it catches a
 * torn write or a flipped bit, it does not stand against an attacker.
 */
#ifndef PH_CRC32C_H
#define PH_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t	crc32c(const void *buf, size_t len);

#endif
