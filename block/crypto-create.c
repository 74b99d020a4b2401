/*
 * crypto-create.c: the luks driver's control plane beyond open: image
 * creation (qemu-img create -f luks), blockdev-create on existing nodes,
 * and keyslot amendment, all with QEMU's option names and semantics:
 *
 *   img create, detached-header=false  FILENAME = header + SIZE of payload
 *   img create, detached-header=true   FILENAME = the header only
 *   blockdev-create header only        format a detached header
 *   blockdev-create header + file      detached header; payload resized
 *   blockdev-create file only          attached image of header + size
 *
 * LUKS2 and cryptsetup-only knobs are extra options in the same style
 * (luks-version, sector-size, pbkdf, pbkdf-memory, ...).
 */
#include "config.h"
#include "crypto-priv.h"

#include <string.h>
#include <glib/gstdio.h>
#include "lb/object.h"
#include "lb/secret.h"

typedef struct CreateParams {
    LbLuksCreateOpts c;
    LbPrealloc prealloc;
    const char *key_secret;
    uint64_t size;
} CreateParams;

static bool get_u32(LbOpts *o, const char *key, uint32_t *out, GError **errp)
{
    uint64_t v;

    if (!lb_opts_get_uint(o, key, *out, &v, errp)) {
        return false;
    }
    if (v > UINT32_MAX) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter '%s' is out of range", key);
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* Read every LbLuksCreateOpts field from @o (QEMU names where they exist). */
static bool parse_create_opts(LbOpts *o, CreateParams *p, GError **errp)
{
    LbLuksCreateOpts *c = &p->c;
    const char *prealloc = NULL;
    uint64_t version = 1, sector = 0, iter_time = 2000, force_iters = 0;
    uint32_t memory = 0, parallel = 0;

    memset(p, 0, sizeof(*p));
    if (!lb_opts_get_string(o, "key-secret", &p->key_secret, errp) ||
        !lb_opts_get_string(o, "cipher-alg", &c->cipher_alg, errp) ||
        !lb_opts_get_string(o, "cipher-mode", &c->cipher_mode, errp) ||
        !lb_opts_get_string(o, "ivgen-alg", &c->ivgen_alg, errp) ||
        !lb_opts_get_string(o, "ivgen-hash-alg", &c->ivgen_hash_alg, errp) ||
        !lb_opts_get_string(o, "hash-alg", &c->hash_alg, errp) ||
        !lb_opts_get_uint(o, "iter-time", 2000, &iter_time, errp) ||
        !lb_opts_get_bool(o, "detached-header", false, &c->detached, errp) ||
        !lb_opts_get_string(o, "preallocation", &prealloc, errp) ||
        !lb_opts_get_uint(o, "luks-version", 1, &version, errp) ||
        !lb_opts_get_size(o, "sector-size", 0, &sector, errp) ||
        !lb_opts_get_string(o, "pbkdf", &c->pbkdf, errp) ||
        !get_u32(o, "pbkdf-memory", &memory, errp) ||
        !get_u32(o, "pbkdf-parallel", &parallel, errp) ||
        !lb_opts_get_uint(o, "pbkdf-iterations", 0, &force_iters, errp) ||
        !lb_opts_get_string(o, "label", &c->label, errp) ||
        !lb_opts_get_string(o, "subsystem", &c->subsystem, errp) ||
        !lb_opts_get_string(o, "uuid", &c->uuid, errp) ||
        !lb_opts_get_size(o, "payload-offset", 0, &c->payload_offset, errp) ||
        !lb_opts_get_size(o, "metadata-size", 0, &c->hdr_size, errp) ||
        !lb_opts_get_size(o, "keyslots-size", 0, &c->keyslots_size, errp)) {
        return false;
    }
    if (prealloc && !lb_parse_prealloc(prealloc, &p->prealloc, errp)) {
        return false;
    }
    if (version != 1 && version != 2) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'luks-version' must be 1 or 2");
        return false;
    }
    static const char *const luks2_only[] = {
        "sector-size", "pbkdf",     "pbkdf-memory",  "pbkdf-parallel",
        "label",       "subsystem", "metadata-size", "keyslots-size",
    };
    for (guint i = 0; version == 1 && i < G_N_ELEMENTS(luks2_only); i++) {
        if (lb_opts_has(o, luks2_only[i])) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Parameter '%s' requires luks-version=2",
                        luks2_only[i]);
            return false;
        }
    }
    if (!p->key_secret) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'key-secret' is required for cipher");
        return false;
    }
    c->version = (unsigned)version;
    c->sector_size = (unsigned)sector;
    c->iter_time_ms = iter_time;
    c->pbkdf_memory_kib = memory;
    c->pbkdf_parallel = parallel;
    /* cryptsetup's --pbkdf-force-iterations: PBKDF2 iterations or the
     * argon2 time cost, depending on the KDF. */
    bool argon =
        version == 2 && (!c->pbkdf || g_str_has_prefix(c->pbkdf, "argon2"));
    if (force_iters > UINT32_MAX) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Parameter 'pbkdf-iterations' is out of range");
        return false;
    }
    if (argon) {
        c->pbkdf_time = (uint32_t)force_iters;
    } else {
        c->iterations = (uint32_t)force_iters;
    }
    return true;
}

