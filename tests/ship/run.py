#!/usr/bin/env python3
"""What an SRE installs: the dashboard, the alerting rules, the systemd unit,
the packaged configuration, the man pages, the Kubernetes example and the
Debian package, each checked with the tool that will read it (promtool,
systemd-analyze, spindle --check-config, dpkg).

Usage: python3 tests/ship/run.py [CHECK...]   (no argument: all of them)
The last line is "ship: N passed, N failed".
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import promql  # noqa: E402

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def run(cmd, **kw):
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def path(*p):
    return os.path.join(TOP, *p)


# --- the metric names ---------------------------------------------------------

def listed_names():
    """The names in dashboards/README.md between the metric-name markers."""
    text = open(path("dashboards", "README.md")).read()
    m = re.search(r"<!-- metric names: begin -->(.*?)<!-- metric names: end -->", text, re.S)
    assert m, "dashboards/README.md has no metric-name list"
    names = set(re.findall(r"^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|", m.group(1), re.M))
    assert len(names) >= 10, f"the list holds only {sorted(names)}"
    return names


# --- the dashboard -------------------------------------------------------------

def dashboard():
    with open(path("dashboards", "spindle.json")) as f:
        return json.load(f)


def panels(d):
    for p in d["panels"]:
        yield p
        yield from p.get("panels", [])


# Values a user could pick: a multi-value variable becomes a regex alternation.
VARIABLES = {"job": "(spindle|spindle-eu)", "instance": "(a:9464|b:9464)",
             "function": "(charge|ship)", "__rate_interval": "1m", "__interval": "30s",
             "__range": "1h"}


def substitute(expr, variables):
    def one(m):
        name = m.group(1) or m.group(2)
        assert name in variables, f"unknown variable ${name} in {expr!r}"
        return variables[name]
    return re.sub(r"\$\{([a-zA-Z_]\w*)(?::\w+)?\}|\$([a-zA-Z_]\w*)", one, expr)


def dashboard_queries(d):
    """(where, expression with variables substituted) for every query, the
    template variables' selectors included."""
    names = {v["name"] for v in d["templating"]["list"]}
    variables = {k: v for k, v in VARIABLES.items() if k in names or k.startswith("__")}
    out = []
    for p in panels(d):
        for t in p.get("targets", []):
            out.append((f"panel {p['id']} {p['title']!r} {t['refId']}",
                        substitute(t["expr"], variables)))
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        sel = promql.label_values_selector(q)
        if sel is not None:
            out.append((f"variable {v['name']}", substitute(sel, variables)))
    return out


