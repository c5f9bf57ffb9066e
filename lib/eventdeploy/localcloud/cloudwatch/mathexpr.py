"""CloudWatch metric math: parse an expression and evaluate it over the request's time series.

Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
Values: a scalar (float), a time series (TS), an array of time series (list[TS]). Arithmetic treats a value missing
from one time series as 0 and drops a data point that would divide by zero, as the page documents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field


class MathError(ValueError):
    """An expression CloudWatch would reject (syntax, unknown id or function, wrong argument types)."""


@dataclass
class TS:
    """One time series: ascending ``points`` {epoch timestamp: value}, its ``period`` and ``label``."""

    points: dict[float, float]
    period: int
    label: str = ""
    grid: list[float] = field(default_factory=list)

    def sorted_items(self) -> list[tuple[float, float]]:
        """(timestamp, value) pairs, oldest first."""
        return sorted(self.points.items())


Value = float | TS | list[TS] | str

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<str>"[^"]*"|'[^']*'|“[^”]*”)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/^()\[\],<>])
    )""", re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, text); raises MathError naming the first character it cannot read."""
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise MathError(f"Invalid character {text[pos]!r} at position {pos} in expression {text!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class Parser:
    """Recursive-descent parser producing a small tuple AST."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, want: str | None = None) -> tuple[str, str]:
        tok = self._peek()
        if tok is None or (want is not None and tok[1] != want):
            found = "end of expression" if tok is None else repr(tok[1])
            raise MathError(f"Expected {want or 'a value'} but found {found} in expression {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> tuple:
        """The whole expression's AST; raises MathError on anything left over."""
        node = self._or()
        if self._peek() is not None:
            raise MathError(f"Unexpected {self._peek()[1]!r} in expression {self.text!r}")  # type: ignore[index]
        return node

    def _binary(self, sub: Callable[[], tuple], ops: dict[str, str]) -> tuple:
        node = sub()
        while (tok := self._peek()) is not None and tok[1] in ops:
            self.i += 1
            node = ("bin", ops[tok[1]], node, sub())
        return node

    def _or(self) -> tuple:
        return self._binary(self._and, {"OR": "or", "||": "or"})

    def _and(self) -> tuple:
        return self._binary(self._cmp, {"AND": "and", "&&": "and"})

    def _cmp(self) -> tuple:
        return self._binary(self._add, {o: o for o in ("==", "!=", "<=", ">=", "<", ">")})

    def _add(self) -> tuple:
        return self._binary(self._mul, {"+": "+", "-": "-"})

    def _mul(self) -> tuple:
        return self._binary(self._unary, {"*": "*", "/": "/"})

    def _unary(self) -> tuple:
        tok = self._peek()
        if tok is not None and tok[1] == "-":
            self.i += 1
            return ("neg", self._unary())
        if tok is not None and tok[1] == "+":
            self.i += 1
            return self._unary()
        return self._power()

    def _power(self) -> tuple:
        base = self._primary()
        tok = self._peek()
        if tok is not None and tok[1] == "^":
            self.i += 1
            return ("bin", "^", base, self._unary())
        return base

    def _primary(self) -> tuple:
        kind, text = self._take()
        if kind == "num":
            return ("num", float(text))
        if kind == "str":
            return ("str", text[1:-1])
        if text == "(":
            node = self._or()
            self._take(")")
            return node
        if text == "[":
            items = [self._or()]
            while self._peek() is not None and self._peek()[1] == ",":  # type: ignore[index]
                self.i += 1
                items.append(self._or())
            self._take("]")
            return ("array", items)
        if kind == "name":
            nxt = self._peek()
            if nxt is not None and nxt[1] == "(":
                self.i += 1
                args: list[tuple] = []
                if self._peek() is not None and self._peek()[1] != ")":  # type: ignore[index]
                    args.append(self._or())
                    while self._peek() is not None and self._peek()[1] == ",":  # type: ignore[index]
                        self.i += 1
                        args.append(self._or())
                self._take(")")
                return ("call", text, args)
            if text[0].isupper():
                return ("kw", text)
            return ("id", text)
        raise MathError(f"Unexpected {text!r} in expression {self.text!r}")


def parse(text: str) -> tuple:
    """The AST of ``text``."""
    return Parser(text).parse()


def references(node: tuple) -> set[str]:
    """Ids a parsed expression refers to directly."""
    kind = node[0]
    if kind == "id":
        return {node[1]}
    if kind == "bin":
        return references(node[2]) | references(node[3])
    if kind == "neg":
        return references(node[1])
    if kind == "array":
        return set().union(*(references(n) for n in node[1]))
    if kind == "call":
        return set().union(set(), *(references(n) for n in node[2]))
    return set()


# --------------------------------------------------------------------------------------------------------------------
# Evaluation


def _apply(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    if op == "^":
        try:
            r = a ** b
        except (OverflowError, ZeroDivisionError):
            return None
        return r if isinstance(r, float | int) else None
    if op == "==":
        return float(a == b)
    if op == "!=":
        return float(a != b)
    if op == "<=":
        return float(a <= b)
    if op == ">=":
        return float(a >= b)
    if op == "<":
        return float(a < b)
    if op == ">":
        return float(a > b)
    if op == "and":
        return float(bool(a) and bool(b))
    return float(bool(a) or bool(b))


def _ts_op(op: str, a: TS, b: TS) -> TS:
    out: dict[float, float] = {}
    for t in sorted(set(a.points) | set(b.points)):
        r = _apply(op, a.points.get(t, 0.0), b.points.get(t, 0.0))
        if r is not None:
            out[t] = float(r)
    return TS(out, a.period, a.label, a.grid or b.grid)


def _scalar_op(op: str, a: TS, s: float, ts_left: bool) -> TS:
    out: dict[float, float] = {}
    for t, v in a.points.items():
        r = _apply(op, v, s) if ts_left else _apply(op, s, v)
        if r is not None:
            out[t] = float(r)
    return TS(out, a.period, a.label, a.grid)


def binary(op: str, left: Value, right: Value) -> Value:
    """``left op right`` for every combination of scalar, time series and array the spec allows."""
    if isinstance(left, str) or isinstance(right, str):
        raise MathError(f"Operator {op} cannot be applied to a string")
    if isinstance(left, list):
        return [binary(op, x, right) for x in left]  # type: ignore[misc]
    if isinstance(right, list):
        return [binary(op, left, x) for x in right]  # type: ignore[misc]
    if isinstance(left, TS) and isinstance(right, TS):
        return _ts_op(op, left, right)
    if isinstance(left, TS):
        return _scalar_op(op, left, float(right), True)  # type: ignore[arg-type]
    if isinstance(right, TS):
        return _scalar_op(op, right, float(left), False)
    r = _apply(op, float(left), float(right))
    if r is None:
        raise MathError(f"Division by zero in scalar expression {left} {op} {right}")
    return float(r)


def _map_ts(value: Value, fn: Callable[[float], float | None], name: str) -> Value:
    if isinstance(value, list):
        return [_map_ts(v, fn, name) for v in value]  # type: ignore[misc]
    if not isinstance(value, TS):
        raise MathError(f"{name} takes a time series or an array of time series")
    out = {}
    for t, v in value.points.items():
        r = fn(v)
        if r is not None and not math.isnan(r):
            out[t] = float(r)
    return TS(out, value.period, value.label, value.grid)


def _as_array(value: Value, name: str) -> list[TS]:
    if isinstance(value, TS):
        return [value]
    if isinstance(value, list):
        return value
    raise MathError(f"{name} takes a time series or an array of time series")


def _reduce(name: str, value: Value) -> Value:
    """SUM/AVG/MIN/MAX/STDDEV/DATAPOINT_COUNT: a scalar for one TS, a TS across an array (per timestamp)."""
    if isinstance(value, TS):
        vals = list(value.points.values())
        if name == "DATAPOINT_COUNT":
            return float(len(vals))
        if not vals:
            raise MathError(f"{name} of a time series with no data points has no value")
        return _reduce_values(name, vals, len(vals))
    arr = _as_array(value, name)
    if not arr:
        raise MathError(f"{name} of an empty array of time series")
    stamps = sorted(set().union(*(s.points.keys() for s in arr)))
    out: dict[float, float] = {}
    for t in stamps:
        present = [s.points[t] for s in arr if t in s.points]
        if name in ("SUM", "AVG"):
            # Missing values count as 0 for SUM and AVG of an array (the spec says so for AVG explicitly).
            out[t] = _reduce_values(name, present, len(arr))
        else:
            out[t] = _reduce_values(name, present, len(present))
    return TS(out, arr[0].period, "", arr[0].grid)


def _reduce_values(name: str, vals: list[float], n: int) -> float:
    if name == "SUM":
        return float(sum(vals))
    if name == "AVG":
        return float(sum(vals)) / n
    if name == "MIN":
        return float(min(vals))
    if name == "MAX":
        return float(max(vals))
    if name == "DATAPOINT_COUNT":
        return float(len(vals))
    mean = sum(vals) / len(vals)
    return math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))


