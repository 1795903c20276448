"""The delivery worker in the server: the channels from settings, one thread per app."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from api.notify.channels import Channel
from api.notify.channels.email import EmailChannel
from api.notify.channels.sms import SmsChannel
from api.notify.channels.webhook import WebhookChannel
from api.notify.channels.wecom import WeComChannel
from api.notify.worker import DeliveryWorker
from api.personal.cipher import PersonalCipher
from api.settings import NotifySettings, Settings


def build_channels(settings: NotifySettings) -> dict[str, Channel]:
    """The channels whose settings are given, by name (e-mail needs an SMTP host, ...).

    Examples
    --------
    >>> sorted(build_channels(NotifySettings(smtp_host="127.0.0.1")))
    ['email']
    """
    made: dict[str, Channel] = {}
    wanted: list[tuple[bool, type]] = [
        (settings.smtp_host is not None, EmailChannel),
        (settings.webhook_secret is not None, WebhookChannel),
        (settings.sms_base_url is not None, SmsChannel),
        (settings.wecom_corp_id is not None, WeComChannel),
    ]
    for configured, kind in wanted:
        if configured:
            channel = kind(settings)
            made[channel.name] = channel
    return made


def worker_from_settings(engine: Engine, personal: PersonalCipher,
                         settings: Settings) -> DeliveryWorker:
    """The delivery worker on ``engine`` with ``personal``'s cipher and the configured channels."""
    return DeliveryWorker(engine, build_channels(settings.notify), settings.notify,
                          personal, base_url=settings.api.public_base_url or "",
                          timezone=settings.api.timezone)


@asynccontextmanager
async def delivery_schedule(engine: Engine, personal: PersonalCipher,
                            settings: Settings) -> AsyncIterator[None]:
    """Run the delivery worker in a thread while the app runs (``GRIDGOV_NOTIFY_WORKER``)."""
    if not settings.notify.worker:
        yield
        return
    stop = threading.Event()
    worker = worker_from_settings(engine, personal, settings)
    thread = threading.Thread(target=worker.run_forever, args=(stop,),
                              name="gridgov-delivery", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=settings.notify.timeout_seconds + 5)
