#!/usr/bin/env python3
# test-man-help.py: every command and option the programs' --help lists
# is documented in their manual page (docs/man/*.rst), so a new option
# without documentation fails make check.  Checked:
#   luksblk-img   each command's synopsis from --help appears verbatim as a
#                 command term, and each option in it has an option-list
#                 entry in that command's section; the -o keys of
#                 `create -o help` and `amend -o help` are described there
#   luksblk-io    each option of --help has an option-list entry; each
#                 command of `-c help` appears with its synopsis
#   luksblk-storage-daemon  each option of --help has an entry, each
#                 KEY= it names is described, each `--object help` type too
# Also: the pages built by rst2man (build/docs/man) carry .TH and the
# commands (skipped parts are said so when rst2man is missing).
import os, re, subprocess, sys, tempfile

BUILD = os.environ["LB_BUILD"]
SRC = os.environ["LB_SRC"]
TOOLS = os.path.join(BUILD, "tools")
failures = []


def run(*args, cwd=None):
    r = subprocess.run(args, capture_output=True, text=True, cwd=cwd)
    return r.stdout + r.stderr


def page(name):
    with open(os.path.join(SRC, "docs", "man", name + ".rst")) as f:
        return f.read().split("\n")


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


OPT_RE = re.compile(r"(?:^|[\s\[|,])(--?[A-Za-z][A-Za-z0-9-]*)")


def opt_entries(lines):
    """Options named by rst option-list entries (lines starting with -)."""
    found = set()
    for ln in lines:
        s = ln.strip()
        if not s.startswith("-"):
            continue
        optpart = re.split(r"\s{2,}", s)[0]
        for tok in re.split(r"[,\s=]+", optpart):
            if tok.startswith("-"):
                found.add(tok)
    return found


def key_described(lines, key):
    text = "\n".join(lines)
    return re.search(r"(``|,)" + re.escape(key) + "=", text) is not None


tmp = tempfile.mkdtemp(prefix="lb-man-help.")

# ---- luksblk-img ---------------------------------------------------------
img = page("luksblk-img")
out = run(os.path.join(TOOLS, "luksblk-img"), "--help")
synopses = [ln.strip() for ln in out.split("Command syntax:")[1].splitlines()
            if ln.strip()]
if len(synopses) < 10:
    fail("luksblk-img --help lists only %d commands" % len(synopses))
heads = {i for i, ln in enumerate(img) if re.fullmatch(r"=+", ln)}
starts = {}
for syn in synopses:
    idx = [i for i, ln in enumerate(img) if ln == "``" + syn + "``"]
    if not idx:
        fail("luksblk-img.rst: no command term ``%s``" % syn)
    else:
        starts[syn] = idx[0]
bounds = sorted(starts.values()) + sorted(i - 1 for i in heads)
sections = {}
for syn, start in starts.items():
    end = min([b for b in bounds if b > start] + [len(img)])
    sections[syn.split()[0]] = img[start + 1:end]
    documented = opt_entries(sections[syn.split()[0]])
    for opt in OPT_RE.findall(syn):
        if opt not in documented:
            fail("luksblk-img.rst: %s: option %s is not described"
                 % (syn.split()[0], opt))
for cmd in ("create", "amend"):
    helptext = run(os.path.join(TOOLS, "luksblk-img"), cmd, "-f", "luks",
                   "-o", "help", "x.img", cwd=tmp)
    keys = re.findall(r"^\s+([a-z][a-z-]*)=", helptext, re.M)
    if len(keys) < 3:
        fail("luksblk-img %s -o help lists only %r" % (cmd, keys))
    for k in keys:
        if not any(ln.strip().startswith("``" + k + "=")
                   for ln in sections.get(cmd, [])):
            fail("luksblk-img.rst: %s option %s= is not described" % (cmd, k))

# ---- luksblk-io ----------------------------------------------------------
io = page("luksblk-io")
out = run(os.path.join(TOOLS, "luksblk-io"), "--help")
opts = set()
for ln in out.splitlines():
    if ln.startswith("  -"):
        opts.update(OPT_RE.findall(re.split(r"\s{2,}", ln.strip())[0]))
documented = opt_entries(io)
if len(opts) < 10:
    fail("luksblk-io --help lists only %r" % sorted(opts))
for opt in sorted(opts):
    if opt not in documented:
        fail("luksblk-io.rst: option %s is not described" % opt)
raw = os.path.join(tmp, "x.raw")
with open(raw, "wb") as f:
    f.truncate(1 << 20)
out = run(os.path.join(TOOLS, "luksblk-io"), "-f", "raw", raw, "-c", "help")
cmds = [ln.split(" -- ")[0].strip() for ln in out.splitlines() if " -- " in ln]
if len(cmds) < 10:
    fail("luksblk-io -c help lists only %r" % cmds)
for syn in cmds:
    if "``" + syn + "``" not in io:
        fail("luksblk-io.rst: no command term ``%s``" % syn)

# ---- luksblk-storage-daemon ----------------------------------------------
sd = page("luksblk-storage-daemon")
out = run(os.path.join(TOOLS, "luksblk-storage-daemon"), "--help")
opts, keys = set(), set()
for ln in out.splitlines():
    if ln.startswith("  -"):
        opts.update(OPT_RE.findall(re.split(r"\s{2,}", ln.strip())[0]))
    if ln.startswith("  -") or ln.startswith("     "):
        keys.update(re.findall(r"([a-z][a-z.-]*)=", ln))
documented = opt_entries(sd)
if len(opts) < 8 or len(keys) < 15:
    fail("luksblk-storage-daemon --help: only %r / %r" % (opts, keys))
for opt in sorted(opts):
    if opt not in documented:
        fail("luksblk-storage-daemon.rst: option %s is not described" % opt)
for k in sorted(keys):
    if not key_described(sd, k):
        fail("luksblk-storage-daemon.rst: key %s= is not described" % k)
out = run(os.path.join(TOOLS, "luksblk-storage-daemon"), "--object", "help")
types = [ln.strip() for ln in out.splitlines()[1:] if ln.strip()]
if len(types) < 3:
    fail("--object help lists only %r" % types)
for t in types:
    if "``" + t + "``" not in sd:
        fail("luksblk-storage-daemon.rst: object type %s is not described" % t)

# ---- the built pages -----------------------------------------------------
mandir = os.path.join(BUILD, "docs", "man")
built = [f for f in ("luksblk-img.1", "luksblk-io.1",
                     "luksblk-storage-daemon.1", "luksblk.7")
         if os.path.exists(os.path.join(mandir, f))]
if not built:
    print("SKIP part: rst2man missing, no manual pages were built")
else:
    if len(built) != 4:
        fail("only %r were built" % built)
    for f in built:
        text = open(os.path.join(mandir, f)).read()
        name = f.rsplit(".", 1)[0]
        if not re.search(r'^\.TH "?%s"? "?%s' % (re.escape(name.upper()), f[-1]),
                         text, re.M | re.I):
            fail("%s: no .TH %s line" % (f, name.upper()))
    text = open(os.path.join(mandir, "luksblk-img.1")).read().replace("\\-", "-")
    for syn in synopses:
        if syn.split()[0] not in text:
            fail("luksblk-img.1 lacks the command %s" % syn.split()[0])

subprocess.run(["rm", "-rf", tmp])
if failures:
    print("%d undocumented items: describe them in docs/man/*.rst (and "
          "offer them in contrib/completion/luksblk.bash)" % len(failures))
    sys.exit(1)
print("man pages document every command and option of --help")