def _fill(value: Value, filler: Value) -> Value:
    if isinstance(value, list):
        return [_fill(v, filler) for v in value]  # type: ignore[misc]
    if not isinstance(value, TS):
        raise MathError("FILL takes a time series or an array of time series as its first argument")
    out: dict[float, float] = {}
    known = value.sorted_items()
    grid = value.grid or [t for t, _ in known]
    if isinstance(filler, float):
        for t in grid:
            out[t] = value.points.get(t, filler)
    elif isinstance(filler, TS):
        for t in grid:
            if t in value.points:
                out[t] = value.points[t]
            elif t in filler.points:
                out[t] = filler.points[t]
    elif filler == "REPEAT":
        last: float | None = None
        for t in grid:
            if t in value.points:
                last = value.points[t]
            if last is not None:
                out[t] = last
    elif filler == "LINEAR":
        for t in grid:
            if t in value.points:
                out[t] = value.points[t]
                continue
            before = [(tk, v) for tk, v in known if tk < t]
            after = [(tk, v) for tk, v in known if tk > t]
            if before and after:
                (t0, v0), (t1, v1) = before[-1], after[0]
                out[t] = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    else:
        raise MathError(f"FILL's second argument must be a number, a time series, REPEAT or LINEAR, not {filler!r}")
    return TS(out, value.period, value.label, value.grid)


