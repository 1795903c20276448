"""E-mail over SMTP (stdlib ``smtplib``); the idempotency key is the ``Message-ID``."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from api.notify.channels import Message, Result
from api.settings import NotifySettings


class EmailChannel:
    """Send through the SMTP server ``GRIDGOV_NOTIFY_SMTP_HOST``:``SMTP_PORT``."""

    name = "email"

    def __init__(self, settings: NotifySettings) -> None:
        if not settings.smtp_host:
            raise ValueError("GRIDGOV_NOTIFY_SMTP_HOST is required for e-mail")
        self.settings = settings

    def send(self, message: Message) -> Result:
        """Send ``message`` as one e-mail with ``Message-ID: <key@gridgov>``."""
        s = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = s.smtp_from, message.address, message.subject
        mail["Message-ID"] = f"<{message.key}@gridgov>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(s.smtp_host or "", s.smtp_port,
                              timeout=s.timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user and s.smtp_password:
                    smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            return Result(False, f"recipient refused: {exc.recipients}", retry=False)
        except (smtplib.SMTPException, OSError) as exc:
            return Result(False, f"SMTP: {exc}")
        return Result(not refused, f"refused: {refused}" if refused else "accepted")
