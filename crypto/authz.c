/*
 * authz.c: authorization objects (QEMU's authz/): "authz-simple" and
 * "authz-list", consulted by the NBD server's tls-authz.
 *
 *   authz-simple  identity=STR: allows exactly that identity
 *   authz-list    policy=deny|allow (default deny), rules=[{match, policy,
 *                 format=exact|glob}]: the first rule whose match fits the
 *                 identity decides, else the default policy
 *
 * An identity is what the TLS layer authenticated: the distinguished name
 * of an x509 client certificate ("CN=client,O=luksblk", as gnutls prints
 * it and QEMU passes it) or a PSK username.  Rules come as a JSON list
 * (QMP, JSON --object) or as keyval "rules.0.match=...,rules.0.policy=..."
 * on the command line.  authz-listfile and authz-pam are refused as
 * qemu-storage-daemon refuses them ("invalid object type").
 */
#include "config.h"
#include "lb/object.h"

#include <fnmatch.h>
#include <string.h>
#include <json-glib/json-glib.h>

typedef struct AuthzRule {
    char *match;
    bool allow;
    bool glob;
} AuthzRule;

/* One type for both classes: authz-simple is a list with one exact rule. */
typedef struct AuthzObj {
    bool allow_default;
    GArray *rules; /* of AuthzRule */
} AuthzObj;

static void authz_obj_free(AuthzObj *obj)
{
    for (guint i = 0; i < obj->rules->len; i++) {
        g_free(g_array_index(obj->rules, AuthzRule, i).match);
    }
    g_array_unref(obj->rules);
    g_free(obj);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthzObj, authz_obj_free)

static void authz_destroy(void *obj)
{
    authz_obj_free(obj);
}

static AuthzObj *authz_new(bool allow_default)
{
    AuthzObj *obj = g_new0(AuthzObj, 1);
    obj->allow_default = allow_default;
    obj->rules = g_array_new(FALSE, TRUE, sizeof(AuthzRule));
    return obj;
}

static void *authz_simple_create(const char *id, LbOpts *props, GError **errp)
{
    const char *identity = NULL;

    if (!lb_opts_get_string(props, "identity", &identity, errp)) {
        return NULL;
    }
    if (!identity) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter 'identity' is missing");
        return NULL;
    }
    AuthzObj *obj = authz_new(false);
    AuthzRule rule = {.match = g_strdup(identity), .allow = true};
    g_array_append_val(obj->rules, rule);
    return obj;
}

/* "allow" / "deny" (@what names the parameter in the error). */
static bool authz_parse_policy(const char *s, const char *what, bool *allow,
                               GError **errp)
{
    if (g_strcmp0(s, "allow") == 0 || g_strcmp0(s, "deny") == 0) {
        *allow = s[0] == 'a';
        return true;
    }
    g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                s ? "Parameter '%s' does not accept value '%s'"
                  : "Parameter '%s' is missing",
                what, s);
    return false;
}

static const char *member_str(JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
        json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

static bool authz_add_rule(AuthzObj *obj, guint i, JsonNode *node,
                           GError **errp)
{
    g_autofree char *what = g_strdup_printf("rules[%u]", i);

    if (!JSON_NODE_HOLDS_OBJECT(node)) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Invalid parameter type for '%s', expected: object", what);
        return false;
    }
    JsonObject *o = json_node_get_object(node);
    const char *match = member_str(o, "match");
    const char *format = member_str(o, "format");
    g_autofree char *pwhat = g_strdup_printf("%s.policy", what);
    AuthzRule rule = {0};

    if (!match) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter '%s.match' is missing", what);
        return false;
    }
    if (!authz_parse_policy(member_str(o, "policy"), pwhat, &rule.allow,
                            errp)) {
        return false;
    }
    if (format && strcmp(format, "glob") != 0 && strcmp(format, "exact")) {
        g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                    "Parameter '%s.format' does not accept value '%s'", what,
                    format);
        return false;
    }
    rule.glob = format && strcmp(format, "glob") == 0;
    rule.match = g_strdup(match);
    g_array_append_val(obj->rules, rule);
    return true;
}