def _pairwise(value: Value, name: str, fn: Callable[[float, float, float, float], float | None]) -> Value:
    if isinstance(value, list):
        return [_pairwise(v, name, fn) for v in value]  # type: ignore[misc]
    if not isinstance(value, TS):
        raise MathError(f"{name} takes a time series or an array of time series")
    items = value.sorted_items()
    out: dict[float, float] = {}
    for (t0, v0), (t1, v1) in zip(items, items[1:], strict=False):
        r = fn(t0, v0, t1, v1)
        if r is not None:
            out[t1] = float(r)
    return TS(out, value.period, value.label, value.grid)


def _running_sum(value: Value) -> Value:
    if isinstance(value, list):
        return [_running_sum(v) for v in value]  # type: ignore[misc]
    if not isinstance(value, TS):
        raise MathError("RUNNING_SUM takes a time series or an array of time series")
    total, out = 0.0, {}
    for t, v in value.sorted_items():
        total += v
        out[t] = total
    return TS(out, value.period, value.label, value.grid)


def _if(cond: Value, yes: Value, no: Value | None) -> Value:
    if isinstance(cond, float):
        if cond:
            return yes
        if no is None:
            return TS({}, 60)
        return no
    if not isinstance(cond, TS):
        raise MathError("IF's condition must be a time series or a scalar")
    out: dict[float, float] = {}
    for t, c in cond.points.items():
        branch = yes if c else no
        if branch is None:
            continue
        if isinstance(branch, float):
            out[t] = branch
        elif isinstance(branch, TS):
            if t in branch.points:
                out[t] = branch.points[t]
            elif c:
                out[t] = 0.0
        else:
            raise MathError("IF's branches must be time series or scalars")
    return TS(out, cond.period, cond.label, cond.grid)


@dataclass
class Context:
    """What an expression may refer to: metric results by id (request order) and other expressions by id."""

    metrics: dict[str, TS]
    expressions: dict[str, str]
    grid_for: Callable[[int], list[float]]
    cache: dict[str, Value] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)

    def resolve(self, ident: str) -> Value:
        """Value of a metric or expression Id (expressions evaluated once, cycles rejected)."""
        if ident in self.metrics:
            return self.metrics[ident]
        if ident in self.cache:
            return self.cache[ident]
        if ident not in self.expressions:
            raise MathError(f"Unrecognized identifier {ident!r}: no metric or expression has that Id")
        if ident in self.stack:
            raise MathError(f"Circular dependency between expressions: {' -> '.join([*self.stack, ident])}")
        self.stack.append(ident)
        try:
            value = evaluate(parse(self.expressions[ident]), self)
        finally:
            self.stack.pop()
        self.cache[ident] = value
        return value


_UNARY_MAPS: dict[str, Callable[[float], float | None]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
    "LOG": lambda v: math.log(v) if v > 0 else None,
    "LOG10": lambda v: math.log10(v) if v > 0 else None,
}


