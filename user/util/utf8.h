/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* UTF-8 validation for text that leaves the tool (JSON, Prometheus). */
#ifndef EGR_UTF8_H
#define EGR_UTF8_H

#include <stddef.h>

/* Length (1-4) of the valid UTF-8 sequence at s, or 0: a stray continuation
 * byte, a truncated sequence (s ends early: the NUL is not a continuation
 * byte), an overlong form, a surrogate or a code point beyond U+10FFFF.
 */
size_t utf8_len(const unsigned char *s);

#endif /* EGR_UTF8_H */
