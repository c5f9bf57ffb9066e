"""The local cloud's CloudWatch: an indexed metric store, AWS's statistics and metric math, and alarm evaluation.

``store`` holds every datum (from ``put_metric_data`` and from in-process ``metrics.publish``) in per-metric series;
``statistics`` and ``mathexpr`` compute what GetMetricStatistics / GetMetricData answer; ``alarms`` and
``evaluator`` evaluate metric alarms the way CloudWatch does; ``patches`` wires all of it into moto's backend.
"""
