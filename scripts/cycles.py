#!/usr/bin/env python3
"""cycles.py - find circles in the graph "file A uses a function or global that
file B defines" over spindle's non-test C files (issue 10).

Definitions: what `ctags --output-format=json --c-kinds=fv` reports for the .c
files, static ones left out (nobody else can use them). Uses: the identifiers
in each .c file, comments and string literals stripped and member names
(after `.` or `->`), struct member declarations, and locals and parameters
in the function that declares them skipped; a macro or static inline function from one of the
project's headers counts as using what its body uses (so SP_LOG(...) uses
sp_logf, sp_buf_add() uses sp_buf_add_slow). A file's own definitions are not
edges.

Prints every strongly connected component of more than one file (a circle:
each of its files reaches every other), with the identifiers behind each edge
inside it, and exits 1 if there is any; exits 0 with "no circles" otherwise,
2 when ctags is missing or fails.

Usage: scripts/cycles.py [--edges] [--root DIR] [--self-test]
  --edges      also print the whole graph, one "A -> B: names" line per edge
  --root DIR   the tree to look at (default: this repository)
  --self-test  run the script on a small made-up tree, with and without a circle
"""
import argparse
import json
import os
import re
import subprocess
import sys

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Comments, string and character literals, in one pass so that a quote in a
# comment or a "/*" in a string does not confuse the other.
LEXEMES = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def strip(text):
    """Blanks comments and literals, keeping line numbers."""
    def blank(m):
        s = m.group(0)
        return re.sub(r"[^\n]", " ", s)
    text = LEXEMES.sub(blank, text)
    # #include lines name files, not identifiers.
    return re.sub(r"(?m)^[ \t]*#[ \t]*include[^\n]*", "", text)


def tokens(text):
    """(identifier, line) for each identifier in stripped text, member names
    after `.` or `->` left out."""
    out = []
    line, pos = 1, 0
    for m in IDENT.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        i = m.start() - 1
        while i >= 0 and text[i] in " \t\n":
            i -= 1
        if i >= 0 and (text[i] == "." or (text[i] == ">" and i > 0 and text[i - 1] == "-")):
            continue
        out.append((m.group(0), line))
    return out


def identifiers(text):
    return {name for name, _ in tokens(text)}


def local_names(tags):
    """file -> name -> line ranges where the name is not a file-level one:
    a struct member's own declaration line, and the whole function around a
    local variable or parameter (which shadows a global of that name)."""
    funcs = {}
    for t in tags:
        if t["kind"] == "function":
            funcs[(t["path"], t["name"])] = (t["line"], t.get("end", t["line"]))
    out = {}
    for t in tags:
        if t["kind"] == "member":
            rng = (t["line"], t["line"])
        elif t["kind"] in ("local", "parameter"):
            scope = t.get("scope", "")
            rng = funcs.get((t["path"], scope), (t["line"], t["line"]))
        else:
            continue
        out.setdefault(t["path"], {}).setdefault(t["name"], []).append(rng)
    return out


def file_uses(path, text, shadow):
    """Identifiers a .c file uses, its locals, parameters and member
    declarations left out."""
    out = set()
    for name, line in tokens(text):
        if any(a <= line <= b for a, b in shadow.get(name, ())):
            continue
        out.add(name)
    return out


def ctags(files, kinds):
    cmd = ["ctags", "--output-format=json", "--c-kinds=" + kinds, "--fields=+{file}+n+e",
           "--language-force=C", "-f", "-"] + files
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    except FileNotFoundError:
        sys.exit("cycles: ctags not found (Debian: apt-get install universal-ctags)")
    except subprocess.CalledProcessError as e:
        print(e.stderr, file=sys.stderr)
        sys.exit(2)
    tags = []
    for line in res.stdout.splitlines():
        t = json.loads(line)
        if t.get("_type") == "tag":
            tags.append(t)
    return tags


def tracked(root, suffix):
    """The repository's files with this suffix, tests excluded."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "*" + suffix],
                             capture_output=True, text=True, check=True).stdout.split()
    except (FileNotFoundError, subprocess.CalledProcessError):
        out = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(".") and x != "build"]
            out += [os.path.relpath(os.path.join(d, n), root) for n in names if n.endswith(suffix)]
    return sorted(f for f in out if not f.startswith("tests/") and f.endswith(suffix))


def header_expansions(root, headers):
    """name -> identifiers in the body of each macro and inline function the
    project's headers define."""
    texts = {h: strip(open(os.path.join(root, h), encoding="utf-8", errors="replace").read())
             .split("\n") for h in headers}
    exp = {}
    for t in ctags(headers, "fd") if headers else []:
        lines = texts.get(t["path"])
        if lines is None or "line" not in t:
            continue
        first = t["line"] - 1
        if t["kind"] == "macro":
            last = first
            while last + 1 < len(lines) and lines[last].rstrip().endswith("\\"):
                last += 1
            body = "\n".join(lines[first:last + 1])
            # Drop "#define NAME" itself.
            body = re.sub(r"^\s*#\s*define\s+" + re.escape(t["name"]), "", body, count=1)
        else:
            body = "\n".join(lines[first:t.get("end", t["line"])])
        exp.setdefault(t["name"], set()).update(identifiers(body) - {t["name"]})
    return exp


