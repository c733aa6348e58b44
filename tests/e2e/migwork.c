/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * migwork: the guest-side workload of tests/e2e/migrate.sh (built static;
 * the host runs the same binary for `expect` and `ctl`).
 *
 * Every 4 KiB block it writes carries its own identity and a checksum:
 *   0..7     magic "VDMMIGBK"
 *   8..15    block number on the disk (4 KiB units), little endian
 *   16..23   generation (0: the reference region, written once)
 *   24..31   salt (one per disk)
 *   32..4087 pseudo-random bytes seeded by (block, generation, salt)
 *   4088..   FNV-1a 64 of bytes 0..4087, little endian
 * so a block that is stale, misplaced or torn is told apart from the one
 * expected.
 *
 *   migwork prep  DEV FIRST N SALT
 *       write the reference region [FIRST, FIRST+N) at generation 0.
 *   migwork write DEV FIRST N SALT CPU CTL
 *       on vCPU CPU, write the region over and over, one generation after
 *       the other, in 64 KiB O_DIRECT writes, until block 0 of CTL holds
 *       the "go" mark (the host puts it there once migration completed);
 *       then read back and check every block against the generation last
 *       written to it (those writes went to the source's back-end), write
 *       one more whole generation (on the destination's) and check again.
 *       Prints "final GEN gens-before-go K blocks N".
 *   migwork read  DEV FIRST N SALT CPU CTL SLOTS
 *       on vCPU CPU, read the reference region into a buffer of SLOTS
 *       blocks, 64 KiB per O_DIRECT read, each round shifting which block
 *       lands in which slot, until the "go" mark; only then look at the
 *       buffer (the CPU never touches it while the device writes it) and
 *       check every slot holds the block last read into it. Device writes
 *       to guest memory that the migration did not carry (not in the dirty
 *       log) show up as stale slots. Prints "rounds R reads K slots S".
 *   migwork expect FIRST N SALT GEN
 *       print the blocks [FIRST, FIRST+N) of generation GEN to stdout.
 *   migwork ctl
 *       print the 4 KiB control block holding the "go" mark to stdout.
 * Exit status 0 when all is well, 1 on a mismatch (printed), 2 on misuse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BS    4096u
#define BATCH 16u /* blocks per request: 64 KiB */

static const char magic[8] = {'V', 'D', 'M', 'M', 'I', 'G', 'B', 'K'};
static const char go_mark[16] = "VDM-MIGRATION-GO";

static void put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void make_block(uint8_t *b, uint64_t lba, uint64_t gen, uint64_t salt)
{
    uint64_t x = (lba + 1) * 0x9e3779b97f4a7c15ull ^
                 (gen + 1) * 0xc2b2ae3d27d4eb4full ^
                 salt * 0x165667b19e3779f9ull;

    memcpy(b, magic, 8);
    put64(b + 8, lba);
    put64(b + 16, gen);
    put64(b + 24, salt);
    for (unsigned o = 32; o < BS - 8; o += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        put64(b + o, x);
    }
    put64(b + BS - 8, fnv(b, BS - 8));
}

/* What is wrong with block @p b, expected to be @p lba at @p gen; NULL
 * when nothing. */
static const char *check_block(const uint8_t *b, uint64_t lba, uint64_t gen,
                               uint64_t salt)
{
    static uint8_t want[BS];

    if (memcmp(b, magic, 8) != 0)
        return "no block header (never written there?)";
    if (get64(b + BS - 8) != fnv(b, BS - 8))
        return "checksum wrong (torn or corrupt)";
    if (get64(b + 8) != lba)
        return "another block's data (stale or misplaced)";
    if (get64(b + 24) != salt)
        return "another disk's data";
    if (get64(b + 16) != gen)
        return "another generation (stale)";
    make_block(want, lba, gen, salt);
    if (memcmp(b, want, BS) != 0)
        return "payload differs";
    return NULL;
}

static uint64_t num(const char *s)
{
    char *e;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &e, 0);
    if (errno != 0 || *e != '\0' || e == s) {
        fprintf(stderr, "migwork: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

static void *abuf(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("migwork: mmap");
        exit(2);
    }
    return p;
}

static int open_dev(const char *dev, int flags)
{
    int fd = open(dev, flags | O_DIRECT);
    if (fd < 0) {
        fprintf(stderr, "migwork: open %s: %s\n", dev, strerror(errno));
        exit(2);
    }
    return fd;
}

static void pin(uint64_t cpu)
{
    cpu_set_t s;

    CPU_ZERO(&s);
    CPU_SET((int)cpu, &s);
    if (sched_setaffinity(0, sizeof(s), &s) != 0) {
        perror("migwork: sched_setaffinity");
        exit(2);
    }
}

static void io(int fd, int wr, void *buf, size_t n, uint64_t blk)
{
    ssize_t r = wr ? pwrite(fd, buf, n, (off_t)(blk * BS))
                   : pread(fd, buf, n, (off_t)(blk * BS));
    if (r != (ssize_t)n) {
        printf("io-error %s block %llu: %s\n", wr ? "write" : "read",
               (unsigned long long)blk, r < 0 ? strerror(errno) : "short");
        exit(1);
    }
}

/* Has the host put the go mark in block 0 of @p ctl? Asked at most every
 * 100 ms. */
struct ctl {
    int fd;
    uint8_t *buf;
    uint64_t next_ns;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int go(struct ctl *c)
{
    uint64_t t = now_ns();

    if (t < c->next_ns)
        return 0;
    c->next_ns = t + 100000000ull;
    io(c->fd, 0, c->buf, BS, 0);
    return memcmp(c->buf, go_mark, sizeof(go_mark)) == 0;
}

static void ctl_open(struct ctl *c, const char *dev)
{
    c->fd = open_dev(dev, O_RDONLY);
    c->buf = abuf(BS);
    c->next_ns = 0;
}

static int verify(int fd, uint64_t first, uint64_t n, uint64_t salt,
                  const uint64_t *gen, const char *when)
{
    uint8_t *b = abuf(BATCH * BS);
    int bad = 0;

    for (uint64_t i = 0; i < n; i += BATCH) {
        io(fd, 0, b, BATCH * BS, first + i);
        for (unsigned k = 0; k < BATCH; k++) {
            const char *why =
                check_block(b + k * BS, first + i + k, gen[i + k], salt);
            if (why != NULL && bad++ < 5)
                printf("bad %s: block %llu (want generation %llu): %s\n", when,
                       (unsigned long long)(first + i + k),
                       (unsigned long long)gen[i + k], why);
        }
    }
    munmap(b, BATCH * BS);
    return bad;
}

static int do_write(char **a)
{
    int fd = open_dev(a[0], O_RDWR);
    uint64_t first = num(a[1]), n = num(a[2]), salt = num(a[3]);
    uint8_t *b = abuf(BATCH * BS);
    uint64_t *gen = calloc(n, sizeof(*gen)), g, i = 0, before;
    struct ctl c;
    int bad;

    if (gen == NULL || n == 0 || n % BATCH != 0)
        return 2;
    pin(num(a[4]));
    ctl_open(&c, a[5]);
    /* generations until the go mark (checked between requests) */
    for (g = 1;; g++) {
        for (i = 0; i < n && !go(&c); i += BATCH) {
            for (unsigned k = 0; k < BATCH; k++)
                make_block(b + k * BS, first + i + k, g, salt);
            io(fd, 1, b, BATCH * BS, first + i);
            for (unsigned k = 0; k < BATCH; k++)
                gen[i + k] = g;
        }
        if (i < n)
            break;
    }
    before = g - 1;
    bad = verify(fd, first, n, salt, gen, "after migration");
    /* one more whole generation, on the destination */
    g++;
    for (i = 0; i < n; i += BATCH) {
        for (unsigned k = 0; k < BATCH; k++)
            make_block(b + k * BS, first + i + k, g, salt);
        io(fd, 1, b, BATCH * BS, first + i);
        for (unsigned k = 0; k < BATCH; k++)
            gen[i + k] = g;
    }
    bad += verify(fd, first, n, salt, gen, "at the end");
    printf("final %llu gens-before-go %llu blocks %llu bad %d\n",
           (unsigned long long)g, (unsigned long long)before,
           (unsigned long long)n, bad);
    return bad != 0;
}

static int do_read(char **a)
{
    int fd = open_dev(a[0], O_RDONLY);
    uint64_t first = num(a[1]), n = num(a[2]), salt = num(a[3]),
             slots = num(a[6]);
    uint64_t groups = slots / BATCH, rounds = 0, reads = 0, filled = 0;
    uint8_t *buf;
    uint64_t *src; /* which reference block (index) each slot got last */
    struct ctl c;
    int bad = 0, stop = 0;

    if (n == 0 || n % BATCH != 0 || slots == 0 || slots % BATCH != 0)
        return 2;
    pin(num(a[4]));
    ctl_open(&c, a[5]);
    buf = abuf(slots * BS);
    src = calloc(slots, sizeof(*src));
    if (src == NULL)
        return 2;
    /* a pattern that is no block: a slot the device never wrote fails */
    memset(buf, 0xa5, slots * BS);
    for (uint64_t s = 0; s < slots; s++)
        src[s] = UINT64_MAX;
    while (!stop) {
        for (uint64_t g = 0; g < groups; g++) {
            uint64_t r = ((g + rounds) * BATCH) % n;

            if (go(&c)) {
                stop = 1;
                break;
            }
            io(fd, 0, buf + g * BATCH * BS, BATCH * BS, first + r);
            reads++;
            for (unsigned k = 0; k < BATCH; k++)
                src[g * BATCH + k] = r + k;
        }
        if (!stop)
            rounds++;
    }
    /* now, after migration, the buffer as the destination has it */
    for (uint64_t s = 0; s < slots; s++) {
        const char *why;

        if (src[s] == UINT64_MAX)
            continue;
        filled++;
        why = check_block(buf + s * BS, first + src[s], 0, salt);
        if (why != NULL && bad++ < 5)
            printf("bad slot %llu (read block %llu into it): %s\n",
                   (unsigned long long)s, (unsigned long long)(first + src[s]),
                   why);
    }
    printf("rounds %llu reads %llu slots %llu bad %d\n",
           (unsigned long long)rounds, (unsigned long long)reads,
           (unsigned long long)filled, bad);
    return bad != 0 || filled == 0;
}

static int do_prep(char **a)
{
    int fd = open_dev(a[0], O_RDWR);
    uint64_t first = num(a[1]), n = num(a[2]), salt = num(a[3]);
    uint8_t *b = abuf(BATCH * BS);

    if (n == 0 || n % BATCH != 0)
        return 2;
    for (uint64_t i = 0; i < n; i += BATCH) {
        for (unsigned k = 0; k < BATCH; k++)
            make_block(b + k * BS, first + i + k, 0, salt);
        io(fd, 1, b, BATCH * BS, first + i);
    }
    return fsync(fd) != 0;
}

static int do_expect(char **a)
{
    uint64_t first = num(a[0]), n = num(a[1]), salt = num(a[2]),
             gen = num(a[3]);
    static uint8_t b[BS];

    for (uint64_t i = 0; i < n; i++) {
        make_block(b, first + i, gen, salt);
        if (fwrite(b, 1, BS, stdout) != BS)
            return 1;
    }
    return fflush(stdout) != 0;
}

static int do_ctl(void)
{
    static uint8_t b[BS];

    memcpy(b, go_mark, sizeof(go_mark));
    return fwrite(b, 1, BS, stdout) != BS || fflush(stdout) != 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int nargs;
        int (*fn)(char **a);
    } cmd[] = {
        {"prep", 4, do_prep},
        {"write", 6, do_write},
        {"read", 7, do_read},
        {"expect", 4, do_expect},
    };

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "ctl") == 0)
        return do_ctl();
    for (size_t i = 0; argc >= 2 && i < sizeof(cmd) / sizeof(cmd[0]); i++)
        if (strcmp(argv[1], cmd[i].name) == 0 && argc == cmd[i].nargs + 2)
            return cmd[i].fn(argv + 2);
    fprintf(stderr, "usage: see the comment at the top of migwork.c\n");
    return 2;
}
