"""Measure publish and query cost of the local CloudWatch against moto's own list-scanning backend.

The watched metric holds 100 data points in both; "full" adds other data points to the same account and region.

Run: ``.venv/bin/python -m eventdeploy.localcloud.cloudwatch.bench`` (in-process, no server, about 20 s).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from eventdeploy.localcloud import metrics
from eventdeploy.localcloud.cloudwatch import query, store
from eventdeploy.localcloud.cloudwatch import statistics as st

ACCOUNT, REGION = "000000000001", "us-east-1"


def _per_call(fn: object, n: int) -> float:
    began = time.perf_counter()
    for i in range(n):
        fn(i)  # type: ignore[operator]
    return (time.perf_counter() - began) / n


def ours(filler: int) -> dict[str, float]:
    """Publish and query cost of the indexed store, before and after ``filler`` other data points."""
    store.reset()
    now = time.time()
    rs = store.region_store(ACCOUNT, REGION)
    watched = rs.series("Bench", "Duration", store.dim_key({"Fn": "f"}))
    for i in range(100):
        watched.add((now - 60, float(i), 1.0, float(i), float(i), "None"))
    metric = {"Namespace": "Bench", "MetricName": "Duration", "Dimensions": [{"Name": "Fn", "Value": "f"}]}

    def pub(i: int) -> None:
        # Distinct values, so every call appends a new entry (no merging with the previous one).
        metrics.publish(ACCOUNT, REGION, "Bench", "Latency", float(i), "Milliseconds", {"Fn": "f"})

    def q_sum(_: int) -> None:
        query.stat_series(rs, metric, st.parse_stat("Sum"), now - 3600, now + 60, 60, None)

    def q_p99(_: int) -> None:
        query.stat_series(rs, metric, st.parse_stat("p99"), now - 3600, now + 60, 60, None)

    out = {"publish_empty_us": _per_call(pub, 20_000) * 1e6, "sum_query_empty_ms": _per_call(q_sum, 200) * 1e3,
           "p99_query_empty_ms": _per_call(q_p99, 200) * 1e3}
    other = rs.series("Bench", "Other", ())
    for i in range(filler):
        other.add((now - 3600 + i * 3600 / filler, float(i), 1.0, float(i), float(i), "None"))
    out.update({"publish_full_us": _per_call(pub, 20_000) * 1e6, "sum_query_full_ms": _per_call(q_sum, 200) * 1e3,
                "p99_query_full_ms": _per_call(q_p99, 200) * 1e3})
    return out


def moto_baseline(filler: int) -> dict[str, float]:
    """The same query on moto's unpatched backend, which scans every datum of the region."""
    from moto.cloudwatch.models import CloudWatchBackend

    backend = CloudWatchBackend(REGION, ACCOUNT)
    now = datetime.now(UTC).replace(tzinfo=None)
    backend.put_metric_data("Bench", [{"MetricName": "Duration", "Value": float(i), "Timestamp": now,
                                       "Dimensions": [{"Name": "Fn", "Value": "f"}]} for i in range(100)])

    def q(_: int) -> None:
        backend.get_metric_statistics("Bench", "Duration", now - timedelta(hours=1), now + timedelta(minutes=1), 60,
                                      ["Sum"], [{"Name": "Fn", "Value": "f"}])

    empty = _per_call(q, 200)
    backend.put_metric_data("Bench", [{"MetricName": "Other", "Value": float(i), "Timestamp": now}
                                      for i in range(filler)])
    full = _per_call(q, 5)
    return {"moto_sum_query_empty_ms": empty * 1e3, "moto_sum_query_full_ms": full * 1e3}


def main() -> None:
    """Print the figures."""
    filler = 200_000
    for key, value in {**ours(filler), **moto_baseline(filler)}.items():
        print(f"{key:24s} {value:10.3f}")
    print(f"(full = after {filler:,} data points of another metric in the same account and region)")


if __name__ == "__main__":
    main()