/* Format a header on @hdr; for an attached image size it to hold @size. */
static bool format_on_node(LbNode *hdr, CreateParams *p, LbNode *payload,
                           GError **errp)
{
    g_autoptr(LbSecret) pass = lb_secret_lookup(p->key_secret, errp);
    LbLuksIO io;

    if (!pass) {
        return false;
    }
    /* QEMU takes a new passphrase as UTF-8 text only. */
    if (!g_utf8_validate((const char *)lb_secret_cdata(pass),
                         (gssize)lb_secret_len(pass), NULL)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Data from secret %s is not valid UTF-8", p->key_secret);
        return false;
    }
    lb_luks_node_io(hdr, &io);
    g_autoptr(LbLuks) luks = lb_luks_create(&io, &p->c, pass, errp);
    if (!luks) {
        return false;
    }
    if (!p->c.detached) {
        return lb_node_truncate(hdr, lb_luks_payload_offset(luks) + p->size,
                                p->prealloc, errp);
    }
    if (payload) {
        return lb_node_truncate(payload, p->size, p->prealloc, errp);
    }
    return true;
}

bool lb_luks_drv_create(const char *filename, uint64_t size, LbOpts *opts,
                        GError **errp)
{
    CreateParams p;

    if (!parse_create_opts(opts, &p, errp) ||
        !lb_opts_check_unused(opts, NULL, errp)) {
        return false;
    }
    p.size = (size + 511) / 512 * 512;
    if (!lb_driver_file.create(filename, 0, NULL, errp)) {
        return false;
    }
    g_autoptr(LbOpts) fopts = lb_opts_new();
    lb_opts_set_str(fopts, "driver", "file");
    lb_opts_set_str(fopts, "filename", filename);
    LbNode *node = lb_node_open(fopts, LB_OPEN_RDWR, errp);
    bool ok = node && format_on_node(node, &p, NULL, errp);
    lb_node_unref(node);
    if (!ok) {
        /* As QEMU: a failed create leaves no file, even one that existed
         * (it was truncated above). */
        g_unlink(filename);
    }
    return ok;
}

/* (transfer full): blockdev-create runs in a job thread, so the node is
 * held by a reference, never borrowed (the QMP handler pinned it too). */
static LbNode *find_writable(const char *name, GError **errp)
{
    g_autoptr(LbNode) bs = lb_node_find_ref(name);

    if (!bs) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_NOT_FOUND,
                    "Cannot find device='%s' nor node-name='%s'", name, name);
        return NULL;
    }
    if (!lb_node_is_writable(bs)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_PERM,
                    "Block node '%s' is read-only", name);
        return NULL;
    }
    return g_steal_pointer(&bs);
}

