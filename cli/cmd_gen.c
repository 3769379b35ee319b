/*
 * cmd_gen.c - `pmarena gen`: writes a synthetic trace from a generator spec
 * (traces/GENERATORS.md). The spec comes from --spec FILE, from flags, or
 * both: the file is read first, then each flag sets its key, in the order
 * given, so flags override the file. Flags only build the JSON object (their
 * short forms read by traces/gen_text.c, gen.h); every check is
 * tr_gen_check's, so a bad value gets the same message (naming the key) as in
 * an experiment config.
 *
 * Exit: 0 written; 2 bad usage or spec (nothing written); 1 when writing fails
 * (the writer removes its temp file).
 */
#include "cmd.h"
#include "pmarena/gen.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void gen_usage(FILE *out)
{
    fprintf(out,
            "usage: pmarena gen -o OUT.jsonl[.gz] [--spec SPEC.json] [OPTIONS]\n"
            "\n"
            "Writes a synthetic allocation trace (JSON Lines; gzip for .gz) from a seeded\n"
            "spec: the same spec gives the same file, byte for byte. The spec is a JSON\n"
            "object (traces/GENERATORS.md); the options set its keys and override --spec.\n"
            "Defaults in brackets.\n"
            "\n"
            "  -o, --out PATH             the trace to write (required)\n"
            "  --spec FILE                read the spec from FILE (a JSON object)\n"
            "  --pattern P                churn, phases, producer-consumer, larson, hot-writes;\n"
            "                             adversarial: hot-object, ping-pong, hammer-line, skewed\n"
            "                             (required, here or in the spec)\n"
            "  --seed N                   0 to 4294967294 [1]\n"
            "  --events N                 about how many events [100000]\n"
            "  --threads N                1 to 1024 [1; producer-consumer 2]\n"
            "  --size-dist D              object sizes [uniform:16:512]:\n"
            "                               fixed:V  uniform:MIN:MAX  lognormal:MU:SIGMA[:MIN:MAX]\n"
            "                               exponential:MEAN[:MIN:MAX]  empirical:SIZE=WEIGHT,...\n"
            "                             (lognormal, exponential: MIN 1, MAX 1073741824)\n"
            "  --lifetime L               churn: exponential:MEAN or fixed:WINDOW, in allocations\n"
            "                             [exponential with mean live]\n"
            "  --live N                   churn: live objects (sets the lifetime);\n"
            "                             producer-consumer: messages in flight;\n"
            "                             hot-writes: objects written;\n"
            "                             hot-object: background objects live [1000]\n"
            "  --writes-per-object N      writes on each object during its life [0]\n"
            "  --set KEY=VALUE            any key, VALUE as JSON (or a bare string); KEY may\n"
            "                             be dotted, e.g. --set size.max=4096\n"
            "  -h, --help                 this help\n"
            "\n"
            "Other keys (with --set or in the spec):\n"
            "  write_len          longest write, bytes [64]; each write is 1..write_len\n"
            "  free_at_end        free what is live at the end [true]\n"
            "  phases             phases: ramps up to peak_live and down [4]\n"
            "  peak_live          phases: live objects at the top [from events]\n"
            "  producers          producer-consumer: producer threads [threads / 2]\n"
            "  slots              larson: objects per thread [1000]\n"
            "  cross_free         larson: fraction freed by another thread [0.1; 0 with 1 thread]\n"
            "  zipf_s             hot-writes: Zipf exponent over the hot objects [1]\n"
            "  writes             hot-writes, hot-object, hammer-line, skewed: write events\n"
            "                     [from events]\n"
            "  objects            hot-object: hot objects [1]; ping-pong: objects alternating [1];\n"
            "                     skewed: objects holding the lines [100]\n"
            "  churn_rate         hot-object: background allocations per hot write [0]\n"
            "  line               hammer-line: the 64-byte line of the object hit [0]\n"
            "  decoy_fraction     hammer-line: share of writes that go elsewhere [0]\n"
            "  decoy_objects      hammer-line: objects the decoys go to [16]\n"
            "  lines              skewed: 64-byte lines in all [10000]\n"
            "  hot_lines          skewed: share of the lines that is hot [0.01]\n"
            "  hot_fraction       hot-writes: share of the live set written [1];\n"
            "                     skewed: share of the writes on the hot lines [0.9]\n"
            "\n"
            "Example: pmarena gen -o churn.jsonl.gz --pattern churn --seed 7 --events 1000000 \\\n"
            "           --size-dist lognormal:4:1 --live 5000\n"
            "Exit status: 0 written, 1 write failed, 2 bad usage or spec (nothing written).\n");
}

