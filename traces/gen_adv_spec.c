/*
 * gen_adv_spec.c - the keys of the adversarial patterns (hot-object,
 * ping-pong, hammer-line, skewed): read and checked after the common keys
 * (gen_spec.c), their defaults and derived lengths, and their part of the
 * resolved spec. Messages follow gen_spec.c: key path, value, what is allowed.
 *
 * Lengths: ping-pong runs on an event budget (like larson: it keeps "events");
 * the other three set "writes" from "events" when it is not given (like
 * hot-writes: the resolved spec keeps writes, not events), so a spec never
 * says the length twice.
 */
#include "gen_internal.h"

#include <math.h>
#include <stdio.h>

/* Events that allocating (with writes_per_object) and, with free_at_end,
 * freeing n objects take. */
static uint64_t setup_events(const tr_gen_spec *s, uint64_t n)
{
    return n * (1 + s->writes_per_object) + (s->free_at_end ? n : 0);
}

/* "writes", or from "events": (events - setup) / per_write. */
static int read_writes(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                       uint64_t setup, double per_write, tr_error *err)
{
    char path[256];
    bool writes_given;
    int rc = tr_gen_opt_uint(spec, key, "writes", 1, TR_GEN_MAX_EVENTS, &s->writes, &writes_given, err);
    if (rc)
        return rc;
    tr_gen_path(path, sizeof path, key, "events");
    if (writes_given && events_given)
        return tr_gen_fail(err, "%s: not allowed with writes (writes sets the length of a %s trace)", path,
                           tr_gen_pattern_name(s->pattern));
    if (writes_given)
        return 0;
    double w = s->events > setup ? floor((double)(s->events - setup) / per_write) : 0;
    if (w < 1)
        return tr_gen_fail(err, "%s: %llu is not allowed (more than the %llu events that allocating and "
                           "freeing the objects take; or give writes)", path,
                           (unsigned long long)s->events, (unsigned long long)setup);
    s->writes = (uint64_t)w;
    return 0;
}

static void default_size(tr_gen_spec *s, bool size_given, uint64_t bytes)
{
    if (size_given)
        return;
    s->size.dist = TR_GEN_FIXED;
    s->size.value = bytes;
}

static int read_hotobject(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                          tr_error *err)
{
    int rc;
    s->objects = 1;
    s->live = 1000;
    s->churn_rate = 0;
    if ((rc = tr_gen_opt_uint(spec, key, "objects", 1, TR_GEN_MAX_LIVE, &s->objects, NULL, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "live", 1, TR_GEN_MAX_LIVE, &s->live, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "churn_rate", 0, false, 1000,
                             "a number from 0 to 1000: background allocations per hot write",
                             &s->churn_rate, NULL, err)))
        return rc;
    /* A background allocation costs its alloc, its writes and its free. */
    double per_write = 1 + s->churn_rate * (double)(2 + s->writes_per_object);
    return read_writes(s, spec, key, events_given, setup_events(s, s->objects), per_write, err);
}

static int read_pingpong(tr_gen_spec *s, const json_t *spec, const char *key, bool size_given,
                         tr_error *err)
{
    char path[256];
    int rc;
    s->objects = 1;
    default_size(s, size_given, 64);
    if ((rc = tr_gen_opt_uint(spec, key, "objects", 1, TR_GEN_MAX_LIVE, &s->objects, NULL, err)))
        return rc;
    uint64_t setup = setup_events(s, s->objects);
    if (s->events <= setup) {
        tr_gen_path(path, sizeof path, key, "events");
        return tr_gen_fail(err, "%s: %llu is not allowed (more than the %llu events that allocating and "
                           "freeing the %llu objects take)", path, (unsigned long long)s->events,
                           (unsigned long long)setup, (unsigned long long)s->objects);
    }
    return 0;
}

