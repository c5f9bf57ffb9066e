"""Per-request constant costs of moto's server, removed so concurrent clients are not serialised.

moto's ``DomainDispatcherApplication.get_application`` holds one global lock while it asks
``backends.list_of_moto_modules()`` (an ``os.listdir`` plus an ``isdir`` per service folder, twice per request),
and ``BaseResponse.call_action`` runs ``inspect.getmembers`` over the response class on every call. Both answers
never change while the server runs, so they are computed once; the lock is then held for microseconds, not
milliseconds, and eight producers stop queueing behind it. Looking up an existing account's backends no longer
takes moto's global backend lock either, and the per-response request id is drawn in one call.
"""

from __future__ import annotations

import string
import threading
from typing import Any

_patched = False
_names_lock = threading.Lock()


def install() -> None:
    """Cache moto's module list and per-class action names (idempotent)."""
    global _patched
    if _patched:
        return
    _patched = True
    import moto.backends as moto_backends
    import moto.core.base_backend as moto_base_backend
    import moto.core.responses as moto_responses

    modules = frozenset(moto_backends.list_of_moto_modules())
    ordered = tuple(sorted(modules))

    class _Modules(tuple):  # type: ignore[type-arg]
        """The same names in the same order, with O(1) membership (the dispatcher only tests ``in``)."""

        def __contains__(self, item: object) -> bool:
            return item in modules

    cached_modules = _Modules(ordered)
    moto_backends.list_of_moto_modules = lambda: cached_modules  # type: ignore[assignment]

    previous_names = moto_responses.method_names_from_class
    names_by_class: dict[Any, frozenset[str]] = {}

    def method_names_from_class(clazz: Any) -> frozenset[str]:
        found = names_by_class.get(clazz)
        if found is None:
            found = frozenset(previous_names(clazz))
            with _names_lock:
                names_by_class[clazz] = found
        return found

    moto_responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]

    backend_dict = moto_base_backend.BackendDict
    previous_getitem = backend_dict.__getitem__

    def getitem(self: Any, account_id: str) -> Any:
        # moto takes its global backend lock on every lookup, even for an account that exists; only the first
        # lookup of an account needs it (after a reset the dict is empty again, so that path still runs).
        found = dict.get(self, account_id)
        return found if found is not None else previous_getitem(self, account_id)

    backend_dict.__getitem__ = getitem  # type: ignore[method-assign]

    from moto.moto_api._internal.moto_random import HEX_CHARS, MotoRandom

    hex_chars = [str(c) for c in HEX_CHARS]

    def get_random_string(self: Any, length: int = 20, include_digits: bool = True, lower_case: bool = False) -> str:
        # Every response's request id is drawn here: one ``choices`` call instead of one ``choice`` per character,
        # from the same seeded generator and alphabet.
        pool = string.ascii_letters + (string.digits if include_digits else "")
        drawn = "".join(self.choices(pool, k=length))
        return drawn.lower() if lower_case else drawn

    def get_random_hex(self: Any, length: int = 8) -> str:
        return "".join(self.choices(hex_chars, k=length))

    MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    MotoRandom.get_random_hex = get_random_hex  # type: ignore[method-assign]