bool lb_luks_drv_create_nodes(LbOpts *opts, GError **errp)
{
    const char *file = NULL, *header = NULL;
    uint64_t size = 0;
    CreateParams p;

    lb_opts_mark_used(opts, "driver");
    if (!lb_opts_get_string(opts, "file", &file, errp) ||
        !lb_opts_get_string(opts, "header", &header, errp) ||
        !lb_opts_get_size(opts, "size", 0, &size, errp) ||
        !parse_create_opts(opts, &p, errp) ||
        !lb_opts_check_unused(opts, NULL, errp)) {
        return false;
    }
    if (!file && !header) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Either the parameter 'file' or 'header' must be "
                    "specified");
        return false;
    }
    p.size = size;
    p.c.detached = header != NULL;
    g_autoptr(LbNode) hdr = find_writable(header ? header : file, errp);
    if (!hdr) {
        return false;
    }
    g_autoptr(LbNode) payload = header && file ? find_writable(file, errp)
                                               : NULL;
    if (header && file && !payload) {
        return false;
    }
    if (hdr == payload) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'file' and 'header' must be different nodes");
        return false;
    }
    /* Formatting rewrites the whole header: exclusive, like amend. */
    lb_node_update_begin(hdr);
    bool ok = format_on_node(hdr, &p, payload, errp);
    lb_node_update_end(hdr);
    return ok;
}

/* ---- amend (QEMU's QCryptoBlockAmendOptionsLUKS) ------------------------- */

static bool slot_active(LbLuks *luks, int slot, bool *exists)
{
    g_autoptr(LbLuksInfo) info = lb_luks_get_info(luks);

    *exists = false;
    for (unsigned i = 0; i < info->n_slots; i++) {
        if (info->slots[i].id == slot) {
            *exists = true;
            return info->slots[i].active;
        }
    }
    /* LUKS2 lists only existing keyslots; any id up to 31 is valid. */
    *exists = info->version >= 2 && slot >= 0 && slot < 32;
    return false;
}

/* The first inactive keyslot (QEMU's find_free_keyslot), or -1. */
static int free_slot(LbLuks *luks)
{
    int n = lb_luks_version(luks) >= 2 ? 32 : 8;
    bool exists;

    for (int i = 0; i < n; i++) {
        if (!slot_active(luks, i, &exists) && exists) {
            return i;
        }
    }
    return -1;
}

/* The key-secret the node was opened with (QEMU's luks->secret). */
static char *open_secret(LbNode *bs)
{
    g_autoptr(LbOpts) o = lb_opts_parse_json(bs->opts_json, NULL);
    const char *id = o ? lb_opts_get_str(o, "key-secret") : NULL;
    return g_strdup(id);
}

/*
 * QEMU's qcrypto_block_luks_amend_add_keyslot: checks and wording in its
 * order; the volume key comes from @secret (default: the key-secret the
 * node was opened with), which must still open a keyslot; with @force an
 * active keyslot is overwritten.
 */
static bool amend_activate(LbNode *bs, LbLuks *luks, const char *new_secret,
                           const char *old_secret, const char *secret,
                           bool has_keyslot, int64_t keyslot,
                           uint64_t iter_time, bool force, GError **errp)
{
    bool exists;

    if (!new_secret) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'new-secret' is required to activate a keyslot");
        return false;
    }
    if (old_secret) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'old-secret' must not be given when activating keyslots");
        return false;
    }
    if (!has_keyslot) {
        keyslot = free_slot(luks);
        if (keyslot < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Can't add a keyslot - all keyslots are in use");
            return false;
        }
    }
    bool active = slot_active(luks, (int)keyslot, &exists);
    if (!force && active) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Refusing to overwrite active keyslot %" G_GINT64_FORMAT
                    " - please erase it first",
                    keyslot);
        return false;
    }
    if (!lb_luks_has_keys(luks)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "adding a keyslot needs the volume opened with "
                    "key-secret");
        return false;
    }
    /* QEMU retrieves the volume key again with this passphrase: once its
     * keyslot is gone, no key can be added with it. */
    g_autofree char *unlock_id = secret ? g_strdup(secret) : open_secret(bs);
    if (unlock_id) {
        g_autoptr(LbSecret) unlock = lb_secret_lookup(unlock_id, errp);
        if (!unlock) {
            return false;
        }
        int found = lb_luks_find_key(luks, unlock, errp);
        if (found == -2) {
            return false;
        }
        if (found < 0) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Invalid password, cannot unlock any keyslot");
            return false;
        }
    }
    g_autoptr(LbSecret) pass = lb_secret_lookup(new_secret, errp);
    if (!pass) {
        return false;
    }
    /* force: the old key material goes first (the volume key stays in
     * memory, so the new one can always be written). */
    if (active && !lb_luks_remove_key(luks, (int)keyslot, errp)) {
        return false;
    }
    return lb_luks_add_key(luks, pass, (int)keyslot, iter_time, errp) >= 0;
}

