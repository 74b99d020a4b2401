#!/usr/bin/env python3
# test-man-examples.py: the EXAMPLES of every manual page (docs/man/*.rst)
# run, each page in its own temp directory, and come from the README.
#   - the literal block after the paragraph starting "As in the README"
#     is extracted (continuation lines joined) and run with bash -e;
#   - every such block shares at least one luksblk command, verbatim,
#     with README.md (so the pages follow the README);
#   - luksblk-storage-daemon runs in the background: once its QMP and NBD
#     sockets exist, QMP query-block-exports must list the export, the
#     NBD socket must greet with NBDMAGIC, then QMP quit must end it with
#     exit status 0.
# LB_BINDIR (default $LB_BUILD/tools) picks the programs, so the Debian
# package test runs the same examples against /usr/bin.
import os, re, shutil, subprocess, sys, tempfile

SRC = os.environ["LB_SRC"]
BINDIR = os.environ.get("LB_BINDIR") or os.path.join(os.environ["LB_BUILD"], "tools")
PAGES = ["luksblk-img", "luksblk-io", "luksblk-storage-daemon", "luksblk"]

QMP_CHECK = r'''
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect("qmp.sock")
f = s.makefile("rw")
json.loads(f.readline())
def cmd(c):
    f.write(json.dumps({"execute": c}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
cmd("qmp_capabilities")
r = cmd("query-block-exports")
ids = [e["id"] for e in r["return"]]
assert "e0" in ids, r
n = socket.socket(socket.AF_UNIX); n.settimeout(30); n.connect("nbd.sock")
magic = n.recv(8)
assert magic == b"NBDMAGIC", magic
n.close()
print("daemon: exports", ids, "and NBD greets:", magic.decode())
cmd("quit")
'''

WRAPPER = r'''
luksblk-storage-daemon() {
    command luksblk-storage-daemon "$@" &
    local pid=$! i
    for i in $(seq 300); do
        [ -S qmp.sock ] && [ -S nbd.sock ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    python3 qmp_check.py || { kill "$pid"; wait "$pid"; return 1; }
    wait "$pid"
}
'''


def commands(block):
    """Logical lines (continuations joined, whitespace collapsed)."""
    out, cur = [], ""
    for ln in block.split("\n"):
        cur += ln.strip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur:
            out.append(re.sub(r"\s+", " ", cur))
        cur = ""
    return out


def example_block(text):
    ex = text.split("\nEXAMPLES\n========\n")[1]
    m = re.search(r"^As in the README[^\n]*(?:\n[^\n]+)*::\n\n((?:(?:   [^\n]*)?\n)+)",
                  ex, re.M)
    if not m:
        return None
    lines = m.group(1).rstrip("\n").split("\n")
    return "\n".join(ln[3:] for ln in lines)


with open(os.path.join(SRC, "README.md")) as f:
    readme = set(commands("\n".join(ln[4:] for ln in f.read().split("\n")
                                    if ln.startswith("    "))))
failed = []
for page in PAGES:
    with open(os.path.join(SRC, "docs", "man", page + ".rst")) as f:
        block = example_block(f.read())
    if block is None:
        failed.append(page + ": no EXAMPLES block 'As in the README'")
        continue
    cmds = [c for c in commands(block) if c.startswith("luksblk-")]
    if not any(c in readme for c in cmds):
        failed.append(page + ": no example command is from the README")
    tmp = tempfile.mkdtemp(prefix="lb-man-ex.")
    try:
        with open(os.path.join(tmp, "qmp_check.py"), "w") as f:
            f.write(QMP_CHECK)
        script = ("set -euo pipefail\nexport PATH=%s:$PATH\n%s\n%s\n"
                  % (BINDIR, WRAPPER, block))
        print("=== %s(%s) EXAMPLES" % (page, "7" if page == "luksblk" else "1"))
        print(block)
        r = subprocess.run(["bash", "-c", script], cwd=tmp, timeout=300)
        if r.returncode != 0:
            failed.append("%s: EXAMPLES failed (exit %d)" % (page, r.returncode))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

for f in failed:
    print("FAIL:", f)
if failed:
    sys.exit(1)
print("all %d pages' EXAMPLES ran" % len(PAGES))
