/*
 * commands-control.c: protocol-level commands: qmp_capabilities,
 * query-version, query-commands, query-qmp-schema and quit.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "lb-qapi-commands-control.h"
#include "lb-qapi-init.h"
#include "qmp/dispatch.h"
#include "qmp/qmp.h"

bool lb_qmp_qmp_capabilities(const LbQmpQmpCapabilitiesArgs *args,
                             JsonNode **ret, GError **errp)
{
    /* "oob" is the only capability (validated by the schema); enabling it
     * changes nothing because no command is out-of-band.  The dispatcher
     * switches the session to command mode on success. */
    return true;
}

bool lb_qmp_query_version(JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, LB_VERSION_MAJOR);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, LB_VERSION_MINOR);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, LB_VERSION_MICRO);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "luksblk");
    json_builder_end_object(b);
    *ret = json_builder_get_root(b);
    return true;
}

static void add_command(const LbQmpCommand *cmd, void *opaque)
{
    JsonBuilder *b = opaque;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, cmd->name);
    json_builder_end_object(b);
}

bool lb_qmp_query_commands(JsonNode **ret, GError **errp)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_array(b);
    lb_qmp_foreach_command(add_command, b);
    json_builder_end_array(b);
    *ret = json_builder_get_root(b);
    return true;
}

bool lb_qmp_query_qmp_schema(JsonNode **ret, GError **errp)
{
    *ret = json_from_string(lb_qapi_introspection, errp);
    return *ret != NULL;
}

bool lb_qmp_quit(JsonNode **ret, GError **errp)
{
    lb_qmp_request_quit();
    return true;
}
