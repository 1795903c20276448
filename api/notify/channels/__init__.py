"""Outbound channels behind one small contract: ``send(message) -> Result``.

A channel never raises for a delivery problem: it answers a :class:`Result`
(``ok``, a short ``detail`` for the attempt's record, and ``retry``: whether
trying again later may help). Every message carries its notification's
idempotency ``key``, passed to the receiver (a header, the message id, the
request body), so a receiver that saw a key before can drop the repeat; see
:mod:`api.notify.worker` for when a repeat can happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One message to one address."""

    key: str
    address: str
    subject: str
    body: str
    kind: str
    #: None for a message about no event (a visit due, an anomaly alert)
    event_id: int | None


@dataclass(frozen=True)
class Result:
    """What a channel did with a message."""

    ok: bool
    detail: str = ""
    retry: bool = True


class Channel(Protocol):
    """An outbound channel (e-mail, signed webhook, SMS, WeCom)."""

    name: str

    def send(self, message: Message) -> Result:
        """Deliver ``message``; never raise for a delivery problem."""
        ...


def http_result(status: int, text: str) -> Result:
    """A :class:`Result` of an HTTP answer: 2xx ok; 4xx (but 408, 429) not worth retrying.

    Examples
    --------
    >>> http_result(503, "busy")
    Result(ok=False, detail='HTTP 503: busy', retry=True)
    >>> http_result(400, "bad").retry
    False
    """
    if 200 <= status < 300:
        return Result(True, f"HTTP {status}")
    permanent = 400 <= status < 500 and status not in (408, 429)
    return Result(False, f"HTTP {status}: {text[:200]}", retry=not permanent)
