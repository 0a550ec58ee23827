"""Finds the metric names a PromQL expression reads.

Not a PromQL parser (promtool checks that the expressions parse); a tokenizer
that knows which identifiers are not metric names: functions and aggregations
(followed by "("), keywords, label names inside {...} and inside the label
lists of by/without/on/ignoring/group_left/group_right, and durations.
"""
import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "atan2", "inf", "nan"}
LABEL_LIST_AFTER = {"by", "without", "on", "ignoring", "group_left", "group_right"}

TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<dur>(?:\d+(?:ms|[smhdwy]))+(?![a-zA-Z0-9_:]))
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<punct>[(){},=!~<>+\-*/%^@])
  | (?P<ws>\s+)
""", re.VERBOSE)


def tokens(expr):
    pos = 0
    out = []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group()))
    return out


def metric_names(expr):
    """The set of metric names expr selects (including {__name__="x"})."""
    toks = tokens(expr)
    names = set()
    brace = 0        # inside a {...} selector: identifiers are label names
    label_list = 0   # inside by (...) etc.
    expect_list = False
    for i, (kind, text) in enumerate(toks):
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind == "punct":
            if text == "{":
                brace += 1
            elif text == "}":
                brace -= 1
            elif text == "(" and expect_list:
                label_list += 1
                expect_list = False
            elif text == ")" and label_list:
                label_list -= 1
            continue
        if kind == "str" and brace and i >= 2 and toks[i - 2][1] == "__name__":
            names.add(text[1:-1])
            continue
        if kind != "ident" or brace or label_list:
            continue
        if text.lower() in KEYWORDS:
            expect_list = text.lower() in LABEL_LIST_AFTER
            continue
        if nxt == "(" or nxt in ("by", "without"):
            continue  # a function or an aggregation (sum by (x) (...))
        names.add(text)
    return names


def label_values_selector(query):
    """label_values(SELECTOR, label) -> SELECTOR; label_values(label) -> None."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", query, re.S)
    if m:
        return m.group(1)
    if re.fullmatch(r"\s*label_values\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", query):
        return None
    raise ValueError(f"not a label_values query: {query!r}")
