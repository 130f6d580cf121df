/*
 * lmdb-baseline: what raw LMDB does on this machine, for tools/bench to
 * compare Sunledger's import, verify and export against.
 *
 *   cc -O2 tools/lmdb-baseline.c -llmdb -o lmdb-baseline
 *   ./lmdb-baseline DIR [N] [VALUE_BYTES] [--nometasync]
 *
 * DIR        an LMDB environment directory, created if missing; it must not
 *            hold values already (give a fresh one per run)
 * N          number of values (default 1000000)
 * VALUE_BYTES size of each value (default 300, about one interchange line)
 *
 * (a) Append: N values keyed by 8-byte big-endian sequence numbers 1..N, put
 *     with MDB_APPEND in write transactions of 50,000 values. Every commit is
 *     durable (no MDB_NOSYNC, no MDB_MAPASYNC: see shared/limits.md). With
 *     --nometasync the environment uses MDB_NOMETASYNC (safe: an OS crash can
 *     undo the last commit but never corrupt) and one mdb_env_sync(env, 1)
 *     after the last commit, counted in the append time.
 * (b) Scan: one read transaction, a cursor from first to last, every byte of
 *     every key and value read into a checksum so no read can be skipped.
 *     The pages were just written, so this is a warm-cache scan.
 *
 * Prints one JSON line on stdout:
 *   {"n":N,"valueBytes":300,"appendPerSec":...,"scanPerSec":...,
 *    "appendSeconds":...,"scanSeconds":...,"nometasync":false}
 * Every LMDB call is checked; on failure it names the call, prints
 * mdb_strerror and exits 1. Usage errors exit 2.
 */

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { VALUES_PER_TRANSACTION = 50000 };

