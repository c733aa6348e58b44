/* SPDX-License-Identifier: BSD-3-Clause */
/* The library's SHA-256 and HMAC-SHA256 (src/sha256.c): the FIPS 180-4
 * example messages (NIST "SHA256.pdf" examples: "abc", the two-block
 * message, plus the empty message and one million 'a'), every padding
 * boundary against a one-shot digest fed in pieces, and RFC 4231 test cases
 * 1-7 for HMAC-SHA256. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void digest(const void *m, size_t n, uint8_t out[32])
{
    struct vdm_sha256 c;
    vdm_sha256_init(&c);
    vdm_sha256_update(&c, m, n);
    vdm_sha256_final(&c, out);
}

static void check_sha(const void *m, size_t n, const char *hex)
{
    uint8_t want[32], got[32];
    unhex(hex, want, 32);
    digest(m, n, got);
    ck_assert_mem_eq(got, want, 32);
}

START_TEST(sha256_fips_180_4_examples)
{
    check_sha(
        "abc", 3,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha(
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_sha(
        "", 0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(sha256_million_a_in_pieces)
{
    static uint8_t a[1000];
    struct vdm_sha256 c;
    uint8_t want[32], got[32];

    memset(a, 'a', sizeof(a));
    vdm_sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        vdm_sha256_update(&c, a, sizeof(a));
    vdm_sha256_final(&c, got);
    unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
          want, 32);
    ck_assert_mem_eq(got, want, 32);
}
END_TEST

/* Every length across the padding boundaries (55, 56, 63, 64, ...) gives
 * the same digest whether fed at once or byte by byte, and distinct
 * lengths give distinct digests. */
START_TEST(sha256_split_updates_match)
{
    uint8_t m[200], one[32], bytes[32], prev[32] = {0};
    for (unsigned i = 0; i < sizeof(m); i++)
        m[i] = (uint8_t)(i * 7u + 1u);
    for (size_t n = 0; n <= sizeof(m); n++) {
        struct vdm_sha256 c;
        digest(m, n, one);
        vdm_sha256_init(&c);
        for (size_t i = 0; i < n; i++)
            vdm_sha256_update(&c, m + i, 1);
        vdm_sha256_final(&c, bytes);
        ck_assert_mem_eq(one, bytes, 32);
        ck_assert(memcmp(one, prev, 32) != 0);
        memcpy(prev, one, 32);
    }
}
END_TEST

static void check_hmac(const uint8_t *key, size_t klen, const void *data,
                       size_t dlen, const char *hex, size_t maclen)
{
    struct vdm_hmac_sha256 h;
    uint8_t want[32], got[32];
    unhex(hex, want, maclen);
    vdm_hmac_sha256_init(&h, key, klen);
    vdm_hmac_sha256_update(&h, data, dlen);
    vdm_hmac_sha256_final(&h, got);
    ck_assert_mem_eq(got, want, maclen);
}

START_TEST(hmac_sha256_rfc4231)
{
    uint8_t k[131], d[50];

    /* Test Case 1 */
    memset(k, 0x0b, 20);
    check_hmac(
        k, 20, "Hi There", 8,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);
    /* Test Case 2: a key shorter than the output */
    check_hmac(
        (const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
    /* Test Case 3 */
    memset(k, 0xaa, 20);
    memset(d, 0xdd, 50);
    check_hmac(
        k, 20, d, 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32);
    /* Test Case 4 */
    for (unsigned i = 0; i < 25; i++)
        k[i] = (uint8_t)(i + 1);
    memset(d, 0xcd, 50);
    check_hmac(
        k, 25, d, 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32);
    /* Test Case 5: truncated to 128 bits */
    memset(k, 0x0c, 20);
    check_hmac(k, 20, "Test With Truncation", 20,
               "a3b6167473100ee06e0c796c2955552b", 16);
    /* Test Case 6: a key larger than the block, hashed first */
    memset(k, 0xaa, 131);
    check_hmac(
        k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
    /* Test Case 7: key and data larger than the block */
    {
        const char *m =
            "This is a test using a larger than block-size key and a larger "
            "than block-size data. The key needs to be hashed before being "
            "used by the HMAC algorithm.";
        check_hmac(
            k, 131, m, strlen(m),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            32);
    }
}
END_TEST

START_TEST(ct_equal_and_wipe)
{
    uint8_t a[32], b[32];
    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    ck_assert_int_eq(vdm_ct_equal(a, b, 32), 1);
    b[31] ^= 1;
    ck_assert_int_eq(vdm_ct_equal(a, b, 32), 0);
    b[31] ^= 1;
    b[0] ^= 0x80;
    ck_assert_int_eq(vdm_ct_equal(a, b, 32), 0);
    ck_assert_int_eq(vdm_ct_equal(a, b, 0), 1);
    vdm_wipe(a, sizeof(a));
    for (unsigned i = 0; i < sizeof(a); i++)
        ck_assert_uint_eq(a[i], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("sha256");
    tcase_add_test(tc, sha256_fips_180_4_examples);
    tcase_add_test(tc, sha256_million_a_in_pieces);
    tcase_add_test(tc, sha256_split_updates_match);
    tcase_add_test(tc, hmac_sha256_rfc4231);
    tcase_add_test(tc, ct_equal_and_wipe);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