def promtool_check_exprs(exprs):
    """Wraps each expression as an alerting rule and runs promtool check rules
    (promtool 2.42 has no command for a bare query). Returns (ok, output)."""
    rules = {"groups": [{"name": "queries", "rules": [
        {"alert": f"q{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump(rules, f)  # JSON is YAML
        name = f.name
    try:
        r = run(["promtool", "check", "rules", name])
        return r.returncode == 0, r.stdout + r.stderr
    finally:
        os.unlink(name)


@check
def dashboard_is_generated():
    """spindle.json is what make-dashboard.py writes (no hand edit drifts)."""
    r = run([sys.executable, path("dashboards", "make-dashboard.py")])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == dashboard(), \
        "dashboards/spindle.json differs from make-dashboard.py's output: regenerate it"


@check
def dashboard_is_importable():
    """The shape Grafana's import needs, the data source chosen at import."""
    d = dashboard()
    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        assert key in d, f"no {key}"
    inputs = {i["name"]: i for i in d["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    var = {v["name"]: v for v in d["templating"]["list"]}
    ds = var["datasource"]
    assert ds["type"] == "datasource" and ds["query"] == "prometheus"
    assert ds["current"]["value"] == "${DS_PROMETHEUS}"
    for name in ("job", "instance", "function"):
        assert var[name]["type"] == "query" and var[name]["includeAll"], name
    ids = [p["id"] for p in panels(d)]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for p in panels(d):
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, f"panel {p['id']} is off the grid"
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]


@check
def dashboard_has_the_panels():
    """The panels the issue asks for, exemplars on the duration ones."""
    d = dashboard()
    titles = {p["title"]: p for p in panels(d)}
    want = ["Invocations per second", "Errors and timeouts per second", "Error ratio",
            "Invocation duration p95", "Cold-start ratio", "Init duration p95",
            "Throttles per second", "Retries per second", "Dead letters per queue",
            "DLQ depth per queue", "Records accepted per second",
            "Records dropped per second, by reason", "Journal use", "Export latency",
            "Input pauses"]
    missing = [t for t in want if t not in titles]
    assert not missing, f"missing panels: {missing}"
    for t in ("Invocation duration p95", "Init duration p95", "Export latency"):
        assert any(x["exemplar"] for x in titles[t]["targets"]), f"{t}: no exemplars"
    assert "by (faas_name, queue)" in titles["DLQ depth per queue"]["targets"][0]["expr"]
    assert "reason" in titles["Records dropped per second, by reason"]["targets"][0]["expr"]


@check
def dashboard_queries_parse():
    """Every query, variables substituted, parses (promtool check rules)."""
    exprs = dashboard_queries(dashboard())
    assert len(exprs) >= 20, f"only {len(exprs)} queries"
    for where, e in exprs:
        assert "$" not in e, f"{where}: a variable is left in {e!r}"
    ok, out = promtool_check_exprs(exprs)
    assert ok, "promtool rejects a query:\n" + out + "\n" + \
        "\n".join(f"  q{i}: {w}" for i, (w, _) in enumerate(exprs))
    # The check can fail: a broken query is refused.
    ok, _ = promtool_check_exprs([("broken", "sum(rate(faas_errors_total[5m])")])
    assert not ok, "promtool accepted an unbalanced query"


@check
def dashboard_names_only_listed_metrics():
    """Every metric a query reads is in dashboards/README.md's list."""
    listed = listed_names()
    # The extractor itself: functions, label names and durations are not metrics.
    got = promql.metric_names('histogram_quantile(0.95, sum by (function, le) (rate('
                              'faas_x_bucket{job=~"a"}[5m]))) / on (job) group_left up')
    assert got == {"faas_x_bucket", "up"}, got
    used = {}
    for where, e in dashboard_queries(dashboard()):
        for n in promql.metric_names(e):
            used.setdefault(n, where)
    unknown = {n: w for n, w in used.items() if n not in listed}
    assert not unknown, f"not in dashboards/README.md's list: {unknown}"
    assert "faas_invocations_total" in used and "spindle_records_dropped_total" in used


# --- the alerting rules ----------------------------------------------------------

@check
def rules_check():
    """promtool check rules dashboards/spindle-rules.yml."""
    r = run(["promtool", "check", "rules", path("dashboards", "spindle-rules.yml")])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 6 rules found" in r.stdout, r.stdout


@check
def rules_test():
    """promtool test rules dashboards/spindle-rules.test.yml."""
    r = run(["promtool", "test", "rules", "spindle-rules.test.yml"], cwd=path("dashboards"))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


@check
def rules_name_only_listed_metrics():
    """Every metric a rule reads is in dashboards/README.md's list; every
    alert the issue asks for is there."""
    import yaml
    listed = listed_names()
    doc = yaml.safe_load(open(path("dashboards", "spindle-rules.yml")))
    alerts = {}
    for g in doc["groups"]:
        for r in g["rules"]:
            alerts[r["alert"]] = r
            unknown = promql.metric_names(r["expr"]) - listed
            assert not unknown, f"{r['alert']}: not in the list: {unknown}"
    for a in ("SpindleDroppingData", "SpindleJournalNearlyFull", "SpindleExportsFailing",
              "SpindleAgentDown", "SpindleWorkflowErrorRatio"):
        assert a in alerts, f"no {a}"
        assert alerts[a]["labels"]["severity"] in ("warning", "critical")


def listed_rows():
    """(name, type, OTLP name cell) for each row of the list."""
    text = open(path("dashboards", "README.md")).read()
    m = re.search(r"<!-- metric names: begin -->(.*?)<!-- metric names: end -->", text, re.S)
    rows = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), cells[1], cells[3]))
    return rows


@check
def names_match_metrics_docs():
    """Each listed name is its OTLP name (README "What is exported") with "."
    turned into "_" and the Prometheus suffixes; when the /metrics
    documentation is in the tree, each is also one it documents."""
    readme = open(path("README.md")).read()
    for name, kind, otlp_cell in listed_rows():
        if name == "up":
            continue
        m = re.match(r"`([a-z_.]+)`", otlp_cell)
        assert m, f"{name}: no OTLP name"
        otlp = m.group(1)
        unit = {"journal.used": "_bytes", "journal.limit": "_bytes", "memory.used": "_bytes",
                "invoke_duration": "_seconds", "init_duration": "_seconds",
                "export.duration": "_seconds"}
        suffix = next((u for k, u in unit.items() if otlp.endswith(k)), "")
        suffix += {"counter": "_total", "histogram": "_bucket", "gauge": ""}[kind]
        assert name == otlp.replace(".", "_") + suffix, f"{name} is not {otlp} renamed"
        if "on /metrics only" not in otlp_cell:
            assert f"`{otlp}" in readme, f"{name}: README does not export {otlp}"
    docs = path("docs", "metrics.md")
    text = open(docs).read() if os.path.exists(docs) else ""
    if "spindle_records_accepted_total" not in text:
        print("    (no docs/metrics.md yet: checked against the OTLP names only)")
        return
    for name, _, otlp_cell in listed_rows():
        if "not in docs/metrics.md" in otlp_cell or "not on /metrics" in otlp_cell:
            continue
        base = re.sub(r"_bucket$", "", name)
        assert f"`{base}`" in text, f"{name} is not in docs/metrics.md"


# --- the systemd unit and the packaged configuration ------------------------------

def unit_directives(text):
    d = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            d.setdefault(m.group(1), []).append(m.group(2))
    return d


def unit_copy(tmp):
    """The unit with /usr/bin/spindle replaced by the binary just built (verify
    checks that the command exists)."""
    text = open(path("packaging", "spindle.service")).read()
    out = os.path.join(tmp, "spindle.service")
    with open(out, "w") as f:
        f.write(text.replace("/usr/bin/spindle", path("build", "spindle")))
    return out


@check
def unit_verify():
    """systemd-analyze verify packaging/spindle.service says nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["systemd-analyze", "verify", "--man=no", unit_copy(tmp)])
        # verify exits 0 on a value it cannot parse, and only says so.
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
        bad = os.path.join(tmp, "bad.service")
        with open(unit_copy(tmp)) as f:
            text = f.read()
        with open(bad, "w") as f:
            f.write(text.replace("ProtectSystem=strict", "ProtectSystem=stricter"))
        r = run(["systemd-analyze", "verify", "--man=no", bad])
        assert "stricter" in r.stdout + r.stderr, "verify does not report a bad value"


@check
def unit_hardening():
    """The hardening the issue lists, as written and as systemd reads it."""
    d = unit_directives(open(path("packaging", "spindle.service")).read())
    want = {"User": "spindle", "Group": "spindle", "RuntimeDirectory": "spindle",
            "RuntimeDirectoryMode": "0750", "StateDirectory": "spindle",
            "ProtectSystem": "strict", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
            "SystemCallFilter": "@system-service",
            "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6"}
    for k, v in want.items():
        assert d.get(k) == [v], f"{k}={d.get(k)}, want {v!r}"
    with tempfile.TemporaryDirectory() as tmp:
        r = run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit_copy(tmp)])
        out = r.stdout + r.stderr
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert m, out
    assert float(m.group(1)) <= 2.0, f"exposure {m.group(1)} (want 2.0 or less):\n{out}"
    for line in ("NoNewPrivileges=", "ProtectSystem=", "User=/DynamicUser=",
                 "RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies=~AF_NETLINK",
                 "SystemCallFilter=~@mount", "SystemCallFilter=~@module",
                 "CapabilityBoundingSet=~CAP_SYS_ADMIN"):
        assert re.search(r"^✓ " + re.escape(line), out, re.M), f"systemd: not ✓ {line}\n{out}"


@check
def packaged_config():
    """/etc/spindle/spindle.yaml passes --check-config, has the journal on, and
    puts the socket and the state in the unit's folders."""
    import yaml
    r = run([path("build", "spindle"), "--check-config", path("packaging", "spindle.yaml")])
    assert r.returncode == 0, r.stdout + r.stderr
    c = yaml.safe_load(open(path("packaging", "spindle.yaml")))
    d = unit_directives(open(path("packaging", "spindle.service")).read())
    assert c["storage"]["path"].startswith(f"/var/lib/{d['StateDirectory'][0]}/"), c["storage"]
    assert c["service"]["state_dir"] == f"/var/lib/{d['StateDirectory'][0]}"
    assert os.path.dirname(c["socket"]["path"]) == f"/run/{d['RuntimeDirectory'][0]}"
    assert c["socket"]["mode"] == "0660"
    assert f"--config /etc/spindle/spindle.yaml" in d["ExecStart"][0]


# --- the man pages ---------------------------------------------------------------

def help_flags(binary):
    r = run([binary, "--help"])
    assert r.returncode == 0, r.stderr
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])", r.stdout))


@check
def man_pages():
    """Each packaging/man/*.md makes a man page groff reads without a warning,
    whose OPTIONS list exactly the flags the program's --help prints."""
    sources = sorted(f for f in os.listdir(path("packaging", "man")) if f.endswith(".md"))
    assert "spindle.8.md" in sources, sources
    for src in sources:
        program = src.split(".")[0]
        with tempfile.TemporaryDirectory() as tmp:
            page = os.path.join(tmp, src[:-3])
            r = run([sys.executable, path("packaging", "man", "mkman.py"),
                     path("packaging", "man", src), page])
            assert r.returncode == 0, r.stderr
            r = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
            assert r.returncode == 0 and not r.stderr.strip(), f"{src}: {r.stderr}"
            r = run(["man", "-l", "-Tutf8", page], env=dict(os.environ, MANWIDTH="100"))
            assert r.returncode == 0, r.stderr
            text = re.sub(r".\x08", "", r.stdout)
        m = re.search(r"^OPTIONS\n(.*?)^\S", text, re.M | re.S)
        assert m, f"{src}: no OPTIONS section"
        tags = set()
        for line in m.group(1).splitlines():
            if re.match(r"^ {7}-", line):  # a tagged paragraph's tag
                tags |= set(re.findall(r"(--[a-z][a-z0-9-]*|-[a-zA-Z])(?![\w-])", line))
        flags = help_flags(path("build", program))
        assert flags, f"{program} --help lists no flag"
        assert tags == flags, (f"{src}: missing from the man page: {sorted(flags - tags)}; "
                               f"not in --help: {sorted(tags - flags)}")


# --- the Kubernetes example ----------------------------------------------------------

@check
def kube_manifest():
    """packaging/kubernetes: a Deployment whose pod has spindle as a sidecar
    (shared emptyDir for the socket, the function's environment pointed at
    it and at the OTLP receiver on localhost), its ConfigMap valid for
    spindle --check-config, and the Containerfile that builds the image."""
    import yaml
    from urllib.parse import urlparse
    docs = list(yaml.safe_load_all(open(path("packaging", "kubernetes", "spindle-sidecar.yaml"))))
    by_kind = {}
    for d in docs:
        assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), d
        by_kind.setdefault(d["kind"], []).append(d)
    cm = {c["metadata"]["name"]: c for c in by_kind["ConfigMap"]}
    dep = by_kind["Deployment"][0]
    assert dep["apiVersion"] == "apps/v1"
    tmpl = dep["spec"]["template"]
    sel = dep["spec"]["selector"]["matchLabels"]
    assert sel and all(tmpl["metadata"]["labels"].get(k) == v for k, v in sel.items()), \
        "the selector does not match the pod's labels"
    pod = tmpl["spec"]
    containers = pod["containers"] + pod.get("initContainers", [])
    names = [c["name"] for c in containers]
    assert len(names) == len(set(names)), f"container names repeat: {names}"
    for c in containers:
        assert c.get("image"), f"{c['name']}: no image"
    volumes = {v["name"]: v for v in pod["volumes"]}
    for c in containers:
        for m in c.get("volumeMounts", []):
            assert m["name"] in volumes, f"{c['name']} mounts unknown volume {m['name']}"
            assert m["mountPath"].startswith("/")

    spindle = next(c for c in containers if c["name"] == "spindle")
    function = next(c for c in pod["containers"] if c["name"] != "spindle")
    # A native sidecar: an init container that keeps running.
    assert spindle in pod.get("initContainers", []) and spindle["restartPolicy"] == "Always"
    args = spindle["args"]
    conf_path = args[args.index("--config") + 1]
    mounts = {m["mountPath"]: m for m in spindle["volumeMounts"]}
    conf_mount = mounts[os.path.dirname(conf_path)]
    conf_vol = volumes[conf_mount["name"]]
    cmap = cm[conf_vol["configMap"]["name"]]
    conf_text = cmap["data"][os.path.basename(conf_path)]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(conf_text)
        f.flush()
        r = run([path("build", "spindle"), "--check-config", f.name])
        assert r.returncode == 0, r.stdout + r.stderr
    conf = yaml.safe_load(conf_text)

    # The socket: in a shared emptyDir, at the same path on both sides.
    sock = conf["socket"]["path"]
    sock_mount = mounts[os.path.dirname(sock)]
    assert "emptyDir" in volumes[sock_mount["name"]], "the socket is not on an emptyDir"
    fmounts = {m["name"]: m["mountPath"] for m in function.get("volumeMounts", [])}
    assert fmounts.get(sock_mount["name"]) == os.path.dirname(sock), \
        "the function does not mount the socket's folder at the same path"
    env = {e["name"]: e.get("value") for e in function["env"]}
    assert env["SPINDLE_SOCKET"] == sock, env
    # OTLP: the function sends to localhost; spindle exports elsewhere.
    u = urlparse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert u.hostname in ("localhost", "127.0.0.1") and u.port == 4318, u
    e = urlparse(conf["otlp"]["endpoint"])
    assert e.hostname not in ("localhost", "127.0.0.1"), "spindle would export to itself"
    # The journal on a volume, not the read-only root.
    assert os.path.dirname(conf["storage"]["path"]) in mounts, "the journal is not on a volume"
    # Locked down, and the function in the socket's group (mode 0660).
    sc = spindle["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert conf["socket"]["mode"] == "0660"
    assert sc["runAsGroup"] in pod["securityContext"].get("supplementalGroups", []), \
        "the function is not in the socket's group"
    for probe in ("startupProbe", "livenessProbe"):
        assert sock in spindle[probe]["exec"]["command"], probe
    mem = spindle["resources"]["limits"]["memory"]
    assert mem.endswith("Mi") and int(mem[:-2]) >= 128 + 16, mem

    # The container recipe: built from the package, run as the manifest's user.
    cf = open(path("packaging", "kubernetes", "Containerfile")).read()
    assert "packaging/build-deb.sh" in cf
    assert re.search(r"^USER %d:%d$" % (sc["runAsUser"], sc["runAsGroup"]), cf, re.M), \
        "the Containerfile's USER is not the manifest's runAsUser:runAsGroup"
    assert re.search(r'^ENTRYPOINT \["/usr/bin/spindle"\]$', cf, re.M)


# --- the Debian package ------------------------------------------------------------

def clean_copy(dest):
    """The files of the checkout (tracked, and new ones not ignored), as a
    clean clone would have them, with what is uncommitted included."""
    r = run(["git", "-C", TOP, "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    assert r.returncode == 0, r.stderr
    files = [f for f in r.stdout.split("\0") if f and os.path.lexists(path(f))]
    os.makedirs(dest)
    tar = subprocess.Popen(["tar", "-C", TOP, "--null", "-T", "-", "-cf", "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    untar = subprocess.Popen(["tar", "-C", dest, "-xf", "-"], stdin=tar.stdout)
    tar.stdout.close()
    tar.stdin.write("\0".join(files).encode())
    tar.stdin.close()
    assert tar.wait(timeout=120) == 0 and untar.wait(timeout=120) == 0


def systemd_is_init():
    try:
        return open("/proc/1/comm").read().strip() == "systemd"
    except OSError:
        return False


def wait_for(cond, seconds, what):
    import time
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds} s")


class Sink:
    """An OTLP/HTTP endpoint on loopback (port chosen at run time) that
    answers 200 with an empty Export*ServiceResponse and keeps the paths and
    sizes of what it was sent."""

    def __init__(self):
        import http.server
        import threading
        got = self.got = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                got.append((self.path, len(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def installed(pkg):
    r = run(["dpkg-query", "-W", "-f=${Status}", pkg])
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


@check
def deb_package():
    """packaging/build-deb.sh in a clean copy builds the .deb; dpkg -i installs
    it; the agent started as the unit says answers a member of the group
    spindle on its socket (and not anyone else), journals what it accepts and
    exports it to the collector named in /etc/default/spindle, answers
    /healthz where it has an admin listener, stops cleanly;
    dpkg -r removes it (the conffile stays until purge)."""
    assert os.geteuid() == 0, "needs root (dpkg -i)"
    assert not installed("spindle"), "a spindle package is installed already: not touching it"
    assert not os.path.exists("/etc/default/spindle"), "/etc/default/spindle exists already"
    had_user = run(["getent", "passwd", "spindle"]).returncode == 0
    had_group = run(["getent", "group", "spindle"]).returncode == 0
    tmp = tempfile.mkdtemp(prefix="spindle-deb-")
    agent = None
    sink = Sink()
    try:
        src = os.path.join(tmp, "spindle")
        clean_copy(src)
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
        with open(os.path.join(tmp, "build.log"), "w") as log:
            r = subprocess.run(["nice", "packaging/build-deb.sh"], cwd=src, env=env,
                               stdout=log, stderr=subprocess.STDOUT, timeout=900)
        if r.returncode != 0:
            raise AssertionError("the build failed:\n" +
                                 "".join(open(os.path.join(tmp, "build.log")).readlines()[-30:]))
        debs = [f for f in os.listdir(tmp) if re.match(r"spindle_.*\.deb$", f)]
        assert len(debs) == 1, os.listdir(tmp)
        deb = os.path.join(tmp, debs[0])

        # What is in it.
        listing = run(["dpkg-deb", "-c", deb]).stdout
        for f in ("./usr/bin/spindle", "./lib/systemd/system/spindle.service",
                  "./etc/spindle/spindle.yaml", "./usr/share/man/man8/spindle.8.gz",
                  "./usr/share/spindle/spindle.json", "./usr/share/spindle/spindle-rules.yml",
                  "./usr/share/spindle/README.md"):
            assert re.search(r" " + re.escape(f) + r"$", listing, re.M), f"no {f} in the .deb"
        if os.path.exists(path("build", "spindlectl")):
            assert " ./usr/bin/spindlectl" in listing, "spindlectl is built but not packaged"
        conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
        assert conffiles == ["/etc/spindle/spindle.yaml"], conffiles

        # Installed.
        r = run(["dpkg", "--force-confdef", "--force-confold", "-i", deb], timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        r = run(["id", "-u", "spindle"])
        assert r.returncode == 0, "the package did not create the user spindle"
        gid = run(["getent", "group", "spindle"]).stdout.split(":")[2]
        st = os.stat("/etc/spindle/spindle.yaml")
        assert (st.st_mode & 0o777, str(st.st_gid)) == (0o640, gid), \
            "the configuration is not 0640 root:spindle"
        assert open("/usr/share/spindle/spindle.json").read() == \
            open(path("dashboards", "spindle.json")).read()
        r = run(["man", "-w", "spindle"])
        assert r.stdout.strip() == "/usr/share/man/man8/spindle.8.gz", r.stdout + r.stderr

        # Started as the unit says, exporting to the sink.
        with open("/etc/default/spindle", "w") as f:
            f.write(f"OTEL_EXPORTER_OTLP_ENDPOINT={sink.url}\n")
        # Where the agent has an admin listener (issue 13), an ephemeral port:
        # another agent on this machine may hold the default one.
        admin = "--http-listen" in run(["/usr/bin/spindle", "--help"]).stdout
        if admin:
            with open("/etc/spindle/spindle.yaml", "a") as f:
                f.write("admin:\n  listen: 127.0.0.1:0\n")
        if systemd_is_init():
            r = run(["systemctl", "restart", "spindle"])
            assert r.returncode == 0, r.stderr
            pid = run(["systemctl", "show", "-P", "MainPID", "spindle"]).stdout.strip()
            enter = []
        else:
            agent = subprocess.Popen([os.path.join(HERE, "as-unit.sh"),
                                      "/lib/systemd/system/spindle.service"],
                                     stdout=open(os.path.join(tmp, "agent.log"), "w"),
                                     stderr=subprocess.STDOUT)
            pid = str(agent.pid)
            # The agent's mount namespace and root (see as-unit.sh).
            enter = ["nsenter", "-t", pid, "-m", "-r", "--"]
        sock = "/run/spindle/spindle.sock"
        wait_for(lambda: os.path.exists(f"/proc/{pid}/root{sock}") or
                 (agent is not None and agent.poll() is not None), 15, "the socket")
        assert agent is None or agent.poll() is None, \
            "the agent exited:\n" + open(os.path.join(tmp, "agent.log")).read()
        status = open(f"/proc/{pid}/status").read()
        uid = run(["id", "-u", "spindle"]).stdout.strip()
        assert re.search(rf"^Uid:\s+{uid}\s", status, re.M), "the agent does not run as spindle"
        st = os.stat(f"/proc/{pid}/root{sock}")
        assert (st.st_mode & 0o777, str(st.st_gid)) == (0o660, gid), \
            f"socket mode {oct(st.st_mode)} group {st.st_gid}"

        # A function's user, in the group spindle, is answered; others are not.
        member = ["setpriv", "--reuid=nobody", "--regid=nogroup", f"--groups={gid}", "--"]
        outsider = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        rec = '{"type":"log","correlation_id":"order-1","body":"hello from a function"}\n'
        r = run(enter + member + ["socat", "-t", "2", "-", f"UNIX-CONNECT:{sock}"], input=rec)
        assert r.returncode == 0, r.stderr

        def stats():
            r = run(enter + member + ["spindle", "--stats", "--socket", sock])
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)
        wait_for(lambda: stats()["records"]["accepted"] >= 1, 10, "the record accepted")
        s = stats()
        assert s["journal"]["journaled"] >= 1 and s["journal"]["bytes"] > 0, \
            f"the journal is not on: {s['journal']}"
        wait_for(lambda: any(p == "/v1/logs" and n > 0 for p, n in sink.got), 15,
                 "the log record at the collector")
        r = run(enter + outsider + ["socat", "-u", "/dev/null", f"UNIX-CONNECT:{sock}"])
        assert r.returncode != 0 and "Permission denied" in r.stderr, \
            f"a user outside the group reached the socket: {r.returncode} {r.stderr}"
        if admin:
            # /healthz on the admin listener, at the address it bound.
            import urllib.request
            addr = s.get("admin")
            assert addr and addr != "off", f"no admin listener in --stats: {s}"
            with urllib.request.urlopen(f"http://{addr}/healthz", timeout=5) as resp:
                assert resp.status == 200, resp.status

        # Stops cleanly on SIGTERM, as systemctl stop sends it.
        if agent is not None:
            agent.terminate()
            code = agent.wait(timeout=15)
            assert code == 0, f"exit {code}:\n" + open(os.path.join(tmp, "agent.log")).read()
            agent = None
        else:
            assert run(["systemctl", "stop", "spindle"]).returncode == 0

        # Removed: the program goes, the configuration stays until purge.
        r = run(["dpkg", "-r", "spindle"], timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists("/usr/bin/spindle"), "dpkg -r left /usr/bin/spindle"
        assert not os.path.exists("/lib/systemd/system/spindle.service")
        assert os.path.exists("/etc/spindle/spindle.yaml"), "dpkg -r removed the conffile"
        r = run(["dpkg", "-P", "spindle"], timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not os.path.exists("/etc/spindle/spindle.yaml"), "purge left the conffile"
    finally:
        sink.close()
        if os.path.exists("/etc/default/spindle"):
            os.unlink("/etc/default/spindle")
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        if installed("spindle"):
            run(["dpkg", "-P", "spindle"], timeout=300)
        # The user the package created (purge keeps it, as Debian does).
        if not had_user:
            run(["deluser", "--quiet", "--system", "spindle"])
        if not had_group and run(["getent", "group", "spindle"]).returncode == 0:
            run(["delgroup", "--quiet", "--system", "spindle"])
        subprocess.run(["rm", "-rf", tmp])


def main(argv):
    chosen = [c for c in CHECKS if not argv or c.__name__ in argv]
    passed = failed = 0
    for c in chosen:
        try:
            c()
        except Exception as e:  # noqa: BLE001 - any failure is the check's
            failed += 1
            print(f"  FAIL {c.__name__}: {c.__doc__.splitlines()[0]}")
            msg = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
            print("    " + msg.replace("\n", "\n    "))
        else:
            passed += 1
            print(f"  ok   {c.__name__}")
    print(f"ship: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