def expand(uses, exp):
    """uses plus what the macros and inline functions among them use, to a
    fixed point."""
    seen = set(uses)
    todo = [u for u in uses if u in exp]
    while todo:
        for x in exp[todo.pop()]:
            if x not in seen:
                seen.add(x)
                if x in exp:
                    todo.append(x)
    return seen


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


SELF_TEST = {
    # x.c uses y.c through a header macro; y.c's member, local and parameter
    # named x_fn, a comment and a string are not uses; tests/ is not scanned.
    "a/y.h": "int y_fn(int);\n#define Y_MACRO(v) \\\n    y_fn(v)\n",
    "a/x.c": '#include "y.h"\n/* y_other */\nstatic int h(void) { return 1; }\n'
             'int x_fn(void) { return Y_MACRO(2) + h(); }\n',
    "a/y.c": 'struct s { int (*x_fn)(void); };\n'
             'int y_fn(int v) { struct s q; int x_fn = 2; return q.x_fn() + v + x_fn; }\n'
             'int y_other(int x_fn) { const char *m = "x_fn()"; return x_fn + !m; }\n',
    "tests/t.c": "int t(void) { return x_fn() + y_fn(1); }\n",
}


def self_test():
    """The script on a small tree: no circle, then one once y.c calls x_fn."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for name, text in SELF_TEST.items():
            os.makedirs(os.path.join(d, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        run = [sys.executable, os.path.abspath(__file__), "--root", d]
        a = subprocess.run(run, capture_output=True, text=True)
        with open(os.path.join(d, "a/y.c"), "a") as f:
            f.write("int y2(void) { return x_fn(); }\n")
        b = subprocess.run(run, capture_output=True, text=True)
    ok = (a.returncode == 0 and b.returncode == 1 and
          "a/y.c -> a/x.c: x_fn" in b.stdout and "a/x.c -> a/y.c: y_fn" in b.stdout)
    print("cycles self-test: %s" % ("ok" if ok else "FAILED"))
    if not ok:
        print(a.stdout, a.stderr, b.stdout, b.stderr, sep="\n")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edges", action="store_true", help="print every edge too")
    ap.add_argument("--self-test", action="store_true",
                    help="check the script itself on a small tree with and without a circle")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    root = os.path.abspath(args.root)
    os.chdir(root)

    cfiles = tracked(root, ".c")
    headers = tracked(root, ".h")
    defs = {}  # name -> files that define it (non-static)
    own = {f: set() for f in cfiles}  # file -> every name it defines, static or not
    for t in ctags(cfiles, "fv"):
        own.setdefault(t["path"], set()).add(t["name"])
        if not t.get("file"):
            defs.setdefault(t["name"], set()).add(t["path"])
    # A second run (the definitions above are exactly the command):
    # locals, parameters and members, to tell a declaration from a use.
    shadows = local_names(ctags(cfiles, "fmlz"))
    exp = header_expansions(root, headers)

    edges = {f: {} for f in cfiles}  # A -> {B: names}
    for f in cfiles:
        text = strip(open(f, encoding="utf-8", errors="replace").read())
        for name in expand(file_uses(f, text, shadows.get(f, {})), exp):
            if name in own.get(f, ()):
                continue  # its own (or a static shadowing another file's)
            for g in defs.get(name, ()):
                if g != f:
                    edges[f].setdefault(g, set()).add(name)

    if args.edges:
        for f in cfiles:
            for g in sorted(edges[f]):
                print("%s -> %s: %s" % (f, g, ", ".join(sorted(edges[f][g]))))
        print()

    circles = [c for c in sccs(cfiles, edges) if len(c) > 1]
    if not circles:
        print("cycles: no circles among %d C files" % len(cfiles))
        return 0
    circles.sort(key=lambda c: (-len(c), c))
    for i, c in enumerate(circles, 1):
        print("circle %d: %d files: %s" % (i, len(c), " ".join(c)))
        members = set(c)
        for f in c:
            for g in sorted(edges[f]):
                if g in members:
                    names = sorted(edges[f][g])
                    more = " (+%d)" % (len(names) - 6) if len(names) > 6 else ""
                    print("  %s -> %s: %s%s" % (f, g, ", ".join(names[:6]), more))
    print("cycles: %d circle(s) among %d C files" % (len(circles), len(cfiles)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