/* Header I/O on a private in-memory copy (opaque = GByteArray *). */
static bool mem_read(void *opaque, uint64_t off, void *buf, size_t len,
                     GError **errp)
{
    GByteArray *a = opaque;

    if (off > a->len || len > a->len - off) {
        memset(buf, 0, len);
        if (off < a->len) {
            memcpy(buf, a->data + off, a->len - off);
        }
        return true;
    }
    memcpy(buf, a->data + off, len);
    return true;
}

static bool mem_write(void *opaque, uint64_t off, const void *buf, size_t len,
                      GError **errp)
{
    GByteArray *a = opaque;

    if (off + len > a->len) {
        g_byte_array_set_size(a, (guint)(off + len));
    }
    memcpy(a->data + off, buf, len);
    return true;
}

static int64_t mem_length(void *opaque, GError **errp)
{
    return ((GByteArray *)opaque)->len;
}

static bool mem_truncate(void *opaque, uint64_t size, GError **errp)
{
    g_byte_array_set_size(opaque, (guint)size);
    return true;
}

/*
 * The keyslots that @pass opens, in erase order, found by erasing them
 * from a copy of the header in memory (the engine offers no per-slot test),
 * so QEMU's checks can refuse before anything on disk changes.
 * Returns: false with @errp set on an I/O error.
 */
static bool matching_slots(LbNode *bs, LbLuks *luks, const LbSecret *pass,
                           GArray *slots, GError **errp)
{
    LbNode *hdr = lb_node_child(bs, "header");
    LbLuksIO nio, mio = { .read = mem_read, .write = mem_write,
                          .length = mem_length };
    uint64_t size = lb_luks_header_size(luks);
    g_autoptr(GByteArray) copy = g_byte_array_sized_new((guint)size);

    g_byte_array_set_size(copy, (guint)size);
    lb_luks_node_io(hdr ? hdr : lb_node_child(bs, "file"), &nio);
    if (!nio.read(nio.opaque, 0, copy->data, size, errp)) {
        return false;
    }
    mio.opaque = copy;
    g_autoptr(LbLuks) dry = lb_luks_open(&mio, NULL,
                                         LB_LUKS_OPEN_NO_KEYS |
                                             LB_LUKS_OPEN_DETACHED,
                                         errp);
    if (!dry) {
        return false;
    }
    for (;;) {
        int slot = lb_luks_find_key(dry, pass, errp);
        if (slot == -2) {
            return false;
        }
        if (slot < 0) {
            return true;
        }
        g_array_append_val(slots, slot);
        if (!lb_luks_remove_key(dry, slot, errp)) {
            return false;
        }
    }
}

/* QEMU's qcrypto_block_luks_amend_erase_keyslots, checks in its order. */
static bool amend_erase(LbNode *bs, LbLuks *luks, const char *old_secret,
                        bool has_keyslot, int64_t keyslot, bool force,
                        GError **errp)
{
    bool exists;

    if (has_keyslot) {
        bool active = slot_active(luks, (int)keyslot, &exists);
        if (!force && !active) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Given keyslot %" G_GINT64_FORMAT
                        " is already erased (inactive) ",
                        keyslot);
            return false;
        }
        if (!force && lb_luks_n_active_slots(luks) == 1) {
            g_set_error(
                errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                "Attempt to erase the only active keyslot %" G_GINT64_FORMAT
                " which will erase all the data in "
                "the image irreversibly - refusing operation",
                keyslot);
            return false;
        }
        /* An inactive keyslot's material was wiped when it was erased. */
        return !active || lb_luks_remove_key(luks, (int)keyslot, errp);
    }
    if (!old_secret) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "To erase keyslot(s), either explicit keyslot index or "
                    "the password currently contained in them must be "
                    "given");
        return false;
    }
    g_autoptr(LbSecret) pass = lb_secret_lookup(old_secret, errp);
    if (!pass) {
        return false;
    }
    g_autoptr(GArray) slots = g_array_new(FALSE, FALSE, sizeof(int));
    if (!matching_slots(bs, luks, pass, slots, errp)) {
        return false;
    }
    if (slots->len == 0) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "No keyslots match given (old) password for erase "
                    "operation");
        return false;
    }
    if (!force && slots->len == lb_luks_n_active_slots(luks)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "All the active keyslots match the (old) password that "
                    "was given and erasing them will erase all the data in "
                    "the image irreversibly - refusing operation");
        return false;
    }
    for (guint i = 0; i < slots->len; i++) {
        if (!lb_luks_remove_key(luks, g_array_index(slots, int, i), errp)) {
            return false;
        }
    }
    return true;
}

