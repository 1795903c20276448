"""WeCom (企业微信) application messages (应用消息).

``GET {base}/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET`` gives an
``access_token`` (kept until shortly before its ``expires_in``); then ``POST
{base}/cgi-bin/message/send?access_token=TOKEN`` with JSON ``{"touser":
"<userid>", "msgtype": "text", "agentid": N, "text": {"content": "..."},
"enable_duplicate_check": 1}``. WeCom answers HTTP 200 with ``errcode`` 0 when
sent; an expired token (40014, 42001) is fetched again once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from api.notify.channels import Message, Result
from api.settings import NotifySettings

EXPIRED_TOKEN = frozenset({40014, 42001})


class WeComChannel:
    """Send application messages to WeCom user ids."""

    name = "wecom"

    def __init__(self, settings: NotifySettings) -> None:
        if not (settings.wecom_corp_id and settings.wecom_secret
                and settings.wecom_agent_id is not None):
            raise ValueError("GRIDGOV_NOTIFY_WECOM_CORP_ID, _WECOM_SECRET and _WECOM_AGENT_ID "
                             "are required for WeCom")
        self.base = settings.wecom_base_url.rstrip("/")
        self.corp_id, self.agent_id = settings.wecom_corp_id, settings.wecom_agent_id
        self.secret = settings.wecom_secret.get_secret_value()
        self.timeout = settings.timeout_seconds
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _access_token(self, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or self._token[1] <= time.monotonic():
                resp = httpx.get(f"{self.base}/cgi-bin/gettoken", timeout=self.timeout,
                                 params={"corpid": self.corp_id, "corpsecret": self.secret})
                data = resp.json()
                if data.get("errcode", 0) != 0:
                    raise httpx.HTTPError(f"gettoken: {data.get('errmsg')}")
                ttl = float(data.get("expires_in", 7200))
                self._token = data["access_token"], time.monotonic() + ttl - 60
            return self._token[0]

    def _post(self, payload: dict[str, Any], fresh: bool) -> dict[str, Any]:
        resp = httpx.post(f"{self.base}/cgi-bin/message/send", json=payload,
                          params={"access_token": self._access_token(fresh)},
                          timeout=self.timeout)
        answer: dict[str, Any] = resp.json()
        return answer

    def send(self, message: Message) -> Result:
        """Send ``subject`` and ``body`` as a text message to user id ``message.address``."""
        payload = {"touser": message.address, "msgtype": "text", "agentid": self.agent_id,
                   "text": {"content": f"{message.subject}\n{message.body}"},
                   "enable_duplicate_check": 1, "duplicate_check_interval": 14400}
        try:
            answer = self._post(payload, fresh=False)
            if answer.get("errcode") in EXPIRED_TOKEN:
                answer = self._post(payload, fresh=True)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            return Result(False, f"WeCom: {exc!r}")
        if answer.get("errcode") == 0:
            return Result(True, f"msgid {answer.get('msgid', '')}")
        return Result(False, f"WeCom errcode {answer.get('errcode')}: {answer.get('errmsg')}",
                      retry=answer.get("errcode") in (-1, 45009))
