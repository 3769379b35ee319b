/*
 * gen_spec.c - a generator spec (JSON) -> tr_gen_spec, with every default and
 * derived value filled in, and back to JSON (the resolved spec, which the
 * trace header carries and which regenerates the same trace).
 *
 * Validation follows the config readers (cli/config_*.c): an unknown key, a
 * key of another pattern, a wrong type or an impossible value is refused with
 * a message naming the key path, the value and what is allowed. Keys are read
 * in one fixed order, so a spec with several mistakes always reports the same
 * one. Size and lifetime objects are read by gen_dist.c.
 *
 * Derived values (the rules, in GENERATORS.md):
 *  - churn: one allocation per step, so by Little's law the live set is the
 *    mean lifetime; "live" sets the lifetime (exponential, mean live), and
 *    giving both is refused rather than silently ignoring one.
 *  - phases: phases x peak_live x (2 + writes_per_object) events; "events"
 *    sets whichever of phases and peak_live is missing (phases 4 if both are).
 *  - hot-writes: live x (2 + writes_per_object) + writes events; "events"
 *    sets writes when it is not given.
 *  - the adversarial patterns (hot-object, ping-pong, hammer-line, skewed):
 *    gen_adv_spec.c.
 * The resolved spec keeps the keys that fix the trace and drops the ones they
 * were derived from, so resolving it again changes nothing.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pattern_names[TR_GEN_PATTERNS] = {
    "churn", "phases", "producer-consumer", "larson", "hot-writes",
    "hot-object", "ping-pong", "hammer-line", "skewed"};
#define PATTERN_LIST "churn, phases, producer-consumer, larson, hot-writes, hot-object, ping-pong, " \
    "hammer-line, skewed"

#define USED(p) (1u << (p))
#define ALL_PATTERNS (USED(TR_GEN_PATTERNS) - 1)
/* skewed makes its own sizes (whole lines) and writes (one line each). */
#define ALL_BUT_SKEWED (ALL_PATTERNS & ~USED(TR_GEN_SKEWED))

/* Every key, in canonical (resolved) order, with the patterns that use it. */
static const struct spec_key {
    const char *name;
    unsigned used_by;
} spec_keys[] = {
    {"pattern", ALL_PATTERNS},
    {"seed", ALL_PATTERNS},
    {"events", ALL_PATTERNS},
    {"threads", ALL_PATTERNS},
    {"producers", USED(TR_GEN_PRODCONS)},
    {"size", ALL_BUT_SKEWED},
    {"lifetime", USED(TR_GEN_CHURN)},
    {"live", USED(TR_GEN_CHURN) | USED(TR_GEN_PRODCONS) | USED(TR_GEN_HOTWRITES) | USED(TR_GEN_HOTOBJECT)},
    {"objects", USED(TR_GEN_HOTOBJECT) | USED(TR_GEN_PINGPONG) | USED(TR_GEN_SKEWED)},
    {"phases", USED(TR_GEN_PHASES)},
    {"peak_live", USED(TR_GEN_PHASES)},
    {"slots", USED(TR_GEN_LARSON)},
    {"cross_free", USED(TR_GEN_LARSON)},
    {"churn_rate", USED(TR_GEN_HOTOBJECT)},
    {"line", USED(TR_GEN_HAMMER)},
    {"decoy_fraction", USED(TR_GEN_HAMMER)},
    {"decoy_objects", USED(TR_GEN_HAMMER)},
    {"lines", USED(TR_GEN_SKEWED)},
    {"hot_lines", USED(TR_GEN_SKEWED)},
    {"hot_fraction", USED(TR_GEN_HOTWRITES) | USED(TR_GEN_SKEWED)},
    {"zipf_s", USED(TR_GEN_HOTWRITES)},
    {"writes", USED(TR_GEN_HOTWRITES) | USED(TR_GEN_HOTOBJECT) | USED(TR_GEN_HAMMER) | USED(TR_GEN_SKEWED)},
    {"writes_per_object", ALL_PATTERNS},
    {"write_len", ALL_BUT_SKEWED},
    {"free_at_end", ALL_PATTERNS},
};
#define NKEYS (sizeof spec_keys / sizeof spec_keys[0])

