/*
 * config_links.c - replay.links: "auto", true or false. Not a table type
 * (a string or a boolean), so read here; the key's documentation is in
 * config_keys.c's table like every other key's.
 */
#include "config_links.h"
#include "config_util.h"

#include <string.h>

int cfg_replay_links(const json_t *v, tr_replay_config *rc, char *err, size_t errlen)
{
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        rc->links = json_is_true(v) ? TR_LINKS_ON : TR_LINKS_OFF;
        return 0;
    }
    if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
        rc->links = TR_LINKS_AUTO;
        return 0;
    }
    char shown[96];
    cfg_value_text(v, shown, sizeof shown);
    return cfg_fail(err, errlen, "replay.links: %s is not allowed (\"auto\", true or false)", shown);
}

json_t *cfg_replay_links_json(const tr_replay_config *rc)
{
    if (rc->links == TR_LINKS_AUTO)
        return json_string("auto");
    return json_boolean(rc->links == TR_LINKS_ON);
}
