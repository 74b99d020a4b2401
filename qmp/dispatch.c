/*
 * dispatch.c: execute one QMP request.
 *
 * Checks the request's shape as QEMU's qmp_dispatch() does (an object
 * with "execute" or "exec-oob", optional "arguments" object and "id"),
 * finds the command in the generated tables, validates the arguments
 * against the schema, runs the handler and builds the reply:
 *   {"return": VALUE, "id": ID}  or  {"error": {"class":..,"desc":..}, "id":
 * ID} While a session is still negotiating capabilities, every command but
 * qmp_capabilities fails with CommandNotFound, as in QEMU.
 */
#include "config.h"
#include "qmp/dispatch.h"

#include <string.h>

#include "lb-qapi-init.h"
#include "lb/secret.h"
#include "qmp/qmp.h"
#include "qmp/qmp-opts.h"

G_DEFINE_QUARK(lb - qmp - error - quark, lb_qmp_error)

const char *lb_qmp_error_class(const GError *err)
{
    if (err->domain == LB_QMP_ERROR) {
        switch (err->code) {
        case LB_QMP_ERROR_COMMAND_NOT_FOUND:
            return "CommandNotFound";
        case LB_QMP_ERROR_DEVICE_NOT_FOUND:
            return "DeviceNotFound";
        default:
            break;
        }
    }
    return "GenericError";
}

const LbQmpCommand *lb_qmp_find_command(const char *name)
{
    for (unsigned t = 0; lb_qapi_command_tables[t]; t++) {
        for (const LbQmpCommand *c = lb_qapi_command_tables[t]; c->name; c++) {
            if (strcmp(c->name, name) == 0) {
                return c;
            }
        }
    }
    return NULL;
}

void lb_qmp_foreach_command(void (*fn)(const LbQmpCommand *cmd, void *opaque),
                            void *opaque)
{
    for (unsigned t = 0; lb_qapi_command_tables[t]; t++) {
        for (const LbQmpCommand *c = lb_qapi_command_tables[t]; c->name; c++) {
            fn(c, opaque);
        }
    }
}

/* Close a reply object being built in @b, with the command's "id" if any. */
static JsonNode *end_reply(JsonBuilder *b, JsonNode *id)
{
    if (id) {
        json_builder_set_member_name(b, "id");
        json_builder_add_value(b, json_node_copy(id));
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *lb_qmp_error_reply(const GError *err, JsonNode *id)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "class");
    json_builder_add_string_value(b, lb_qmp_error_class(err));
    json_builder_set_member_name(b, "desc");
    json_builder_add_string_value(b, err->message);
    json_builder_end_object(b);
    return end_reply(b, id);
}

static JsonNode *return_reply(JsonNode *ret, JsonNode *id)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "return");
    if (ret) {
        json_builder_add_value(b, ret);
    } else {
        json_builder_begin_object(b);
        json_builder_end_object(b);
    }
    return end_reply(b, id);
}

/* Check the request object's members; returns the command name. */
static const char *check_request(JsonObject *req, GError **errp)
{
    g_autoptr(GList) keys = json_object_get_members(req);
    const char *name = NULL;

    for (GList *l = keys; l; l = l->next) {
        const char *key = l->data;
        JsonNode *v = json_object_get_member(req, key);

        if (!strcmp(key, "execute") || !strcmp(key, "exec-oob")) {
            if (!JSON_NODE_HOLDS_VALUE(v) ||
                json_node_get_value_type(v) != G_TYPE_STRING) {
                g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "QMP input member '%s' must be a string", key);
                return NULL;
            }
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v)) {
                g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                                    "QMP input member 'arguments' must be an "
                                    "object");
                return NULL;
            }
        } else if (strcmp(key, "id") != 0) {
            g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                        "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    bool exec = json_object_has_member(req, "execute");
    bool oob = json_object_has_member(req, "exec-oob");
    if (exec && oob) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "QMP input must not have both 'execute' and "
                            "'exec-oob'");
        return NULL;
    }
    if (!exec && !oob) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "QMP input lacks member 'execute'");
        return NULL;
    }
    name = json_object_get_string_member(req, exec ? "execute" : "exec-oob");
    if (oob) {
        /* Every command runs in order here; none is out-of-band. */
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "The command %s does not support OOB", name);
        return NULL;
    }
    return name;
}