const char *tr_gen_pattern_name(tr_gen_pattern p)
{
    return (unsigned)p < TR_GEN_PATTERNS ? pattern_names[p] : "?";
}

/* ---- messages --------------------------------------------------------------- */

int tr_gen_fail(tr_error *err, const char *fmt, ...)
{
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tr_error_set(err, "", 0, 0, "%s", msg);
    return TR_ESEMANTIC;
}

void tr_gen_path(char *buf, size_t len, const char *key, const char *field)
{
    if (key && *key)
        snprintf(buf, len, "%s.%s", key, field);
    else
        snprintf(buf, len, "%s", field);
}

void tr_gen_value_text(const json_t *v, char *buf, size_t len)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (s && strlen(s) > 60)
        snprintf(buf, len, "%.57s...", s);
    else
        snprintf(buf, len, "%s", s ? s : "?");
    free(s);
}

int tr_gen_read_uint(const json_t *v, const char *path, uint64_t lo, uint64_t hi, uint64_t *out,
                     tr_error *err)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        (uint64_t)json_integer_value(v) >= lo && (uint64_t)json_integer_value(v) <= hi) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    char shown[96];
    tr_gen_value_text(v, shown, sizeof shown);
    return tr_gen_fail(err, "%s: %s is not allowed (an integer from %llu to %llu)", path, shown,
                       (unsigned long long)lo, (unsigned long long)hi);
}

int tr_gen_read_num(const json_t *v, const char *path, double lo, bool lo_open, double hi,
                    const char *allowed, double *out, tr_error *err)
{
    if (json_is_number(v)) {
        double x = json_number_value(v);
        if (isfinite(x) && (lo_open ? x > lo : x >= lo) && x <= hi) {
            *out = x;
            return 0;
        }
    }
    char shown[96];
    tr_gen_value_text(v, shown, sizeof shown);
    return tr_gen_fail(err, "%s: %s is not allowed (%s)", path, shown, allowed);
}

int tr_gen_only_keys(const json_t *obj, const char *path, const char *what,
                     const char *const *names, size_t n, tr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        size_t i = 0;
        while (i < n && strcmp(k, names[i]) != 0)
            i++;
        if (i < n)
            continue;
        char list[256] = "";
        for (i = 0; i < n; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        }
        return tr_gen_fail(err, "%s.%s: unknown key (allowed%s%s: %s)", path, k, *what ? " " : "",
                           what, list);
    }
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

/* Every key of the spec must be known and used by its pattern. */
static int spec_check_keys(const json_t *spec, const char *key, tr_gen_pattern pat, tr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)spec, k, v) {
        char path[256], list[400] = "";
        tr_gen_path(path, sizeof path, key, k);
        size_t i = 0;
        while (i < NKEYS && strcmp(k, spec_keys[i].name) != 0)
            i++;
        if (i < NKEYS && (spec_keys[i].used_by & USED(pat)))
            continue;
        if (i == NKEYS) {
            for (size_t j = 0; j < NKEYS; j++) {
                if (!(spec_keys[j].used_by & USED(pat)))
                    continue;
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", *list ? ", " : "", spec_keys[j].name);
            }
            return tr_gen_fail(err, "%s: unknown key (allowed for %s: %s)", path, pattern_names[pat], list);
        }
        for (int p = 0; p < TR_GEN_PATTERNS; p++) {
            if (!(spec_keys[i].used_by & USED(p)))
                continue;
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", *list ? ", " : "", pattern_names[p]);
        }
        return tr_gen_fail(err, "%s: not used by pattern %s (only by %s)", path, pattern_names[pat], list);
    }
    return 0;
}

/* spec.field as an integer in [lo, hi] into *out, if present (*given says);
 * tr_gen_opt_num likewise for a number. */
int tr_gen_opt_uint(const json_t *spec, const char *key, const char *field, uint64_t lo, uint64_t hi,
                    uint64_t *out, bool *given, tr_error *err)
{
    const json_t *v = json_object_get(spec, field);
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    char path[256];
    tr_gen_path(path, sizeof path, key, field);
    return tr_gen_read_uint(v, path, lo, hi, out, err);
}

