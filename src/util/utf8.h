/*
 * utf8.h — strict UTF-8 validation for Wasm names (Unicode 3.9 / RFC 3629):
 * no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
 * U+10FFFF, no truncated sequences. ASCII runs take a fast path.
 */
#ifndef WM_UTF8_H
#define WM_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k;            /* continuation bytes */
        uint8_t lo = 0x80, hi = 0xbf;   /* range of the 2nd byte */
        if (c >= 0xc2 && c <= 0xdf) k = 1;
        else if (c == 0xe0) { k = 2; lo = 0xa0; }
        else if (c >= 0xe1 && c <= 0xec) k = 2;
        else if (c == 0xed) { k = 2; hi = 0x9f; }
        else if (c >= 0xee && c <= 0xef) k = 2;
        else if (c == 0xf0) { k = 3; lo = 0x90; }
        else if (c >= 0xf1 && c <= 0xf3) k = 3;
        else if (c == 0xf4) { k = 3; hi = 0x8f; }
        else return false;
        if (k > n - i - 1) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        i += k + 1;
    }
    return true;
}

#endif
