"""``gridgov notify run``: the delivery worker outside the server (one per database)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

notify_app = typer.Typer(help="Notifications: the delivery worker.", no_args_is_help=True)


@notify_app.command("run")
def run(once: Annotated[bool, typer.Option(help="send what is due now, then stop")] = False
        ) -> None:
    """Send the outbox until stopped (waits while another worker holds the database's lock)."""
    from api.cli._common import _engine, _friendly_errors, _settings, console
    from api.notify.delivery import build_channels
    from api.notify.worker import DeliveryWorker
    from api.personal.cipher import PersonalCipher

    settings = _settings()
    with _friendly_errors():
        engine = _engine()
        worker = DeliveryWorker(engine, build_channels(settings.notify), settings.notify,
                                PersonalCipher.from_settings(settings),
                                base_url=settings.api.public_base_url or "",
                                timezone=settings.api.timezone)
        try:
            if once:
                console.print(f"handled {worker.run_once(limit=1_000_000)} notifications")
                return
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            worker.run_forever(stop)
        finally:
            engine.dispose()