int tr_gen_opt_num(const json_t *spec, const char *key, const char *field, double lo, bool lo_open,
                   double hi, const char *allowed, double *out, bool *given, tr_error *err)
{
    const json_t *v = json_object_get(spec, field);
    if (given)
        *given = v != NULL;
    if (!v)
        return 0;
    char path[256];
    tr_gen_path(path, sizeof path, key, field);
    return tr_gen_read_num(v, path, lo, lo_open, hi, allowed, out, err);
}

static int read_pattern(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err)
{
    char path[256], shown[96];
    tr_gen_path(path, sizeof path, key, "pattern");
    const json_t *v = json_object_get(spec, "pattern");
    if (!v)
        return tr_gen_fail(err, "%s: missing (one of: " PATTERN_LIST ")", path);
    for (int p = 0; p < TR_GEN_PATTERNS; p++) {
        if (json_is_string(v) && strcmp(json_string_value(v), pattern_names[p]) == 0) {
            s->pattern = (tr_gen_pattern)p;
            return 0;
        }
    }
    tr_gen_value_text(v, shown, sizeof shown);
    return tr_gen_fail(err, "%s: %s is not allowed (one of: " PATTERN_LIST ")", path, shown);
}

/* Keys every pattern has. */
static int read_common(tr_gen_spec *s, const json_t *spec, const char *key, bool *events_given,
                       tr_error *err)
{
    int rc;
    char path[256];
    uint64_t x = 0;
    bool given;
    s->seed = 1;
    s->events = 100000;
    s->threads = s->pattern == TR_GEN_PRODCONS ? 2 : 1;
    s->write_len = 64;
    s->free_at_end = true;
    if ((rc = tr_gen_opt_uint(spec, key, "seed", 0, TR_GEN_MAX_SEED, &s->seed, NULL, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "events", 1, TR_GEN_MAX_EVENTS, &s->events, events_given, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "threads", 1, TR_MAX_THREADS, &x, &given, err)))
        return rc;
    if (given) {
        if (s->pattern == TR_GEN_PRODCONS && x < 2) {
            tr_gen_path(path, sizeof path, key, "threads");
            return tr_gen_fail(err, "%s: %llu is not allowed (producer-consumer needs at least 2)",
                               path, (unsigned long long)x);
        }
        s->threads = (uint32_t)x;
    }
    const json_t *v = json_object_get(spec, "size");
    tr_gen_path(path, sizeof path, key, "size");
    if (v) {
        if ((rc = tr_gen_size_read(&s->size, v, path, err)))
            return rc;
    } else {
        s->size.dist = TR_GEN_UNIFORM;
        s->size.min = 16;
        s->size.max = 512;
    }
    if ((rc = tr_gen_opt_uint(spec, key, "writes_per_object", 0, TR_GEN_MAX_WRITES_PER_OBJECT,
                       &s->writes_per_object, NULL, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "write_len", 1, TR_MAX_SIZE, &s->write_len, NULL, err)))
        return rc;
    if ((v = json_object_get(spec, "free_at_end"))) {
        if (!json_is_boolean(v)) {
            char shown[96];
            tr_gen_value_text(v, shown, sizeof shown);
            tr_gen_path(path, sizeof path, key, "free_at_end");
            return tr_gen_fail(err, "%s: %s is not allowed (true or false)", path, shown);
        }
        s->free_at_end = json_is_true(v);
    }
    return 0;
}

static int read_churn(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err)
{
    char path[256], lpath[256];
    bool live_given;
    s->live = 1000;
    int rc = tr_gen_opt_uint(spec, key, "live", 1, TR_GEN_MAX_LIVE, &s->live, &live_given, err);
    if (rc)
        return rc;
    const json_t *v = json_object_get(spec, "lifetime");
    if (!v) {
        s->life.dist = TR_GEN_EXPONENTIAL;
        s->life.mean = (double)s->live;
        return 0;
    }
    tr_gen_path(path, sizeof path, key, "live");
    tr_gen_path(lpath, sizeof lpath, key, "lifetime");
    if (live_given)
        return tr_gen_fail(err, "%s: not allowed with %s (in churn the live set is the mean lifetime "
                           "in allocations: give one of the two)", path, lpath);
    if ((rc = tr_gen_life_read(&s->life, v, lpath, err)))
        return rc;
    s->live = (uint64_t)llround(tr_gen_life_mean(&s->life));
    return 0;
}

