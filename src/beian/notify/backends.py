"""SMS backends (mail goes through Django's e-mail backends).

``BEIAN_SMS_BACKEND``: ``file`` (default; JSON lines in ``$BEIAN_HOME/sms.log``, the development backend
the demo and the browser tests read), ``console`` (stdout), or ``webhook`` (POST JSON
``{"to", "text", "id"}`` to ``BEIAN_SMS_WEBHOOK_URL``, any 2xx is success).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from beian.web import config


class SmsError(Exception):
    pass


def send_sms(*, to: str, text: str, message_id: int) -> None:
    backend = os.environ.get("BEIAN_SMS_BACKEND", "file")
    record = {"id": message_id, "to": to, "text": text}
    if backend == "console":
        print(f"[SMS to {to}] {text}", file=sys.stdout, flush=True)
    elif backend == "file":
        path = sms_log_path()
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif backend == "webhook":
        url = os.environ.get("BEIAN_SMS_WEBHOOK_URL", "")
        if not url:
            raise SmsError("BEIAN_SMS_WEBHOOK_URL is not set")
        request = urllib.request.Request(
            url,
            data=json.dumps(record, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator-configured URL
                if not 200 <= response.status < 300:
                    raise SmsError(f"gateway answered {response.status}")
        except OSError as exc:
            raise SmsError(f"gateway unreachable: {exc}") from exc
    else:
        raise SmsError(f"unknown BEIAN_SMS_BACKEND {backend!r} (file, console or webhook)")


def sms_log_path() -> Path:
    return Path(os.environ.get("BEIAN_SMS_FILE", config.home() / "sms.log"))


def read_sms_log() -> list[dict]:
    """Messages the file backend recorded (development and tests)."""
    path = sms_log_path()
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
