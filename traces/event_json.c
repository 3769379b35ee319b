/*
 * event_json.c - one trace event from its JSON object: the keys, their types
 * and ranges (syntax, not meaning: whether the id is live is the reader's
 * business). Messages say which key and what was expected.
 */
#include "event_json.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const op_names[TR_OPS] = {"alloc", "free", "realloc", "write", "read"};

/* Which keys each op takes (bit per key), and which it requires. */
enum { K_OP = 1, K_ID = 2, K_SIZE = 4, K_NEW_ID = 8, K_OFFSET = 16, K_LEN = 32, K_THREAD = 64, K_ALIGN = 128 };
static const struct { const char *name; unsigned bit; } keys[] = {
    {"op", K_OP}, {"id", K_ID}, {"size", K_SIZE}, {"new_id", K_NEW_ID}, {"offset", K_OFFSET},
    {"len", K_LEN}, {"thread", K_THREAD}, {"align", K_ALIGN},
};
static const unsigned allowed[TR_OPS] = {
    [TR_ALLOC] = K_OP | K_ID | K_SIZE | K_THREAD | K_ALIGN,
    [TR_FREE] = K_OP | K_ID | K_THREAD,
    [TR_REALLOC] = K_OP | K_ID | K_NEW_ID | K_SIZE | K_THREAD | K_ALIGN,
    [TR_WRITE] = K_OP | K_ID | K_OFFSET | K_LEN | K_THREAD,
    [TR_READ] = K_OP | K_ID | K_OFFSET | K_LEN | K_THREAD,
};
static const unsigned required[TR_OPS] = {
    [TR_ALLOC] = K_OP | K_ID | K_SIZE,
    [TR_FREE] = K_OP | K_ID,
    [TR_REALLOC] = K_OP | K_ID | K_NEW_ID | K_SIZE,
    [TR_WRITE] = K_OP | K_ID | K_OFFSET | K_LEN,
    [TR_READ] = K_OP | K_ID | K_OFFSET | K_LEN,
};

static int uint_value(const json_t *v, const char *k, uint64_t max, uint64_t *out, char *msg, size_t len)
{
    if (!json_is_integer(v)) {
        snprintf(msg, len, "\"%s\" must be a non-negative integer", k);
        return TR_ESYNTAX;
    }
    json_int_t x = json_integer_value(v);
    if (x < 0) {
        snprintf(msg, len, "\"%s\" is negative (%lld)", k, (long long)x);
        return TR_ESYNTAX;
    }
    if ((uint64_t)x > max) {
        snprintf(msg, len, "\"%s\" is absurdly large (%lld; at most %llu)", k, (long long)x,
                 (unsigned long long)max);
        return TR_ESYNTAX;
    }
    *out = (uint64_t)x;
    return 0;
}

int tr_event_from_json(const json_t *o, uint32_t threads, tr_event *e, char *msg, size_t len)
{
    memset(e, 0, sizeof *e);
    if (!json_is_object(o)) {
        snprintf(msg, len, "expected an event object like {\"op\":\"alloc\",\"id\":1,\"size\":64}");
        return TR_ESYNTAX;
    }
    json_t *op = json_object_get(o, "op");
    if (!json_is_string(op)) {
        snprintf(msg, len, "expected \"op\": one of alloc, free, realloc, write, read");
        return TR_ESYNTAX;
    }
    int opi = 0;
    while (opi < TR_OPS && strcmp(json_string_value(op), op_names[opi]) != 0)
        opi++;
    if (opi == TR_OPS) {
        snprintf(msg, len, "unknown event \"%.40s\" (expected alloc, free, realloc, write, read)",
                 json_string_value(op));
        return TR_ESYNTAX;
    }
    e->op = (tr_op)opi;
    /* One pass over the keys (a lookup per key would hash each again). */
    static const uint64_t max[] = {0, UINT64_MAX >> 1, TR_MAX_SIZE, UINT64_MAX >> 1, TR_MAX_SIZE,
                                   TR_MAX_SIZE, TR_MAX_THREADS - 1, 1u << 30};
    uint64_t thread = 0;
    uint64_t *dest[] = {NULL, &e->id, &e->size, &e->new_id, &e->offset, &e->len, &thread, &e->align};
    unsigned present = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(k, keys[i].name) != 0)
            i++;
        if (i == sizeof keys / sizeof keys[0] || !(allowed[opi] & keys[i].bit)) {
            snprintf(msg, len, "unexpected key \"%.40s\" in a %s event", k, op_names[opi]);
            return TR_ESYNTAX;
        }
        present |= keys[i].bit;
        int rc;
        if (dest[i] && (rc = uint_value(v, keys[i].name, max[i], dest[i], msg, len)))
            return rc;
    }
    if ((present & required[opi]) != required[opi]) {
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if ((required[opi] & keys[i].bit) && !(present & keys[i].bit)) {
                snprintf(msg, len, "a %s event needs \"%s\"", op_names[opi], keys[i].name);
                break;
            }
        return TR_ESYNTAX;
    }
    if (e->align && (e->align & (e->align - 1))) {
        snprintf(msg, len, "\"align\" must be a power of two (got %llu)", (unsigned long long)e->align);
        return TR_ESYNTAX;
    }
    if (thread >= threads) {
        snprintf(msg, len, "\"thread\" %llu is not below the header's \"threads\" %u",
                 (unsigned long long)thread, threads);
        return TR_ESYNTAX;
    }
    e->thread = (uint32_t)thread;
    return 0;
}
