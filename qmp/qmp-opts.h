/*
 * qmp-opts.h: conversions between QMP's JSON and the layers' LbOpts
 * (qmp layer, private).
 */
#ifndef LB_QMP_QMP_OPTS_H
#define LB_QMP_QMP_OPTS_H

#include <glib.h>
#include <json-glib/json-glib.h>

#include "lb/opts.h"

/** LbOpts holding the members of @obj (transfer full). */
LbOpts *lb_qmp_opts_from_object(JsonObject *obj, GError **errp);
/** LbOpts from an object-valued @node (transfer full). */
LbOpts *lb_qmp_opts_from_node(JsonNode *node, GError **errp);
/** Parse @json (transfer full) into a node; NULL text gives NULL. */
JsonNode *lb_qmp_node_from_text(const char *json, GError **errp);

/**
 * lb_qmp_set_request_secrets: the secret values taken out of the request
 * being dispatched (lb_opts_json_redact()), or NULL after it;
 * lb_qmp_opts_from_node() puts them back into the LbOpts it builds.
 */
void lb_qmp_set_request_secrets(GPtrArray *secrets);
/** lb_qmp_secrets_new: an empty array of LbSecret for the above. */
GPtrArray *lb_qmp_secrets_new(void);

#endif /* LB_QMP_QMP_OPTS_H */
