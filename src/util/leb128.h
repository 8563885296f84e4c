/*
 * leb128.h — LEB128 readers, exactly as the Wasm binary format specifies.
 *
 * An N-bit integer uses at most ceil(N/7) bytes. Two distinct failures:
 *   LEB_TOO_LONG   the last permitted byte still has its continuation bit
 *                  set ("integer representation too long");
 *   LEB_TOO_LARGE  the last permitted byte carries bits beyond N: for
 *                  unsigned they must be 0, for signed they must all equal
 *                  the sign bit ("integer too large").
 * LEB_END means the input ended first. Too-large is checked before
 * too-long on the same byte, as the reference interpreter does.
 *
 * Contract: *pp < end is not required (an empty input gives LEB_END). On
 * success *pp is advanced past the number; on failure *pp points at the
 * offending byte (or at end), for error offsets. No allocation, no globals.
 */
#ifndef WM_LEB128_H
#define WM_LEB128_H

#include <stdint.h>

typedef enum leb_status {
    LEB_OK = 0,
    LEB_END,
    LEB_TOO_LONG,
    LEB_TOO_LARGE,
} leb_status;

/* Unsigned, at most `bits` (1..64) bits. */
static inline leb_status leb_read_u(const uint8_t **pp, const uint8_t *end,
                                    int bits, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    int n = bits;
    for (;;) {
        if (n <= 0) { *pp = p; return LEB_TOO_LONG; }
        if (p == end) { *pp = p; return LEB_END; }
        uint8_t b = *p;
        if (n < 7 && (unsigned)(b & 0x7f) >= (1u << n)) {
            *pp = p;
            return LEB_TOO_LARGE;
        }
        p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
        n -= 7;
    }
    *pp = p;
    *out = v;
    return LEB_OK;
}

/* Signed, at most `bits` (1..64) bits, sign-extended to 64. */
static inline leb_status leb_read_s(const uint8_t **pp, const uint8_t *end,
                                    int bits, int64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    int n = bits;
    uint8_t b;
    for (;;) {
        if (n <= 0) { *pp = p; return LEB_TOO_LONG; }
        if (p == end) { *pp = p; return LEB_END; }
        b = *p;
        if (n < 7) {
            unsigned mask = (0xffu << (n - 1)) & 0x7fu;
            if ((b & mask) != 0 && (b & mask) != mask) {
                *pp = p;
                return LEB_TOO_LARGE;
            }
        }
        p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        n -= 7;
        if (!(b & 0x80)) break;
    }
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    *pp = p;
    *out = (int64_t)v;
    return LEB_OK;
}

/* The common case, u32, with a one-byte fast path. */
static inline leb_status leb_read_u32(const uint8_t **pp, const uint8_t *end,
                                      uint32_t *out) {
    const uint8_t *p = *pp;
    if (p != end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return LEB_OK;
    }
    uint64_t v = 0;
    leb_status st = leb_read_u(pp, end, 32, &v);
    *out = (uint32_t)v;
    return st;
}

static inline leb_status leb_read_s32(const uint8_t **pp, const uint8_t *end,
                                      int32_t *out) {
    int64_t v = 0;
    leb_status st = leb_read_s(pp, end, 32, &v);
    *out = (int32_t)v;
    return st;
}

static inline leb_status leb_read_s64(const uint8_t **pp, const uint8_t *end,
                                      int64_t *out) {
    return leb_read_s(pp, end, 64, out);
}

#endif