static int read_phases(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                       tr_error *err)
{
    char path[256];
    bool ph_given, peak_given;
    int rc;
    if ((rc = tr_gen_opt_uint(spec, key, "phases", 1, TR_GEN_MAX_EVENTS, &s->phases, &ph_given, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "peak_live", 1, TR_GEN_MAX_LIVE, &s->peak_live, &peak_given, err)))
        return rc;
    uint64_t per_object = 2 + s->writes_per_object;
    tr_gen_path(path, sizeof path, key, "events");
    if (ph_given && peak_given && events_given)
        return tr_gen_fail(err, "%s: not allowed with both phases and peak_live (they set the length: "
                           "phases x peak_live x (2 + writes_per_object) events)", path);
    if (!ph_given && !peak_given)
        s->phases = 4;
    if (!peak_given) {
        uint64_t peak = s->events / (s->phases * per_object);
        if (peak < 1)
            return tr_gen_fail(err, "%s: %llu is not allowed (at least phases x (2 + writes_per_object) "
                               "= %llu events: one object per phase)", path, (unsigned long long)s->events,
                               (unsigned long long)(s->phases * per_object));
        /* Here events > phases x per_object x the limit, so the product fits. */
        if (peak > TR_GEN_MAX_LIVE)
            return tr_gen_fail(err, "%s: %llu is not allowed (at most %llu events for %llu phases: "
                               "peak_live at most %llu; raise phases)", path, (unsigned long long)s->events,
                               (unsigned long long)(s->phases * per_object * TR_GEN_MAX_LIVE),
                               (unsigned long long)s->phases, (unsigned long long)TR_GEN_MAX_LIVE);
        s->peak_live = peak;
    } else if (!ph_given) {
        uint64_t ph = (s->events + s->peak_live * per_object / 2) / (s->peak_live * per_object);
        s->phases = ph ? ph : 1;
    }
    /* phases x peak_live x per_object must stay within the event limit. */
    if ((double)s->phases * (double)s->peak_live * (double)per_object > (double)TR_GEN_MAX_EVENTS) {
        tr_gen_path(path, sizeof path, key, "phases");
        return tr_gen_fail(err, "%s: %llu is not allowed (phases x peak_live x (2 + writes_per_object) "
                           "at most %llu events)", path, (unsigned long long)s->phases,
                           (unsigned long long)TR_GEN_MAX_EVENTS);
    }
    return 0;
}

static int read_prodcons(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err)
{
    uint64_t x = s->threads / 2;
    char path[256];
    int rc;
    s->live = 1000;
    if ((rc = tr_gen_opt_uint(spec, key, "live", 1, TR_GEN_MAX_LIVE, &s->live, NULL, err)))
        return rc;
    const json_t *v = json_object_get(spec, "producers");
    if (v) {
        tr_gen_path(path, sizeof path, key, "producers");
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) >= s->threads) {
            char shown[96];
            tr_gen_value_text(v, shown, sizeof shown);
            return tr_gen_fail(err, "%s: %s is not allowed (an integer from 1 to %u: threads - 1, "
                               "the other threads consume)", path, shown, s->threads - 1);
        }
        x = (uint64_t)json_integer_value(v);
    }
    s->producers = (uint32_t)x;
    return 0;
}