/*
 * The rules as a JSON array (QMP) or, from keyval, an object whose keys
 * are the indexes "0", "1", ... in order (QEMU's keyval list syntax).
 */
static bool authz_add_rules(AuthzObj *obj, JsonNode *rules, GError **errp)
{
    if (JSON_NODE_HOLDS_ARRAY(rules)) {
        JsonArray *a = json_node_get_array(rules);
        for (guint i = 0; i < json_array_get_length(a); i++) {
            if (!authz_add_rule(obj, i, json_array_get_element(a, i), errp)) {
                return false;
            }
        }
        return true;
    }
    if (JSON_NODE_HOLDS_OBJECT(rules)) {
        JsonObject *o = json_node_get_object(rules);
        guint n = json_object_get_size(o);
        for (guint i = 0; i < n; i++) {
            g_autofree char *key = g_strdup_printf("%u", i);
            JsonNode *elem = json_object_get_member(o, key);
            if (!elem) {
                g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                            "Parameter 'rules.%u' is missing", i);
                return false;
            }
            if (!authz_add_rule(obj, i, elem, errp)) {
                return false;
            }
        }
        return true;
    }
    g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                "Invalid parameter type for 'rules', expected: array");
    return false;
}

static void *authz_list_create(const char *id, LbOpts *props, GError **errp)
{
    const char *policy = NULL;
    bool allow = false;

    if (!lb_opts_get_string(props, "policy", &policy, errp) ||
        (policy && !authz_parse_policy(policy, "policy", &allow, errp))) {
        return NULL;
    }
    g_autoptr(AuthzObj) obj = authz_new(allow);
    if (lb_opts_has(props, "rules")) {
        /* The list is read through JSON: LbOpts has no list getter. */
        g_autofree char *text = lb_opts_to_json(props);
        g_autoptr(JsonNode) root = json_from_string(text, errp);
        if (!root) {
            return NULL;
        }
        lb_opts_mark_used(props, "rules");
        JsonNode *rules =
            json_object_get_member(json_node_get_object(root), "rules");
        if (!authz_add_rules(obj, rules, errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&obj);
}

static bool authz_rule_matches(const AuthzRule *rule, const char *identity)
{
    if (rule->glob) {
        return fnmatch(rule->match, identity, 0) == 0;
    }
    return strcmp(rule->match, identity) == 0;
}

static bool authz_check(void *priv, void *data)
{
    const AuthzObj *obj = priv;
    const char *identity = data;

    for (guint i = 0; i < obj->rules->len; i++) {
        const AuthzRule *rule = &g_array_index(obj->rules, AuthzRule, i);
        if (authz_rule_matches(rule, identity)) {
            return rule->allow;
        }
    }
    return obj->allow_default;
}

const LbObjectClass lb_authz_simple_class = {
    .type = "authz-simple",
    .create = authz_simple_create,
    .destroy = authz_destroy,
};

const LbObjectClass lb_authz_list_class = {
    .type = "authz-list",
    .create = authz_list_create,
    .destroy = authz_destroy,
};

bool lb_authz_is_allowed(const char *id, const char *identity, GError **errp)
{
    const LbObjectClass *classes[] = {
        &lb_authz_simple_class,
        &lb_authz_list_class,
    };
    const char *type = lb_object_type(id);

    for (guint i = 0; type && i < G_N_ELEMENTS(classes); i++) {
        if (strcmp(type, classes[i]->type) != 0) {
            continue;
        }
        /* Under the registry lock: a concurrent object-del cannot free it. */
        int r = lb_object_call(id, classes[i], authz_check, (void *)identity);
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_INVALID,
                        "authorization for '%s' is denied", identity);
            return false;
        }
    }
    g_set_error(errp, LB_OBJECT_ERROR, LB_OBJECT_ERROR_NOT_FOUND,
                "No authorization object with id '%s'", id);
    return false;
}