def evaluate(node: tuple, ctx: Context) -> Value:
    """Value of a parsed expression in ``ctx``."""
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "str":
        return str(node[1])
    if kind == "kw":
        return str(node[1])
    if kind == "id":
        return ctx.resolve(node[1])
    if kind == "neg":
        return binary("*", -1.0, evaluate(node[1], ctx))
    if kind == "bin":
        return binary(node[1], evaluate(node[2], ctx), evaluate(node[3], ctx))
    if kind == "array":
        out: list[TS] = []
        for item in node[1]:
            value = evaluate(item, ctx)
            if isinstance(value, TS):
                out.append(value)
            elif isinstance(value, list):
                out.extend(value)
            else:
                raise MathError("An array [...] may only hold time series")
        return out
    name, args = node[1], node[2]
    return _call(name, args, ctx)


def _call(name: str, args: list[tuple], ctx: Context) -> Value:
    def arg(i: int) -> Value:
        return evaluate(args[i], ctx)

    def need(n: int, m: int | None = None) -> None:
        if not (n <= len(args) <= (m if m is not None else n)):
            raise MathError(f"{name} takes {n if m is None or m == n else f'{n} to {m}'} argument(s), "
                            f"got {len(args)}")

    if name == "METRICS":
        need(0, 1)
        needle = arg(0) if args else ""
        if not isinstance(needle, str):
            raise MathError("METRICS takes an optional string, e.g. METRICS(\"errors\")")
        return [ts for ident, ts in ctx.metrics.items() if needle in ident]
    if name in ("SUM", "AVG", "MIN", "MAX", "STDDEV", "DATAPOINT_COUNT"):
        need(1)
        return _reduce(name, arg(0))
    if name == "FILL":
        need(2)
        return _fill(arg(0), arg(1))
    if name == "RATE":
        need(1)
        return _pairwise(arg(0), name, lambda t0, v0, t1, v1: (v1 - v0) / (t1 - t0))
    if name == "DIFF":
        need(1)
        return _pairwise(arg(0), name, lambda t0, v0, t1, v1: v1 - v0)
    if name == "DIFF_TIME":
        need(1)
        return _pairwise(arg(0), name, lambda t0, v0, t1, v1: t1 - t0)
    if name == "RUNNING_SUM":
        need(1)
        return _running_sum(arg(0))
    if name in _UNARY_MAPS:
        need(1)
        return _map_ts(arg(0), _UNARY_MAPS[name], name)
    if name == "METRIC_COUNT":
        need(1)
        return float(len(_as_array(arg(0), name)))
    if name == "PERIOD":
        need(1)
        value = arg(0)
        if not isinstance(value, TS):
            raise MathError("PERIOD takes a metric")
        return float(value.period)
    if name == "TIME_SERIES":
        need(1)
        value = arg(0)
        if not isinstance(value, float):
            raise MathError("TIME_SERIES takes a scalar")
        period = next(iter(ctx.metrics.values())).period if ctx.metrics else 60
        grid = ctx.grid_for(period)
        return TS({t: value for t in grid}, period, "", grid)
    if name == "IF":
        need(2, 3)
        return _if(arg(0), arg(1), arg(2) if len(args) == 3 else None)
    if name == "REMOVE_EMPTY":
        need(1)
        return [ts for ts in _as_array(arg(0), name) if ts.points]
    if name in ("FIRST", "LAST"):
        need(1)
        arr = _as_array(arg(0), name)
        if not arr:
            raise MathError(f"{name} of an empty array of time series")
        return arr[0] if name == "FIRST" else arr[-1]
    raise MathError(f"Unsupported function {name}: the local cloud implements METRICS, SUM, AVG, MIN, MAX, STDDEV, "
                    "DATAPOINT_COUNT, FILL, RATE, DIFF, DIFF_TIME, RUNNING_SUM, ABS, CEIL, FLOOR, LOG, LOG10, "
                    "METRIC_COUNT, PERIOD, TIME_SERIES, IF, REMOVE_EMPTY, FIRST, LAST")


def result_series(value: Value, expression: str) -> list[TS]:
    """The time series an expression's final value yields; a scalar is not a valid final result."""
    if isinstance(value, TS):
        return [value]
    if isinstance(value, list):
        return value
    raise MathError(f"The expression {expression!r} evaluates to a scalar; the final result of a math "
                    "expression must be a time series or an array of time series")
