#!/usr/bin/env python3
"""Writes dashboards/spindle.json, the Grafana dashboard for spindle.

The JSON is what SREs import; this script is its source, so that every panel
is built the same way (one data source variable, the same label filters, the
same rate window). ./test.sh checks that spindle.json is what this prints,
that every query parses (promtool) and that every metric it names is one of
those listed in dashboards/README.md.

Usage: python3 dashboards/make-dashboard.py > dashboards/spindle.json
"""
import json
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
# Label filters: the agents chosen, and for per-function panels the functions.
A = 'job=~"$job",instance=~"$instance"'
F = A + ',faas_name=~"$function"'
R = "$__rate_interval"


def rate(metric, sel, by):
    return f"sum by ({by}) (rate({metric}{{{sel}}}[{R}]))"


def ratio(num, den, sel, by):
    return f"{rate(num, sel, by)}\n/\n{rate(den, sel, by)}"


def quantile(q, metric, sel, by):
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}{{{sel}}}[{R}])))"


class Layout:
    """Panels two to a row (12 of Grafana's 24 columns), rows between groups."""

    def __init__(self):
        self.panels = []
        self.y = 0
        self.col = 0
        self.next_id = 1

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        if self.col:
            self.y += 8
            self.col = 0
        self.panels.append({"type": "row", "title": title, "id": self._id(), "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def panel(self, title, description, targets, unit="short", stack=False, width=12):
        if self.col + width > 24:
            self.y += 8
            self.col = 0
        refs = "ABCDEFGH"
        tg = []
        for i, t in enumerate(targets):
            expr, legend = t[0], t[1]
            exemplar = len(t) > 2 and t[2]
            tg.append({"datasource": DS, "refId": refs[i], "expr": expr, "legendFormat": legend,
                       "range": True, "instant": False, "exemplar": bool(exemplar)})
        custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
                  "spanNulls": False,
                  "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
        p = {"type": "timeseries", "title": title, "description": description, "id": self._id(),
             "datasource": DS, "gridPos": {"h": 8, "w": width, "x": self.col, "y": self.y},
             "targets": tg,
             "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
             "options": {"legend": {"displayMode": "list", "placement": "bottom",
                                    "showLegend": True},
                         "tooltip": {"mode": "multi", "sort": "desc"}}}
        self.panels.append(p)
        self.col += width
        if self.col >= 24:
            self.y += 8
            self.col = 0


def build():
    L = Layout()

    L.row("Functions")
    L.panel("Invocations per second", "faas.invocations per function: invocations whose span "
            "this agent emitted.",
            [(rate("faas_invocations_total", F, "faas_name"), "{{faas_name}}")], unit="reqps")
    L.panel("Errors and timeouts per second", "faas.errors and faas.timeouts per function.",
            [(rate("faas_errors_total", F, "faas_name"), "{{faas_name}} errors"),
             (rate("faas_timeouts_total", F, "faas_name"), "{{faas_name}} timeouts")],
            unit="reqps")
    L.panel("Error ratio", "Errors per invocation, per function (the ratio the "
            "SpindleWorkflowErrorRatio rule alerts on across the fleet).",
            [(ratio("faas_errors_total", "faas_invocations_total", F, "faas_name"),
              "{{faas_name}}")], unit="percentunit")
    L.panel("Invocation duration p95", "95th percentile of faas.invoke_duration per function; "
            "the dots are exemplars, each a link to the trace of one invocation.",
            [(quantile(0.95, "faas_invoke_duration_seconds_bucket", F, "faas_name"),
              "{{faas_name}} p95", True),
             (quantile(0.5, "faas_invoke_duration_seconds_bucket", F, "faas_name"),
              "{{faas_name}} p50")], unit="s")
    L.panel("Cold-start ratio", "faas.coldstarts per faas.invocations, per function.",
            [(ratio("faas_coldstarts_total", "faas_invocations_total", F, "faas_name"),
              "{{faas_name}}")], unit="percentunit")
    L.panel("Init duration p95", "95th percentile of faas.init_duration (cold-start "
            "initialisation) per function, with exemplars linking to traces.",
            [(quantile(0.95, "faas_init_duration_seconds_bucket", F, "faas_name"),
              "{{faas_name}} p95", True)], unit="s")
    L.panel("Throttles per second", "spindle.throttles per function.",
            [(rate("spindle_throttles_total", F, "faas_name"), "{{faas_name}}")], unit="short")
    L.panel("Retries per second", "spindle.retries per function (each retry counted once).",
            [(rate("spindle_retries_total", F, "faas_name"), "{{faas_name}}")], unit="short")
    L.panel("Dead letters per queue", "Messages sent to a dead-letter queue "
            "(spindle.dead_letters), per function and queue, in each interval.",
            [(f"sum by (faas_name, queue) (increase(spindle_dead_letters_total{{{F}}}[{R}]))",
              "{{faas_name}} → {{queue}}")], unit="short", stack=True)
    L.panel("DLQ depth per queue", "The dead-letter queue depth gauge the functions report "
            "(dlq.depth by queue), as sent.",
            [(f"max by (faas_name, queue) (dlq_depth{{{F}}})", "{{queue}} ({{faas_name}})")],
            unit="short")

    L.row("Agent health")
    L.panel("Records accepted per second", "spindle.records.accepted per agent.",
            [(rate("spindle_records_accepted_total", A, "instance"), "{{instance}}")],
            unit="short")
    L.panel("Records dropped per second, by reason", "spindle.records.dropped: every record "
            "not delivered (queue_full, memory_limit, retries_exhausted, journal_full, ...). "
            "Anything above zero is data lost.",
            [(rate("spindle_records_dropped_total", A, "instance, reason"),
              "{{instance}} {{reason}}")], unit="short", stack=True)
    L.panel("Records rejected per second, by reason", "spindle.records.rejected: records that "
            "were malformed (malformed_json, too_large, missing_field, ...).",
            [(rate("spindle_records_rejected_total", A, "instance, reason"),
              "{{instance}} {{reason}}")], unit="short", stack=True)
    L.panel("Journal use", "spindle.journal.used over spindle.journal.limit (storage.max_bytes); "
            "past full, the oldest records are dropped (journal_full).",
            [(f"max by (instance) (spindle_journal_used_bytes{{{A}}})\n/\n"
              f"max by (instance) (spindle_journal_limit_bytes{{{A}}})", "{{instance}}")],
            unit="percentunit")
    L.panel("Export latency", "How long export requests take to be answered "
            "(spindle.export.duration), p95 and p50 per agent.",
            [(quantile(0.95, "spindle_export_duration_seconds_bucket", A, "instance"),
              "{{instance}} p95", True),
             (quantile(0.5, "spindle_export_duration_seconds_bucket", A, "instance"),
              "{{instance}} p50")], unit="s")
    L.panel("Export requests per second, by outcome", "spindle.export.requests by outcome "
            "(ok, failed), and the retries among them.",
            [(rate("spindle_export_requests_total", A, "instance, outcome"),
              "{{instance}} {{outcome}}"),
             (rate("spindle_export_retries_total", A, "instance"), "{{instance}} retries")],
            unit="reqps")
    L.panel("Items exported per second, by signal", "spindle.export.items by signal, and "
            "spindle.export.delivered (records whose every item was delivered).",
            [(rate("spindle_export_items_total", A, "signal"), "{{signal}}"),
             (rate("spindle_export_delivered_total", A, "instance"), "{{instance}} delivered")],
            unit="short")
    L.panel("Input pauses", "spindle.input.pauses: times input was paused (memory or export "
            "queues full) and clients pushed back; and whether it is paused now (1).",
            [(f"sum by (instance) (increase(spindle_input_pauses_total{{{A}}}[{R}]))",
              "{{instance}} pauses"),
             (f"max by (instance) (spindle_input_paused{{{A}}})", "{{instance}} paused now")],
            unit="short")
    L.panel("Memory used", "spindle.memory.used: the part limits.max_memory budgets.",
            [(f"max by (instance) (spindle_memory_used_bytes{{{A}}})", "{{instance}}")],
            unit="bytes")
    L.panel("Open workflows and connections", "spindle.workflows.open and "
            "spindle.connections.open per agent.",
            [(f"sum by (instance) (spindle_workflows_open{{{A}}})", "{{instance}} workflows"),
             (f"sum by (instance) (spindle_connections_open{{{A}}})",
              "{{instance}} connections")], unit="short")

    def query_var(name, label, query, multi=True):
        return {"name": name, "label": label, "type": "query", "datasource": DS,
                "query": {"query": query, "refId": name}, "definition": query,
                "refresh": 2, "multi": multi, "includeAll": True, "allValue": ".*",
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "sort": 1, "hide": 0}

    templating = [
        {"name": "datasource", "label": "Prometheus", "type": "datasource",
         "query": "prometheus", "current": {"text": "${DS_PROMETHEUS}",
                                            "value": "${DS_PROMETHEUS}"},
         "refresh": 1, "hide": 0, "regex": "", "multi": False, "includeAll": False},
        query_var("job", "Job", "label_values(spindle_records_accepted_total, job)"),
        query_var("instance", "Agent",
                  'label_values(spindle_records_accepted_total{job=~"$job"}, instance)'),
        query_var("function", "Function",
                  'label_values(faas_invocations_total{job=~"$job",instance=~"$instance"}, '
                  'faas_name)'),
    ]

    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus",
                      "description": "The Prometheus that scrapes spindle's /metrics",
                      "type": "datasource", "pluginId": "prometheus",
                      "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
        ],
        "uid": "spindle-overview",
        "title": "spindle",
        "description": "Function workloads seen by spindle (invocations, errors, durations, "
                       "cold starts, throttles, retries, dead letters) and the health of the "
                       "spindle agents themselves. See dashboards/README.md.",
        "tags": ["spindle", "faas"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": 37,
        "version": 1,
        "time": {"from": "now-1h", "to": "now"},
        "refresh": "30s",
        "timezone": "",
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": templating},
        "panels": L.panels,
    }


if __name__ == "__main__":
    json.dump(build(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