/* Prints a usage error; returns EXIT_BADINPUT. */
static int gen_bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int gen_bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "pmarena gen: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'pmarena gen --help')\n");
    va_end(ap);
    return EXIT_BADINPUT;
}

/* --set KEY=VALUE: KEY dotted into nested objects (made as needed). */
static int gen_set(json_t *spec, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key = eq && eq != arg ? strndup(arg, (size_t)(eq - arg)) : NULL;
    json_t *v = NULL;
    if (key && !(v = json_loads(eq + 1, JSON_DECODE_ANY, NULL)))
        v = json_string(eq + 1);
    int rc = key ? tr_gen_set_path(spec, key, v) : -1;
    free(key);
    return rc == 0 ? 0 : gen_bad("--set: \"%s\" is not allowed (KEY=VALUE, e.g. zipf_s=1.2)", arg);
}

enum { OPT_SPEC = 256, OPT_PATTERN, OPT_SEED, OPT_EVENTS, OPT_THREADS, OPT_SIZE, OPT_LIFETIME,
       OPT_LIVE, OPT_WPO, OPT_SET };

/* Applies one flag to the spec: 0, or EXIT_BADINPUT after printing why. */
static int gen_apply(json_t *spec, int opt, const char *flag, const char *arg)
{
    static const char *const int_keys[] = {
        [OPT_SEED - OPT_SEED] = "seed", [OPT_EVENTS - OPT_SEED] = "events",
        [OPT_THREADS - OPT_SEED] = "threads"};
    json_t *v;
    switch (opt) {
    case OPT_PATTERN:
        json_object_set_new(spec, "pattern", json_string(arg));
        return 0;
    case OPT_SEED:
    case OPT_EVENTS:
    case OPT_THREADS:
    case OPT_LIVE:
    case OPT_WPO:
        if (!(v = tr_gen_number_text(arg)) || !json_is_integer(v)) {
            json_decref(v);
            return gen_bad("%s: \"%s\" is not allowed (an integer)", flag, arg);
        }
        json_object_set_new(spec, opt == OPT_LIVE ? "live" : opt == OPT_WPO ? "writes_per_object"
                                  : int_keys[opt - OPT_SEED], v);
        return 0;
    case OPT_SIZE:
        if (!(v = tr_gen_size_text(arg)))
            return gen_bad("--size-dist: \"%s\" is not allowed (fixed:V, uniform:MIN:MAX, "
                           "lognormal:MU:SIGMA[:MIN:MAX], exponential:MEAN[:MIN:MAX], "
                           "empirical:SIZE=WEIGHT,...)", arg);
        json_object_set_new(spec, "size", v);
        return 0;
    case OPT_LIFETIME:
        if (!(v = tr_gen_lifetime_text(arg)))
            return gen_bad("--lifetime: \"%s\" is not allowed (exponential:MEAN or fixed:WINDOW)", arg);
        json_object_set_new(spec, "lifetime", v);
        return 0;
    default:
        return gen_set(spec, arg);
    }
}