static bool run(JsonObject *req, bool *negotiated, JsonNode **ret,
                GError **errp)
{
    const char *name = check_request(req, errp);
    if (!name) {
        return false;
    }
    const LbQmpCommand *cmd = lb_qmp_find_command(name);
    bool is_caps = strcmp(name, "qmp_capabilities") == 0;

    if (!*negotiated && !is_caps) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_COMMAND_NOT_FOUND,
                            "Expecting capabilities negotiation with "
                            "'qmp_capabilities'");
        return false;
    }
    if (!cmd) {
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_COMMAND_NOT_FOUND,
                    "The command %s has not been found", name);
        return false;
    }
    if (*negotiated && is_caps) {
        g_set_error_literal(errp, LB_QMP_ERROR, LB_QMP_ERROR_COMMAND_NOT_FOUND,
                            "Capabilities negotiation is already complete, "
                            "command ignored");
        return false;
    }
    JsonNode *argn = json_object_get_member(req, "arguments");
    g_autoptr(JsonNode) empty = NULL;
    if (!argn) {
        empty = json_node_new(JSON_NODE_OBJECT);
        json_node_take_object(empty, json_object_new());
        argn = empty;
    }
    if (cmd->args) {
        if (!lb_qapi_validate(cmd->args, argn, errp)) {
            return false;
        }
    } else if (json_object_get_size(json_node_get_object(argn)) > 0) {
        g_autoptr(GList) keys =
            json_object_get_members(json_node_get_object(argn));
        g_set_error(errp, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                    "Parameter '%s' is unexpected", (const char *)keys->data);
        return false;
    }
    if (!cmd->fn(json_node_get_object(argn), ret, errp)) {
        return false;
    }
    if (is_caps) {
        *negotiated = true;
    }
    return true;
}

JsonNode *lb_qmp_dispatch(JsonNode *request, bool *negotiated)
{
    g_autoptr(GError) err = NULL;
    JsonNode *ret = NULL;

    if (!JSON_NODE_HOLDS_OBJECT(request)) {
        g_set_error_literal(&err, LB_QMP_ERROR, LB_QMP_ERROR_GENERIC,
                            "QMP input must be a JSON object");
        return lb_qmp_error_reply(err, NULL);
    }
    JsonObject *req = json_node_get_object(request);
    JsonNode *id = json_object_get_member(req, "id");
    if (!run(req, negotiated, &ret, &err)) {
        g_assert(err);
        g_clear_pointer(&ret, json_node_unref);
        return lb_qmp_error_reply(err, id);
    }
    return return_reply(ret, id);
}

char *lb_qmp_to_text(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, node);
    return json_generator_to_data(gen, NULL);
}

static void secret_free(gpointer s)
{
    lb_secret_free(s);
}

GPtrArray *lb_qmp_secrets_new(void)
{
    return g_ptr_array_new_with_free_func(secret_free);
}

char *lb_qmp_execute_json(const char *request)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    bool negotiated = true;
    g_autoptr(GPtrArray) secrets = lb_qmp_secrets_new();
    g_autofree char *clean = lb_opts_json_redact(request, -1, secrets);

    if (!json_parser_load_from_data(parser, clean, -1, &err)) {
        g_prefix_error(&err, "JSON parse error, ");
        g_autoptr(JsonNode) reply = lb_qmp_error_reply(err, NULL);
        return lb_qmp_to_text(reply);
    }
    lb_qmp_set_request_secrets(secrets);
    g_autoptr(JsonNode) reply =
        lb_qmp_dispatch(json_parser_get_root(parser), &negotiated);
    lb_qmp_set_request_secrets(NULL);
    return lb_qmp_to_text(reply);
}

bool lb_qmp_check_opts(const char *command, LbOpts *opts, bool keyval,
                       GError **errp)
{
    const LbQmpCommand *cmd = lb_qmp_find_command(command);
    /* Validate a copy without passphrases: json-glib keeps copies. */
    g_autoptr(LbOpts) clean = lb_opts_dup(opts);
    lb_opts_redact(clean);
    g_autofree char *text = lb_opts_to_json(clean);
    g_autoptr(JsonNode) node = json_from_string(text, errp);

    g_assert(cmd && cmd->args);
    return node && lb_qapi_validate_full(cmd->args, node, keyval, errp);
}
