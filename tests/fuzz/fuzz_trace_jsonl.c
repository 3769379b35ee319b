/* fuzz_trace_jsonl.c - libFuzzer entry point for fz_trace_jsonl_one (fz_targets.c), which
 * the regression suite tests/test_fuzz_regress.c also calls. */
#include "fz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_trace_jsonl_one(data, size);
}
