"""Metrics Insights queries (``SELECT FUNC(metric) FROM ns | SCHEMA(ns, keys...) WHERE ... GROUP BY ... ORDER BY
FUNC() ... LIMIT n``) in GetMetricData.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html
Each time bucket aggregates the raw observations of every matching metric (AVG is their sum over their count, not an
average of averages); one time series per GROUP BY combination, a missing label key grouping as ``Other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from eventdeploy.localcloud.cloudwatch import mathexpr
from eventdeploy.localcloud.cloudwatch import statistics as st
from eventdeploy.localcloud.cloudwatch.store import Entry, RegionStore
from eventdeploy.localcloud.cloudwatch.timegrid import bucket_index, bucket_starts

FUNCTIONS = ("AVG", "COUNT", "MAX", "MIN", "SUM")
MAX_SERIES = 500

_TOKEN = re.compile(r"""\s*(?:
    (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<op>!=|=|\(|\)|,)
  | (?P<word>[A-Za-z0-9_.\-/:]+)
)""", re.VERBOSE)


class InvalidInsightsQuery(ValueError):
    """A Metrics Insights query CloudWatch would reject."""


@dataclass
class InsightsQuery:
    """A parsed Metrics Insights query."""

    function: str
    metric: str
    namespace: str
    schema_keys: tuple[str, ...] | None = None
    where: list[tuple[str, str, str]] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    order: tuple[str, bool] | None = None
    limit: int = MAX_SERIES


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens: dq (identifier in double quotes), sq (label value), op, word."""
    pos, out = 0, []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidInsightsQuery(f"Cannot read the query {text!r} at position {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse(text: str) -> InsightsQuery:
    """Parse a Metrics Insights query (keywords case-insensitive, identifiers case-sensitive)."""
    toks = tokenize(text)
    i = 0

    def peek_kw() -> str:
        return toks[i][1].upper() if i < len(toks) and toks[i][0] == "word" else ""

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal i
        if i >= len(toks):
            raise InvalidInsightsQuery(f"The query {text!r} ends too early")
        k, t = toks[i]
        if (kind and k != kind) or (value and t.upper() != value):
            raise InvalidInsightsQuery(f"Expected {value or kind} but found {t!r} in query {text!r}")
        i += 1
        return t

    def ident() -> str:
        nonlocal i
        if i < len(toks) and toks[i][0] == "dq":
            i += 1
            return _unquote(toks[i - 1][1])
        return take("word")

    take("word", "SELECT")
    function = take("word").upper()
    if function not in FUNCTIONS:
        raise InvalidInsightsQuery(f"SELECT function {function!r} must be one of {', '.join(FUNCTIONS)}")
    take("op", "(")
    metric = ident()
    take("op", ")")
    take("word", "FROM")
    schema_keys: tuple[str, ...] | None = None
    if peek_kw() == "SCHEMA":
        take()
        take("op", "(")
        namespace = ident()
        keys = []
        while i < len(toks) and toks[i][1] == ",":
            take()
            keys.append(ident())
        take("op", ")")
        schema_keys = tuple(sorted(keys))
    else:
        namespace = ident()
    q = InsightsQuery(function, metric, namespace, schema_keys)
    if peek_kw() == "WHERE":
        take()
        while True:
            key = ident()
            op = take("op")
            if op not in ("=", "!="):
                raise InvalidInsightsQuery(f"WHERE supports = and != only, not {op!r}")
            q.where.append((key, op, _unquote(take("sq"))))
            if peek_kw() != "AND":
                break
            take()
    if peek_kw() == "GROUP":
        take()
        take("word", "BY")
        q.group_by.append(ident())
        while i < len(toks) and toks[i][1] == ",":
            take()
            q.group_by.append(ident())
    if peek_kw() == "ORDER":
        take()
        take("word", "BY")
        func = take("word").upper()
        if func not in FUNCTIONS:
            raise InvalidInsightsQuery(f"ORDER BY function {func!r} must be one of {', '.join(FUNCTIONS)}")
        take("op", "(")
        take("op", ")")
        desc = False
        if peek_kw() in ("ASC", "DESC"):
            desc = take().upper() == "DESC"
        q.order = (func, desc)
    if peek_kw() == "LIMIT":
        take()
        raw = take("word")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_SERIES:
            raise InvalidInsightsQuery(f"LIMIT must be a number from 1 to {MAX_SERIES}, not {raw!r}")
        q.limit = int(raw)
    if i != len(toks):
        raise InvalidInsightsQuery(f"Unexpected {toks[i][1]!r} in query {text!r}")
    return q


def _matches(q: InsightsQuery, dims: dict[str, str]) -> bool:
    if q.schema_keys is not None and tuple(sorted(dims)) != q.schema_keys:
        return False
    for key, op, value in q.where:
        if (dims.get(key) == value) != (op == "="):
            return False
    return True


def _value(function: str, entries: list[Entry]) -> float:
    count, total, lo, hi = st.aggregate(entries)
    return {"AVG": total / count if count else 0.0, "COUNT": count, "SUM": total, "MIN": lo, "MAX": hi}[function]


def _scalar(function: str, values: list[float]) -> float:
    if not values:
        return float("-inf")
    return {"AVG": sum(values) / len(values), "COUNT": float(len(values)), "SUM": sum(values), "MIN": min(values),
            "MAX": max(values)}[function]


def run(store: RegionStore, q: InsightsQuery, start: float, end: float, period: int, label: str | None,
        ) -> list[mathexpr.TS]:
    """The query's time series over [start, end) on a ``period`` grid starting at ``start``, in result order."""
    groups: dict[tuple[str, ...], list[Entry]] = {}
    for dims_key, series in list(store.by_metric.get((q.namespace, q.metric), {}).items()):
        dims = dict(dims_key)
        if not _matches(q, dims):
            continue
        key = tuple(dims.get(k, "Other") for k in q.group_by)
        groups.setdefault(key, []).extend(series.between(start, end))
    grid = bucket_starts(start, end, period)
    out: list[tuple[tuple[str, ...], mathexpr.TS]] = []
    for key, entries in groups.items():
        buckets: dict[float, list[Entry]] = {}
        for e in entries:
            buckets.setdefault(start + bucket_index(e[0], start, period) * period, []).append(e)
        points = {t: _value(q.function, es) for t, es in sorted(buckets.items())}
        name = " ".join(p for p in (label, *key) if p)
        out.append((key, mathexpr.TS(points, period, name, grid)))
    if q.order is not None:
        func, desc = q.order
        out.sort(key=lambda kv: _scalar(func, list(kv[1].points.values())), reverse=desc)
    else:
        out.sort(key=lambda kv: kv[0])
    return [ts for _, ts in out[: q.limit]]