int cmd_gen(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"spec", required_argument, NULL, OPT_SPEC},
        {"pattern", required_argument, NULL, OPT_PATTERN},
        {"seed", required_argument, NULL, OPT_SEED},
        {"events", required_argument, NULL, OPT_EVENTS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"size-dist", required_argument, NULL, OPT_SIZE},
        {"lifetime", required_argument, NULL, OPT_LIFETIME},
        {"live", required_argument, NULL, OPT_LIVE},
        {"writes-per-object", required_argument, NULL, OPT_WPO},
        {"set", required_argument, NULL, OPT_SET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *spec_path = NULL;
    int *flags = calloc((size_t)argc, sizeof *flags);
    const char **args = calloc((size_t)argc, sizeof *args), **names = calloc((size_t)argc, sizeof *names);
    int nflags = 0, opt, idx, rc = EXIT_BADINPUT;
    json_t *spec = NULL;
    if (!flags || !args || !names)
        goto done;
    opterr = 0;
    optind = 0;     /* glibc: start afresh (argv[0] is "gen") */
    while ((opt = getopt_long(argc, argv, "+:o:h", longopts, &idx)) != -1) {
        if (opt == 'h') {
            gen_usage(stdout);
            rc = EXIT_OK;
            goto done;
        } else if (opt == 'o') {
            out = optarg;
        } else if (opt == OPT_SPEC) {
            spec_path = optarg;
        } else if (opt == '?' || opt == ':') {
            const char *what = opt == ':' ? "needs a value" : "is not an option";
            if (optopt > 0 && optopt < 256)
                gen_bad("-%c %s", optopt, what);
            else
                gen_bad("%s %s", argv[optind - 1], what);
            goto done;
        } else {
            flags[nflags] = opt;
            args[nflags] = optarg;
            names[nflags++] = longopts[idx].name;
        }
    }
    if (optind < argc) {
        gen_bad("unexpected argument \"%s\"", argv[optind]);
        goto done;
    }
    if (!out) {
        gen_bad("-o OUT is required");
        goto done;
    }
    if (spec_path) {
        json_error_t jerr;
        spec = json_load_file(spec_path, JSON_REJECT_DUPLICATES, &jerr);
        if (!spec) {
            if (jerr.line > 0)
                fprintf(stderr, "pmarena gen: %s:%d:%d: %s\n", spec_path, jerr.line, jerr.column, jerr.text);
            else    /* not a syntax error: cannot open or read (the text says so) */
                fprintf(stderr, "pmarena gen: %s\n", jerr.text);
            goto done;
        }
        if (!json_is_object(spec)) {
            fprintf(stderr, "pmarena gen: %s: expected a JSON object (a generator spec)\n", spec_path);
            goto done;
        }
    } else {
        spec = json_object();
    }
    for (int i = 0; i < nflags; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", names[i]);
        if (gen_apply(spec, flags[i], flag, args[i]) != 0)
            goto done;
    }
    tr_error err = {0};
    tr_gen_stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int grc = tr_gen_write_stats(spec, "", out, &st, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (grc != 0) {
        char msg[1100];
        if (err.file[0])
            tr_error_format(&err, msg, sizeof msg);
        else
            snprintf(msg, sizeof msg, "%s", err.msg);
        fprintf(stderr, "pmarena gen: %s\n", msg);
        rc = grc == TR_ESEMANTIC ? EXIT_BADINPUT : EXIT_FAIL;
        goto done;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "pmarena gen: %s: %llu events (%llu allocs, %llu frees, %llu writes), %u thread%s, "
            "peak live %llu objects, %llu bytes; %.2f s\n", out, (unsigned long long)st.events,
            (unsigned long long)st.allocs, (unsigned long long)st.frees, (unsigned long long)st.writes,
            st.threads, st.threads == 1 ? "" : "s", (unsigned long long)st.peak_live_objects,
            (unsigned long long)st.peak_live_bytes, secs);
    rc = EXIT_OK;
done:
    json_decref(spec);
    free(flags);
    free(args);
    free(names);
    return rc;
}
