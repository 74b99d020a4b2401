/*
 * dispatch.h: QMP request execution, shared by the monitor and the
 * command handlers (qmp layer, private).
 */
#ifndef LB_QMP_DISPATCH_H
#define LB_QMP_DISPATCH_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "qapi-visit.h"

/**
 * lb_qmp_dispatch: run @request and return the reply (transfer full).
 * @negotiated is the session's state; a successful qmp_capabilities sets
 * it.
 */
JsonNode *lb_qmp_dispatch(JsonNode *request, bool *negotiated);
/** {"error": {"class", "desc"}, "id"} for @err (transfer full). */
JsonNode *lb_qmp_error_reply(const GError *err, JsonNode *id);
/** Compact JSON text of @node (transfer full). */
char *lb_qmp_to_text(JsonNode *node);
/** The command @name from the generated tables, or NULL. */
const LbQmpCommand *lb_qmp_find_command(const char *name);
void lb_qmp_foreach_command(void (*fn)(const LbQmpCommand *cmd, void *opaque),
                            void *opaque);

#endif /* LB_QMP_DISPATCH_H */