/* Stop with the failing call's name and LMDB's explanation. */
#define CHECK(call)                                                          \
    do {                                                                     \
        int rc_ = (call);                                                    \
        if (rc_ != MDB_SUCCESS) {                                            \
            fprintf(stderr, "lmdb-baseline: %s failed: %s\n", #call,         \
                    mdb_strerror(rc_));                                      \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void big_endian_u64(uint64_t v, unsigned char out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

/* Reads every byte of a value: a wrapping sum of its 8-byte words and then
 * its last few bytes. Word-wise so that the read, not the arithmetic, is what
 * is measured (a byte-at-a-time loop runs at a third of the speed at -O2). */
static uint64_t touch(const void *bytes, size_t size)
{
    const unsigned char *p = bytes;
    uint64_t sum = 0, word;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        memcpy(&word, p + i, 8);
        sum += word;
    }
    for (; i < size; i++)
        sum += p[i];
    return sum;
}

static int usage(const char *why)
{
    fprintf(stderr,
            "lmdb-baseline: %s\n"
            "usage: lmdb-baseline DIR [N] [VALUE_BYTES] [--nometasync]\n"
            "  N defaults to 1000000 values, VALUE_BYTES to 300\n",
            why);
    return 2;
}

/* A positive decimal integer no larger than max, or 0 when it is not one. */
static uint64_t parse_count(const char *text, uint64_t max)
{
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        return 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max)
        return 0;
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    uint64_t n = 1000000, value_bytes = 300;
    int positional = 0, nometasync = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--nometasync") == 0) {
            nometasync = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage("raw-LMDB append and scan baseline");
            return 0;
        } else if (argv[i][0] == '-') {
            return usage("unknown option");
        } else if (positional == 0) {
            dir = argv[i];
            positional++;
        } else if (positional == 1) {
            if ((n = parse_count(argv[i], UINT64_C(1) << 40)) == 0)
                return usage("N must be a positive integer");
            positional++;
        } else if (positional == 2) {
            if ((value_bytes = parse_count(argv[i], 1 << 24)) == 0)
                return usage("VALUE_BYTES must be between 1 and 16777216");
            positional++;
        } else {
            return usage("too many arguments");
        }
    }
    if (dir == NULL)
        return usage("the environment directory is missing");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lmdb-baseline: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }

    /* Room for the values, their keys and page overhead, at least 4 GiB. */
    size_t map_size = (size_t)4 << 30;
    double needed = (double)n * (double)(value_bytes + 64) * 1.5;
    if (needed > (double)map_size)
        map_size = (size_t)needed;

    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_mapsize(env, map_size));
    CHECK(mdb_env_open(env, dir, nometasync ? MDB_NOMETASYNC : 0, 0644));

    CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
    MDB_stat stat;
    CHECK(mdb_stat(txn, dbi, &stat));
    CHECK(mdb_txn_commit(txn));
    if (stat.ms_entries != 0) {
        fprintf(stderr, "lmdb-baseline: %s already holds %zu values; give an empty directory\n",
                dir, stat.ms_entries);
        return 1;
    }

    /* Varied value bytes (nothing in LMDB compresses, but be honest anyway);
     * the first 8 bytes of each value are overwritten with its number. */
    unsigned char *value = malloc(value_bytes);
    if (value == NULL) {
        fprintf(stderr, "lmdb-baseline: out of memory\n");
        return 1;
    }
    uint32_t x = 2463534242u;
    for (uint64_t i = 0; i < value_bytes; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        value[i] = (unsigned char)x;
    }

    /* (a) Append. */
    unsigned char key_bytes[8];
    MDB_val key = { sizeof key_bytes, key_bytes };
    MDB_val data = { (size_t)value_bytes, value };
    double append_start = now_seconds();
    for (uint64_t seq = 1; seq <= n;) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        for (int k = 0; k < VALUES_PER_TRANSACTION && seq <= n; k++, seq++) {
            big_endian_u64(seq, key_bytes);
            memcpy(value, key_bytes, value_bytes < 8 ? value_bytes : 8);
            key.mv_size = sizeof key_bytes;
            key.mv_data = key_bytes;
            data.mv_size = (size_t)value_bytes;
            data.mv_data = value;
            CHECK(mdb_put(txn, dbi, &key, &data, MDB_APPEND));
        }
        CHECK(mdb_txn_commit(txn));
    }
    if (nometasync)
        CHECK(mdb_env_sync(env, 1));
    double append_seconds = now_seconds() - append_start;

    /* (b) Scan, touching every byte. */
    MDB_cursor *cursor;
    uint64_t checksum = 0, seen = 0;
    double scan_start = now_seconds();
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK(mdb_cursor_open(txn, dbi, &cursor));
    int rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        checksum += touch(key.mv_data, key.mv_size) + touch(data.mv_data, data.mv_size);
        seen++;
        rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) {
        fprintf(stderr, "lmdb-baseline: mdb_cursor_get failed: %s\n", mdb_strerror(rc));
        return 1;
    }
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    double scan_seconds = now_seconds() - scan_start;

    if (seen != n) {
        fprintf(stderr, "lmdb-baseline: scanned %" PRIu64 " values, expected %" PRIu64 "\n",
                seen, n);
        return 1;
    }
    mdb_dbi_close(env, dbi);
    mdb_env_close(env);
    free(value);

    /* The checksum goes to stderr: it keeps the scan honest without changing
     * the one-line JSON on stdout. */
    fprintf(stderr, "lmdb-baseline: scan checksum %" PRIu64 "\n", checksum);
    printf("{\"n\":%" PRIu64 ",\"valueBytes\":%" PRIu64 ",\"appendPerSec\":%.0f,"
           "\"scanPerSec\":%.0f,\"appendSeconds\":%.6f,\"scanSeconds\":%.6f,"
           "\"nometasync\":%s}\n",
           n, value_bytes, (double)n / append_seconds, (double)n / scan_seconds,
           append_seconds, scan_seconds, nometasync ? "true" : "false");
    return 0;
}
