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
    assert "by (function, queue)" in titles["DLQ depth per queue"]["targets"][0]["expr"]
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
        if "/metrics" not in otlp_cell:
            assert f"`{otlp}" in readme, f"{name}: README does not export {otlp}"
    docs = [p for p in (path("docs", "metrics.md"), path("docs", "api.md")) if os.path.exists(p)]
    text = "".join(open(p).read() for p in docs)
    if "spindle_records_accepted_total" not in text:
        print("    (no /metrics name list in docs/ yet: checked against the OTLP names only)")
        return
    for name, _, _ in listed_rows():
        base = re.sub(r"_bucket$", "", name)
        assert name == "up" or base in text, \
            f"{name} is not in the /metrics documentation ({', '.join(docs)})"


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
