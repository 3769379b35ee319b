/* event_json.h - a trace event from its JSON object (event_json.c). */
#ifndef PMARENA_TRACES_EVENT_JSON_H
#define PMARENA_TRACES_EVENT_JSON_H

#include <jansson.h>
#include "pmarena/trace.h"

/* 0, or TR_ESYNTAX with msg saying which key and what was expected. */
int tr_event_from_json(const json_t *o, uint32_t threads, tr_event *e, char *msg, size_t len);

#endif
