/*
 * provenance.h - where a run's results came from: the tool (version and git
 * revision), the resolved config (its canonical hash) and the trace (its size
 * and checksum). summary.json carries these as "provenance"; a sweep compares
 * them to decide whether a finished point can be reused, and merge compares
 * sweep identities (their dotted-key differences name what changed).
 *
 * Hashes are XXH3 128-bit (libxxhash), printed as 32 lowercase hex digits.
 * A config's hash is over its canonical JSON (sorted keys, compact), so key
 * order and whitespace in the file do not matter.
 */
#ifndef PMARENA_EXPERIMENT_PROVENANCE_H
#define PMARENA_EXPERIMENT_PROVENANCE_H

#include <jansson.h>
#include <stdint.h>

#include "pmarena/config.h"

#define PROV_HEX 33   /* 32 hex digits and the NUL */

/* The build's git revision (`git describe --always --dirty`), or "unknown". */
const char *prov_revision(void);

/* The hash of j's canonical JSON; *bytes (when not NULL) its length. */
void prov_hash_json(const json_t *j, char out[PROV_HEX], uint64_t *bytes);

/* The hash of the resolved config of x (cfg_experiment_resolved). */
void prov_config_hash(const cfg_experiment *x, char out[PROV_HEX]);

/* The hash and size of a file's bytes. 0, or -1 with errno set. */
int prov_hash_file(const char *path, char out[PROV_HEX], uint64_t *bytes);

/* The checksum and size of the trace x replays: a trace file's bytes, a
 * generated trace's file (genpath, already written), inline events' canonical
 * JSON. 0, or -1 with errno set (the file could not be read). */
int prov_trace(const cfg_experiment *x, const char *genpath, char out[PROV_HEX], uint64_t *bytes);

/* summary.json's "provenance" object (new reference). */
json_t *prov_json(const cfg_experiment *x, const char *trace_checksum, uint64_t trace_bytes);

/* The dotted keys ("device.size") whose values differ between two JSON
 * objects, nested objects flattened, other values compared whole; a key
 * present in only one counts as differing. A new array of strings, sorted. */
json_t *prov_diff_keys(const json_t *a, const json_t *b);

#endif
