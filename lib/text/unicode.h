/* Unicode support for the tokenizer: UTF-8 decoding that never fails,
 * character classes as the Qwen2 pre-tokenizer regex sees them, and NFC.
 * Internal to libqinfer. Tables come from lib/text/unicode_tables.h (generated).
 *
 * Invalid UTF-8 is never an error here: each byte that does not start a
 * well-formed sequence decodes, alone, to UNI_RAW(byte), a value above
 * U+10FFFF that has no class, combining class 0, no decomposition, never
 * composes, and encodes back to the same single byte. So NFC passes invalid
 * bytes through unchanged. */
#ifndef QINFER_UNICODE_H
#define QINFER_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* class flags (uni_class) */
#define UNI_L  1u   /* \p{L}: general category L* */
#define UNI_N  2u   /* \p{N}: Nd, Nl, No */
#define UNI_M  4u   /* \p{M}: Mn, Mc, Me */
#define UNI_WS 8u   /* \s: the White_Space property */

#define UNI_RAW(b)     (0x110000u + (uint32_t)(b))
#define UNI_IS_RAW(c)  ((c) >= 0x110000u)

/* Unicode version of the tables, e.g. "15.0.0". */
const char *uni_version(void);

/* Length of a UTF-8 sequence from its lead byte: 1..4, or 0 if b can not
 * start one (continuation bytes, C0, C1, F5..FF). */
int uni_utf8_len(unsigned char lead);
/* Whether b may be byte number i (1..3) of a sequence starting with lead:
 * the second byte's range depends on the lead (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
int uni_utf8_cont_ok(unsigned char lead, int i, unsigned char b);

/* Decode one character from s[0..n), n >= 1. Returns the bytes used (1..4);
 * an ill-formed sequence yields UNI_RAW(s[0]) and uses 1 byte. */
int uni_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Encode cp (or a UNI_RAW byte) into out[0..4); returns the length. */
int uni_encode(uint32_t cp, unsigned char *out);

unsigned uni_class(uint32_t cp);   /* UNI_* flags; 0 for other, unassigned, raw */
int uni_ccc(uint32_t cp);          /* canonical combining class */

/* 1 if s[0..n) is certainly in NFC already (every character has NFC_QC=Yes
 * and combining class 0), so uni_nfc would return it unchanged. */
int uni_nfc_quick(const char *s, size_t n);

/* NFC of in[0..n) into a new malloc'ed buffer *out (not NUL-terminated;
 * caller frees). Returns 0, or -1 when out of memory (*out is NULL then). */
int uni_nfc(const char *in, size_t n, char **out, size_t *out_n);

#endif