bool lb_luks_drv_amend(LbNode *bs, LbOpts *opts, bool force, GError **errp)
{
    LbLuks *luks = lb_luks_drv_engine(bs);
    const char *state = NULL, *new_secret = NULL, *old_secret = NULL;
    const char *secret = NULL;
    int64_t keyslot = -1;
    uint64_t iter_time = 2000;

    lb_opts_mark_used(opts, "driver");
    if (!lb_opts_get_string(opts, "state", &state, errp) ||
        !lb_opts_get_string(opts, "new-secret", &new_secret, errp) ||
        !lb_opts_get_string(opts, "old-secret", &old_secret, errp) ||
        !lb_opts_get_string(opts, "secret", &secret, errp) ||
        !lb_opts_get_int(opts, "keyslot", -1, &keyslot, errp) ||
        !lb_opts_get_uint(opts, "iter-time", 2000, &iter_time, errp) ||
        !lb_opts_check_unused(opts, NULL, errp)) {
        return false;
    }
    if (!state ||
        (!g_str_equal(state, "active") && !g_str_equal(state, "inactive"))) {
        if (state) {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Parameter 'state' does not accept value '%s'", state);
        } else {
            g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                        "Parameter 'state' is missing");
        }
        return false;
    }
    /* QEMU's check and wording; LUKS2 has keyslot ids 0-31. */
    int nslots = lb_luks_version(luks) >= 2 ? 32 : 8;
    if (lb_opts_has(opts, "keyslot") && (keyslot < 0 || keyslot >= nslots)) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "Invalid keyslot %" G_GINT64_FORMAT
                    " specified, must be between 0 and %d",
                    keyslot, nslots - 1);
        return false;
    }
    bool has_keyslot = lb_opts_has(opts, "keyslot");
    if (g_str_equal(state, "active")) {
        return amend_activate(bs, luks, new_secret, old_secret, secret,
                              has_keyslot, keyslot, iter_time, force, errp);
    }
    const char *bad = new_secret ? "new-secret"
                      : lb_opts_has(opts, "iter-time") ? "iter-time"
                      : secret ? "secret" : NULL;
    if (bad) {
        g_set_error(errp, LB_BLOCK_ERROR, LB_BLOCK_ERROR_INVALID,
                    "'%s' must not be given when erasing keyslots", bad);
        return false;
    }
    return amend_erase(bs, luks, old_secret, has_keyslot, keyslot, force,
                       errp);
}

/*
 * qemu-img measure: the layout depends on the cipher, key size and LUKS
 * version, not on the passphrase or the KDF's cost, so a header is made
 * in memory with a dummy passphrase and the cheapest PBKDF2 (the
 * key-secret is only checked to exist) and its payload offset is read.
 */
bool lb_luks_drv_measure(uint64_t size, LbOpts *opts, uint64_t *required,
                         GError **errp)
{
    CreateParams p;

    if (!parse_create_opts(opts, &p, errp) ||
        !lb_opts_check_unused(opts, NULL, errp)) {
        return false;
    }
    g_autoptr(LbSecret) real = lb_secret_lookup(p.key_secret, errp);
    if (!real) {
        return false;
    }
    p.c.pbkdf = "pbkdf2";
    p.c.iterations = 1000;
    p.c.pbkdf_time = 0;
    g_autoptr(GByteArray) mem = g_byte_array_new();
    LbLuksIO io = { .read = mem_read, .write = mem_write,
                    .length = mem_length, .truncate = mem_truncate,
                    .opaque = mem };
    g_autoptr(LbSecret) dummy = lb_secret_new_from("x", 1);
    g_autoptr(LbLuks) luks = lb_luks_create(&io, &p.c, dummy, errp);
    if (!luks) {
        return false;
    }
    size = (size + 511) / 512 * 512;
    *required = p.c.detached ? lb_luks_header_size(luks)
                             : lb_luks_payload_offset(luks) + size;
    return true;
}