static int read_hammer(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                       bool size_given, tr_error *err)
{
    char path[256];
    bool given;
    int rc;
    s->line = 0;
    s->decoy_fraction = 0;
    s->decoy_objects = 16;
    default_size(s, size_given, 256);
    if ((rc = tr_gen_opt_uint(spec, key, "line", 0, TR_GEN_MAX_EVENTS, &s->line, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "decoy_fraction", 0, false, 1, "a fraction from 0, below 1",
                             &s->decoy_fraction, &given, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "decoy_objects", 1, TR_GEN_MAX_LIVE, &s->decoy_objects, NULL, err)))
        return rc;
    if (s->decoy_fraction >= 1) {
        tr_gen_path(path, sizeof path, key, "decoy_fraction");
        return tr_gen_fail(err, "%s: 1 is not allowed (a fraction from 0, below 1)", path);
    }
    /* The line must lie inside the smallest object the size can draw. */
    uint64_t lines = (tr_gen_size_min(&s->size) + TR_GEN_LINE - 1) / TR_GEN_LINE;
    if (s->line >= lines) {
        tr_gen_path(path, sizeof path, key, "line");
        return tr_gen_fail(err, "%s: %llu is not allowed (an integer from 0 to %llu: a line of the object, "
                           "whose smallest size is %llu bytes)", path, (unsigned long long)s->line,
                           (unsigned long long)(lines - 1), (unsigned long long)tr_gen_size_min(&s->size));
    }
    uint64_t objects = 1 + (s->decoy_fraction > 0 ? s->decoy_objects : 0);
    return read_writes(s, spec, key, events_given, setup_events(s, objects), 1, err);
}

static int read_skewed(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                       tr_error *err)
{
    char path[256];
    int rc;
    s->lines = 10000;
    s->objects = 100;
    s->hot_lines = 0.01;
    s->hot_fraction = 0.9;
    if ((rc = tr_gen_opt_uint(spec, key, "lines", 2, TR_GEN_MAX_LIVE, &s->lines, NULL, err)) ||
        (rc = tr_gen_opt_uint(spec, key, "objects", 1, TR_GEN_MAX_LIVE, &s->objects, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "hot_lines", 0, true, 1, "a fraction > 0, below 1",
                             &s->hot_lines, NULL, err)) ||
        (rc = tr_gen_opt_num(spec, key, "hot_fraction", 0, false, 1, "a fraction from 0 to 1",
                             &s->hot_fraction, NULL, err)))
        return rc;
    if (s->hot_lines >= 1) {
        tr_gen_path(path, sizeof path, key, "hot_lines");
        return tr_gen_fail(err, "%s: 1 is not allowed (a fraction > 0, below 1)", path);
    }
    if (s->objects > s->lines) {
        tr_gen_path(path, sizeof path, key, "objects");
        return tr_gen_fail(err, "%s: %llu is not allowed (at most lines, %llu: each object has a line at "
                           "least)", path, (unsigned long long)s->objects, (unsigned long long)s->lines);
    }
    return read_writes(s, spec, key, events_given, setup_events(s, s->objects), 1, err);
}

int tr_gen_adv_read(tr_gen_spec *s, const json_t *spec, const char *key, bool events_given,
                    bool size_given, tr_error *err)
{
    switch (s->pattern) {
    case TR_GEN_HOTOBJECT: return read_hotobject(s, spec, key, events_given, err);
    case TR_GEN_PINGPONG: return read_pingpong(s, spec, key, size_given, err);
    case TR_GEN_HAMMER: return read_hammer(s, spec, key, events_given, size_given, err);
    default: return read_skewed(s, spec, key, events_given, err);
    }
}

void tr_gen_adv_to_json(const tr_gen_spec *s, json_t *o)
{
    switch (s->pattern) {
    case TR_GEN_HOTOBJECT:
        json_object_set_new(o, "live", json_integer((json_int_t)s->live));
        json_object_set_new(o, "objects", json_integer((json_int_t)s->objects));
        json_object_set_new(o, "churn_rate", json_real(s->churn_rate));
        break;
    case TR_GEN_PINGPONG:
        json_object_set_new(o, "objects", json_integer((json_int_t)s->objects));
        return;     /* no writes: its length is events */
    case TR_GEN_HAMMER:
        json_object_set_new(o, "line", json_integer((json_int_t)s->line));
        json_object_set_new(o, "decoy_fraction", json_real(s->decoy_fraction));
        json_object_set_new(o, "decoy_objects", json_integer((json_int_t)s->decoy_objects));
        break;
    default:
        json_object_set_new(o, "objects", json_integer((json_int_t)s->objects));
        json_object_set_new(o, "lines", json_integer((json_int_t)s->lines));
        json_object_set_new(o, "hot_lines", json_real(s->hot_lines));
        json_object_set_new(o, "hot_fraction", json_real(s->hot_fraction));
        break;
    }
    json_object_set_new(o, "writes", json_integer((json_int_t)s->writes));
}
