/*
 * test-crypto-block-concurrent.c: the LUKS engine's header guard (issue
 * 10): keyslot changes racing each other and header readers on one
 * LbLuks.  Two threads add a keyslot each (the engine picks the slot)
 * while a third reads the header description; afterwards both new
 * passphrases open the device and the description lists every slot.
 * Before the guard each change wrote its own copy of the header and one
 * slot was lost (and LUKS2 could free a header twice).
 */
#include "config.h"
#include "luks-test-io.h"

typedef struct Race {
    LbLuks *luks;
    const char *pass;
    int slot;
    gint *stop;
} Race;

static gpointer add_thread(gpointer data)
{
    Race *r = data;
    g_autoptr(GError) err = NULL;
    g_autoptr(LbSecret) p = pass_new(r->pass);

    r->slot = lb_luks_add_key(r->luks, p, -1, 100, &err);
    g_assert_no_error(err);
    return NULL;
}

static gpointer info_thread(gpointer data)
{
    Race *r = data;

    while (!g_atomic_int_get(r->stop)) {
        g_autoptr(LbLuksInfo) info = lb_luks_get_info(r->luks);
        g_assert_cmpuint(info->version, >=, 1);
        g_assert_cmpuint(lb_luks_n_active_slots(r->luks), >=, 1);
    }
    return NULL;
}

static void test_add_race(gconstpointer data)
{
    const LbLuksCreateOpts *opts = data;
    g_autoptr(MemDev) m = mem_new(0);
    g_autoptr(LbLuks) luks = create_on(m, opts, "pass0");
    gint stop = 0;
    Race a = {luks, "pass1", -1, &stop}, b = {luks, "pass2", -1, &stop};
    Race reader = {luks, NULL, -1, &stop};

    GThread *ti = g_thread_new("info", info_thread, &reader);
    GThread *ta = g_thread_new("add1", add_thread, &a);
    GThread *tb = g_thread_new("add2", add_thread, &b);
    g_thread_join(ta);
    g_thread_join(tb);
    g_atomic_int_set(&stop, 1);
    g_thread_join(ti);

    g_assert_cmpint(a.slot, >=, 0);
    g_assert_cmpint(b.slot, >=, 0);
    g_assert_cmpint(a.slot, !=, b.slot);
    g_assert_cmpuint(lb_luks_n_active_slots(luks), ==, 3);
    assert_opens(m, "pass0", luks->master_key, 0);
    assert_opens(m, "pass1", luks->master_key, a.slot);
    assert_opens(m, "pass2", luks->master_key, b.slot);
}

int main(int argc, char **argv)
{
    static const LbLuksCreateOpts luks1 = {
        .version = 1, .detached = true, .iterations = 1000,
    };
    static const LbLuksCreateOpts luks2 = {
        .version = 2, .detached = true, .pbkdf = "pbkdf2",
        .iterations = 1000,
    };
    static const LbLuksCreateOpts luks2_argon = {
        .version = 2, .detached = true, .pbkdf = "argon2id",
        .pbkdf_memory_kib = 32768, .pbkdf_parallel = 1, .pbkdf_time = 4,
    };

    g_test_init(&argc, &argv, NULL);
    g_test_add_data_func("/crypto/block/concurrent/luks1", &luks1,
                         test_add_race);
    g_test_add_data_func("/crypto/block/concurrent/luks2-pbkdf2", &luks2,
                         test_add_race);
    g_test_add_data_func("/crypto/block/concurrent/luks2-argon2id",
                         &luks2_argon, test_add_race);
    return g_test_run();
}