static int read_larson(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err)
{
    char path[256];
    bool given;
    int rc;
    s->slots = 1000;
    s->cross_free = s->threads > 1 ? 0.1 : 0.0;
    if ((rc = tr_gen_opt_uint(spec, key, "slots", 1, TR_GEN_MAX_LIVE, &s->slots, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "cross_free", 0, false, 1, "a fraction from 0 to 1", &s->cross_free,
                      &given, err)))
        return rc;
    if (s->cross_free > 0 && s->threads < 2) {
        tr_gen_path(path, sizeof path, key, "cross_free");
        char shown[96];
        tr_gen_value_text(json_object_get(spec, "cross_free"), shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (0 with one thread: freeing on another thread "
                           "needs threads >= 2)", path, shown);
    }
    if (s->slots * s->threads > TR_GEN_MAX_LIVE) {
        tr_gen_path(path, sizeof path, key, "slots");
        return tr_gen_fail(err, "%s: %llu is not allowed (threads x slots at most %llu)", path,
                           (unsigned long long)s->slots, (unsigned long long)TR_GEN_MAX_LIVE);
    }
    uint64_t objects = s->slots * s->threads;
    uint64_t setup = objects * (1 + s->writes_per_object) + (s->free_at_end ? objects : 0);
    if (s->events <= setup) {
        tr_gen_path(path, sizeof path, key, "events");
        return tr_gen_fail(err, "%s: %llu is not allowed (more than the %llu events that filling and "
                           "emptying threads x slots = %llu slots take)", path,
                           (unsigned long long)s->events, (unsigned long long)setup,
                           (unsigned long long)objects);
    }
    return 0;
}

static int read_hotwrites(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                          tr_error *err)
{
    char path[256];
    bool writes_given;
    int rc;
    s->live = 1000;
    s->hot_fraction = 1.0;
    s->zipf_s = 1.0;
    if ((rc = tr_gen_opt_uint(spec, key, "live", 1, TR_GEN_MAX_LIVE, &s->live, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "hot_fraction", 0, true, 1, "a fraction > 0 and at most 1",
                      &s->hot_fraction, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "zipf_s", 0, false, 100, "a number from 0 to 100", &s->zipf_s, NULL,
                      err)) ||
        (rc = tr_gen_opt_uint(spec, key, "writes", 1, TR_GEN_MAX_EVENTS, &s->writes, &writes_given, err)))
        return rc;
    tr_gen_path(path, sizeof path, key, "events");
    if (writes_given && events_given)
        return tr_gen_fail(err, "%s: not allowed with writes (live and writes set the length of a "
                           "hot-writes trace)", path);
    if (!writes_given) {
        uint64_t setup = s->live * (1 + s->writes_per_object) + (s->free_at_end ? s->live : 0);
        if (s->events <= setup)
            return tr_gen_fail(err, "%s: %llu is not allowed (more than the %llu events that allocating "
                               "and freeing the live set take; or give writes)", path,
                               (unsigned long long)s->events, (unsigned long long)setup);
        s->writes = s->events - setup;
    }
    return 0;
}

int tr_gen_spec_read(tr_gen_spec *s, const json_t *spec, const char *key, tr_error *err)
{
    memset(s, 0, sizeof *s);
    if (!key)
        key = "";
    if (!json_is_object(spec)) {
        char shown[96];
        tr_gen_value_text(spec, shown, sizeof shown);
        return tr_gen_fail(err, "%s: %s is not allowed (an object: a generator spec with a \"pattern\")",
                           *key ? key : "spec", shown);
    }
    bool events_given = false;
    int rc;
    if ((rc = read_pattern(s, spec, key, err)) || (rc = spec_check_keys(spec, key, s->pattern, err)) ||
        (rc = read_common(s, spec, key, &events_given, err)))
        goto fail;
    switch (s->pattern) {
    case TR_GEN_CHURN: rc = read_churn(s, spec, key, err); break;
    case TR_GEN_PHASES: rc = read_phases(s, spec, key, events_given, err); break;
    case TR_GEN_PRODCONS: rc = read_prodcons(s, spec, key, err); break;
    case TR_GEN_LARSON: rc = read_larson(s, spec, key, err); break;
    case TR_GEN_HOTWRITES: rc = read_hotwrites(s, spec, key, events_given, err); break;
    default:
        rc = tr_gen_adv_read(s, spec, key, events_given, json_object_get(spec, "size") != NULL, err);
        break;
    }
    if (rc)
        goto fail;
    return 0;
fail:
    tr_gen_spec_free(s);
    return rc;
}

void tr_gen_spec_free(tr_gen_spec *s)
{
    tr_gen_size_free(&s->size);
}

/* ---- back to JSON ------------------------------------------------------------- */

json_t *tr_gen_spec_to_json(const tr_gen_spec *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    tr_gen_pattern p = s->pattern;
    /* Derived lengths are left out (see the top of the file). */
    bool has_events = p == TR_GEN_CHURN || p == TR_GEN_PRODCONS || p == TR_GEN_LARSON ||
                      p == TR_GEN_PINGPONG;
    json_object_set_new(o, "pattern", json_string(pattern_names[p]));
    json_object_set_new(o, "seed", json_integer((json_int_t)s->seed));
    if (has_events)
        json_object_set_new(o, "events", json_integer((json_int_t)s->events));
    json_object_set_new(o, "threads", json_integer((json_int_t)s->threads));
    if (p == TR_GEN_PRODCONS)
        json_object_set_new(o, "producers", json_integer((json_int_t)s->producers));
    if (p != TR_GEN_SKEWED)
        json_object_set_new(o, "size", tr_gen_size_to_json(&s->size));
    if (p == TR_GEN_CHURN)
        json_object_set_new(o, "lifetime", tr_gen_life_to_json(&s->life));
    if (p == TR_GEN_PRODCONS || p == TR_GEN_HOTWRITES)
        json_object_set_new(o, "live", json_integer((json_int_t)s->live));
    if (p == TR_GEN_PHASES) {
        json_object_set_new(o, "phases", json_integer((json_int_t)s->phases));
        json_object_set_new(o, "peak_live", json_integer((json_int_t)s->peak_live));
    }
    if (p == TR_GEN_LARSON) {
        json_object_set_new(o, "slots", json_integer((json_int_t)s->slots));
        json_object_set_new(o, "cross_free", json_real(s->cross_free));
    }
    if (p == TR_GEN_HOTWRITES) {
        json_object_set_new(o, "hot_fraction", json_real(s->hot_fraction));
        json_object_set_new(o, "zipf_s", json_real(s->zipf_s));
        json_object_set_new(o, "writes", json_integer((json_int_t)s->writes));
    }
    if (p >= TR_GEN_HOTOBJECT)
        tr_gen_adv_to_json(s, o);
    json_object_set_new(o, "writes_per_object", json_integer((json_int_t)s->writes_per_object));
    if (p != TR_GEN_SKEWED)
        json_object_set_new(o, "write_len", json_integer((json_int_t)s->write_len));
    json_object_set_new(o, "free_at_end", json_boolean(s->free_at_end));
    return o;
}

/* True when every real in v prints back to itself with 15 digits. */
static bool reals_short(const json_t *v)
{
    if (json_is_real(v)) {
        char buf[40];
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strtod(buf, NULL) == json_real_value(v);
    }
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if (!reals_short(x))
                return false;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
            if (!reals_short(x))
                return false;
    }
    return true;
}

/* 0.1 reads better than 0.10000000000000001, and both are the same double:
 * 15 digits when that is exact, else the 17 that always are. */
char *tr_gen_json_dumps(const json_t *v)
{
    int prec = reals_short(v) ? 15 : 17;
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(prec));
}

/* ---- the public entry points that only read ----------------------------------- */

int tr_gen_check(const json_t *spec, const char *key, tr_error *err)
{
    tr_gen_spec s;
    int rc = tr_gen_spec_read(&s, spec, key, err);
    if (rc == 0)
        tr_gen_spec_free(&s);
    return rc;
}

int tr_gen_resolve(const json_t *spec, const char *key, json_t **out, tr_error *err)
{
    *out = NULL;
    tr_gen_spec s;
    int rc = tr_gen_spec_read(&s, spec, key, err);
    if (rc)
        return rc;
    *out = tr_gen_spec_to_json(&s);
    tr_gen_spec_free(&s);
    if (!*out) {
        tr_error_set(err, "", 0, 0, "out of memory");
        return TR_ENOMEM;
    }
    return 0;
}
