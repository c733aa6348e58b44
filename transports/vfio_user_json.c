/* SPDX-License-Identifier: BSD-3-Clause */
/* vfio-user server: the VERSION capabilities JSON (protocol
 * VFIO_USER_VERSION, "version data"). A validating scanner of the whole
 * document (RFC 8259 grammar) without allocation or recursion: nesting is
 * kept in a 32-level bit stack, deeper documents are refused. Only the
 * numbers capabilities.max_msg_fds, capabilities.max_data_xfer_size and
 * capabilities.pgsizes are taken; every other key is checked and ignored.
 * A known key whose value is not a non-negative integer below 2^64, a
 * "capabilities" that is not an object, a top level that is not one object,
 * or any grammar error refuses the whole message. */
#include "vfio_user_internal.h"

#if VDM_CONFIG_VFIO_USER && VDM_CONFIG_PCI /* vdm/config.h: the whole file */

#define MAX_DEPTH 32u

/* Keys the scanner knows. */
#define K_NONE    0
#define K_CAPS    1
#define K_FDS     2
#define K_XFER    3
#define K_PGSIZES 4

struct jscan {
    const char *p;
    uint32_t i;
    uint32_t n;
};

/* The character at the scan position; NUL past the end (the document has
 * no NUL: it ends at the first one). */
static char cur(const struct jscan *j)
{
    char c = '\0';
    if (j->i < j->n) {
        c = j->p[j->i];
    }
    return c;
}

static int is_ws(char c)
{
    return (c == ' ') || (c == '\t') || (c == '\n') || (c == '\r');
}

static int is_digit(char c)
{
    return (c >= '0') && (c <= '9');
}

static int is_hex(char c)
{
    return is_digit(c) || ((c >= 'a') && (c <= 'f')) ||
           ((c >= 'A') && (c <= 'F'));
}

static void skip_ws(struct jscan *j)
{
    while ((j->i < j->n) && is_ws(j->p[j->i])) {
        j->i++;
    }
}

/* A string starting at the opening quote; [*b, *e) is its raw body. */
static int scan_string(struct jscan *j, uint32_t *b, uint32_t *e)
{
    j->i++; /* the quote */
    *b = j->i;
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->p[j->i];
        if (c == (unsigned char)'"') {
            *e = j->i;
            j->i++;
            return 0;
        }
        if (c < 0x20u) {
            return VDM_EINVAL;
        }
        if (c == (unsigned char)'\\') {
            char x;
            if ((j->i + 1u) >= j->n) {
                return VDM_EINVAL;
            }
            x = j->p[j->i + 1u];
            if (x == 'u') {
                uint32_t k;
                if ((j->n - j->i) < 6u) {
                    return VDM_EINVAL;
                }
                for (k = 2; k < 6u; k++) {
                    if (!is_hex(j->p[j->i + k])) {
                        return VDM_EINVAL;
                    }
                }
                j->i += 6u;
                continue;
            }
            if ((x != '"') && (x != '\\') && (x != '/') && (x != 'b') &&
                (x != 'f') && (x != 'n') && (x != 'r') && (x != 't')) {
                return VDM_EINVAL;
            }
            j->i += 2u;
            continue;
        }
        j->i++;
    }
    return VDM_EINVAL;
}

/* A number; *u gets its value when it is a plain non-negative integer that
 * fits (*is_uint 1), else *is_uint 0. */
static int scan_number(struct jscan *j, uint64_t *u, int *is_uint)
{
    uint64_t v = 0;
    int plain = 1;
    char c = cur(j);

    if (c == '-') {
        plain = 0;
        j->i++;
    }
    if (is_digit(cur(j)) == 0) {
        return VDM_EINVAL;
    }
    c = cur(j);
    if (c == '0') {
        j->i++;
    } else {
        while (is_digit(cur(j)) != 0) {
            uint64_t d = (uint64_t)(uint8_t)cur(j) - 48u; /* '0' */
            if (v > ((UINT64_MAX - d) / 10u)) {
                plain = 0; /* too big: not usable, still valid JSON */
            } else {
                v = (v * 10u) + d;
            }
            j->i++;
        }
    }
    c = cur(j);
    if (c == '.') {
        plain = 0;
        j->i++;
        if (is_digit(cur(j)) == 0) {
            return VDM_EINVAL;
        }
        while (is_digit(cur(j)) != 0) {
            j->i++;
        }
    }
    c = cur(j);
    if ((c == 'e') || (c == 'E')) {
        plain = 0;
        j->i++;
        c = cur(j);
        if ((c == '+') || (c == '-')) {
            j->i++;
        }
        if (is_digit(cur(j)) == 0) {
            return VDM_EINVAL;
        }
        while (is_digit(cur(j)) != 0) {
            j->i++;
        }
    }
    *u = v;
    *is_uint = plain;
    return 0;
}

static int scan_literal(struct jscan *j, const char *lit, uint32_t len)
{
    if (((j->n - j->i) < len) ||
        (__builtin_memcmp(j->p + j->i, lit, len) != 0)) {
        return VDM_EINVAL;
    }
    j->i += len;
    return 0;
}

static int key_is(const struct jscan *j, uint32_t b, uint32_t e,
                  const char *name, uint32_t len)
{
    return ((e - b) == len) && (__builtin_memcmp(j->p + b, name, len) == 0);
}

