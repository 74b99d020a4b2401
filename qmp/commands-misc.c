/*
 * commands-misc.c: human-monitor-command, limited to the one HMP command
 * QEMU's iotests drive block nodes with:
 *
 *   qemu-io [-d] NODE "COMMAND"
 *
 * COMMAND runs through the qemu-io command engine (lb/iocmds.h) on the
 * node.  As in QEMU, the command's output ("wrote 512/512 bytes ...",
 * "Pattern verification failed ...") goes to the daemon's stdout, and the
 * return value holds only the error messages ("Error: Cannot find device",
 * "Block node is read-only", bad arguments), "" when there were none;
 * problems are never a QMP error, and returned lines end in "\r\n".
 *
 * Also here: x-blockdev-amend, QEMU 10's name for blockdev-amend (the
 * command itself is in commands-block.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "lb-qapi-commands-block-core.h"
#include "lb-qapi-commands-misc.h"
#include "lb/block.h"
#include "lb/iocmds.h"

/* HMP "s" argument: a double-quoted string with C escapes, or a word. */
static char *hmp_take_arg(const char **p)
{
    GString *s = g_string_new(NULL);
    const char *q = *p;

    while (*q == ' ' || *q == '\t') {
        q++;
    }
    if (*q == '"') {
        for (q++; *q && *q != '"'; q++) {
            if (*q == '\\' && q[1]) {
                q++;
                g_string_append_c(s, *q == 'n' ? '\n' : *q);
            } else {
                g_string_append_c(s, *q);
            }
        }
        if (*q == '"') {
            q++;
        }
    } else {
        while (*q && *q != ' ' && *q != '\t') {
            g_string_append_c(s, *q++);
        }
    }
    *p = q;
    return g_string_free(s, s->len == 0);
}

static char *crlf(const char *text)
{
    GString *out = g_string_new(NULL);

    for (const char *c = text; *c; c++) {
        if (*c == '\n') {
            g_string_append_c(out, '\r');
        }
        g_string_append_c(out, *c);
    }
    return g_string_free(out, FALSE);
}

/* Output lines to the daemon's stdout, error lines to @err (returned). */
static void hmp_qemu_io(const char *rest, GString *err)
{
    g_autofree char *node_name = hmp_take_arg(&rest);
    if (node_name && strcmp(node_name, "-d") == 0) {
        g_free(node_name);
        node_name = hmp_take_arg(&rest);
    }
    g_autofree char *cmd = hmp_take_arg(&rest);
    if (!node_name || !cmd) {
        g_string_append(err, "qemu-io: expected NODE \"COMMAND\"\n");
        return;
    }
    LbNode *bs = lb_node_find(node_name);
    if (!bs) {
        g_string_append_printf(err,
                               "Error: Cannot find device='%s' nor "
                               "node-name='%s'\n",
                               node_name, node_name);
        return;
    }
    g_autoptr(LbIoCmds) io = lb_iocmds_new(bs);
    g_autoptr(GString) out = g_string_new(NULL);
    lb_iocmds_run_err(io, cmd, false, out, err);
    lb_iocmds_drain(io, out);
    fputs(out->str, stdout);
    fflush(stdout);
}

bool lb_qmp_human_monitor_command(const LbQmpHumanMonitorCommandArgs *args,
                                  JsonNode **ret, GError **errp)
{
    const char *line = args->command_line;
    g_autoptr(GString) out = g_string_new(NULL);

    while (*line == ' ') {
        line++;
    }
    size_t n = strcspn(line, " \t");
    g_autofree char *name = g_strndup(line, n);
    if (strcmp(name, "qemu-io") == 0) {
        hmp_qemu_io(line + n, out);
    } else if (*name) {
        g_string_append_printf(out, "unknown command: '%s'\n", name);
    }
    g_autofree char *text = crlf(out->str);
    *ret = json_node_init_string(json_node_alloc(), text);
    return true;
}

bool lb_qmp_x_blockdev_amend(const LbQmpXBlockdevAmendArgs *args,
                             JsonNode **ret, GError **errp)
{
    const LbQmpBlockdevAmendArgs a = {
        .job_id = args->job_id,
        .node_name = args->node_name,
        .options = args->options,
        .has_force = args->has_force,
        .force = args->force,
    };
    return lb_qmp_blockdev_amend(&a, ret, errp);
}
