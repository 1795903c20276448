"""SMS through an HTTP gateway at ``GRIDGOV_NOTIFY_SMS_BASE_URL``.

The request: ``POST {base}/v1/sms/send`` with ``Authorization: Bearer
<GRIDGOV_NOTIFY_SMS_API_KEY>`` and JSON ``{"to": "<phone>", "text": "...",
"client_ref": "<idempotency key>"}``; the gateway answers 2xx when accepted
(and drops a repeated ``client_ref``).
"""

from __future__ import annotations

import httpx

from api.notify.channels import Message, Result, http_result
from api.settings import NotifySettings


class SmsChannel:
    """Send a text message through the gateway."""

    name = "sms"

    def __init__(self, settings: NotifySettings) -> None:
        if not settings.sms_base_url or settings.sms_api_key is None:
            raise ValueError("GRIDGOV_NOTIFY_SMS_BASE_URL and _SMS_API_KEY are required for SMS")
        self.url = settings.sms_base_url.rstrip("/") + "/v1/sms/send"
        self.key = settings.sms_api_key.get_secret_value()
        self.timeout = settings.timeout_seconds

    def send(self, message: Message) -> Result:
        """Send ``subject: body`` to the phone number ``message.address``."""
        payload = {"to": message.address, "text": f"{message.subject}：{message.body}",
                   "client_ref": message.key}
        try:
            resp = httpx.post(self.url, json=payload, timeout=self.timeout,
                              headers={"Authorization": f"Bearer {self.key}"})
        except httpx.HTTPError as exc:
            return Result(False, f"SMS: {exc!r}")
        return http_result(resp.status_code, resp.text)
