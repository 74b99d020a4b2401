/*
 * commands-objects.c: object-add and object-del (secrets and TLS
 * credentials), handing the validated arguments to the object registry.
 */
#include "config.h"

#include "lb-qapi-commands-objects.h"
#include "lb/object.h"
#include "qmp/qmp-opts.h"

bool lb_qmp_object_add(JsonObject *args, JsonNode **ret, GError **errp)
{
    g_autoptr(LbOpts) props = lb_qmp_opts_from_object(args, errp);

    return props && lb_object_add(props, errp);
}

bool lb_qmp_object_del(const LbQmpObjectDelArgs *args, JsonNode **ret,
                       GError **errp)
{
    return lb_object_del(args->id, errp);
}
