/* config_links.h - replay.links, read and written (config_links.c). */
#ifndef PMARENA_EXPERIMENT_CONFIG_LINKS_H
#define PMARENA_EXPERIMENT_CONFIG_LINKS_H

#include <jansson.h>
#include "pmarena/replay.h"

/* Reads replay.links (v may be NULL: the default, "auto") into rc->links.
 * CFG_EINVAL with a message naming the key and the value otherwise. */
int cfg_replay_links(const json_t *v, tr_replay_config *rc, char *err, size_t errlen);
/* The value as the config writes it: "auto", true or false (new reference). */
json_t *cfg_replay_links_json(const tr_replay_config *rc);

#endif