/* Which key this is, given the keys of the enclosing levels. */
static int classify(const struct jscan *j, uint32_t depth, int parent,
                    uint32_t b, uint32_t e)
{
    if (depth == 1u) {
        return (key_is(j, b, e, "capabilities", 12u) != 0) ? K_CAPS : K_NONE;
    }
    if ((depth == 2u) && (parent == K_CAPS)) {
        if (key_is(j, b, e, "max_msg_fds", 11u) != 0) {
            return K_FDS;
        }
        if (key_is(j, b, e, "max_data_xfer_size", 18u) != 0) {
            return K_XFER;
        }
        if (key_is(j, b, e, "pgsizes", 7u) != 0) {
            return K_PGSIZES;
        }
    }
    return K_NONE;
}

static void take(struct vfu_caps *c, int key, uint64_t v)
{
    if (key == K_FDS) {
        c->max_msg_fds = v;
    } else if (key == K_XFER) {
        c->max_data_xfer_size = v;
    } else {
        c->pgsizes = v;
    }
}

/* States of the scanner. */
#define S_VALUE        0
#define S_KEY_OR_END   1
#define S_KEY          2
#define S_VALUE_OR_END 3
#define S_AFTER        4

int vdmi_vfu_parse_caps(const char *json, uint32_t len, struct vfu_caps *c)
{
    struct jscan j = {json, 0, len};
    uint32_t stack = 0; /* bit d: level d+1 is an object */
    uint32_t depth = 0;
    int keys[3] = {K_NONE, K_NONE, K_NONE}; /* key at levels 1 and 2 */
    int state = S_VALUE;
    int done = 0;

    while (done == 0) {
        char ch;
        char close;
        int key;
        int is_obj;
        skip_ws(&j);
        if (j.i >= j.n) {
            return VDM_EINVAL; /* ended inside the document */
        }
        ch = j.p[j.i];
        key = ((depth >= 1u) && (depth <= 2u)) ? keys[depth] : K_NONE;
        is_obj = 0;
        if ((depth > 0u) && (((stack >> (depth - 1u)) & 1u) != 0u)) {
            is_obj = 1;
        }
        if ((state == S_KEY_OR_END) || (state == S_VALUE_OR_END)) {
            close = (state == S_KEY_OR_END) ? '}' : ']';
            if (ch == close) {
                j.i++;
                depth--;
                state = S_AFTER;
            } else {
                if (state == S_KEY_OR_END) {
                    state = S_KEY;
                } else {
                    state = S_VALUE;
                }
            }
            if ((state == S_AFTER) && (depth == 0u)) {
                done = 1;
            }
            continue;
        }
        if (state == S_KEY) {
            uint32_t b;
            uint32_t e;
            if ((ch != '"') || (scan_string(&j, &b, &e) != 0)) {
                return VDM_EINVAL;
            }
            if (depth <= 2u) {
                keys[depth] = classify(&j, depth, keys[1], b, e);
            }
            skip_ws(&j);
            ch = cur(&j);
            if (ch != ':') {
                return VDM_EINVAL;
            }
            j.i++;
            state = S_VALUE;
            continue;
        }
        if (state == S_AFTER) {
            close = (is_obj != 0) ? '}' : ']';
            if (ch == ',') {
                j.i++;
                state = S_VALUE;
                if (is_obj != 0) {
                    state = S_KEY;
                }
            } else if (ch == close) {
                j.i++;
                depth--;
                if (depth == 0u) {
                    done = 1;
                }
            } else {
                return VDM_EINVAL;
            }
            continue;
        }
        /* S_VALUE: the value of `key` when inside an object. */
        if (is_obj == 0) {
            key = K_NONE;
        }
        if ((depth == 0u) && (ch != '{')) {
            return VDM_EINVAL; /* the top level is one object */
        }
        if ((ch == '{') || (ch == '[')) {
            if (depth == MAX_DEPTH) {
                return VDM_EINVAL;
            }
            if ((key >= K_FDS) || ((key == K_CAPS) && (ch != '{'))) {
                return VDM_EINVAL;
            }
            if (ch == '{') {
                stack |= 1u << depth;
            } else {
                stack &= ~(1u << depth);
            }
            depth++;
            if (depth <= 2u) {
                keys[depth] = K_NONE;
            }
            j.i++;
            state = S_VALUE_OR_END;
            if (ch == '{') {
                state = S_KEY_OR_END;
            }
            continue;
        }
        if ((key != K_NONE) && ((key == K_CAPS) || (ch == '"') || (ch == 't') ||
                                (ch == 'f') || (ch == 'n'))) {
            return VDM_EINVAL; /* a known key of the wrong type */
        }
        if (ch == '"') {
            uint32_t b;
            uint32_t e;
            if (scan_string(&j, &b, &e) != 0) {
                return VDM_EINVAL;
            }
        } else if (ch == 't') {
            if (scan_literal(&j, "true", 4u) != 0) {
                return VDM_EINVAL;
            }
        } else if (ch == 'f') {
            if (scan_literal(&j, "false", 5u) != 0) {
                return VDM_EINVAL;
            }
        } else if (ch == 'n') {
            if (scan_literal(&j, "null", 4u) != 0) {
                return VDM_EINVAL;
            }
        } else {
            uint64_t v;
            int plain;
            if (scan_number(&j, &v, &plain) != 0) {
                return VDM_EINVAL;
            }
            if (key != K_NONE) {
                if (plain == 0) {
                    return VDM_EINVAL;
                }
                take(c, key, v);
            }
        }
        state = S_AFTER;
    }
    skip_ws(&j);
    return (j.i == j.n) ? 0 : VDM_EINVAL; /* nothing after the object */
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int vdm_vfiouser_json_left_out;
#endif
