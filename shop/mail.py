"""A mail backend for the demo: each message goes through anymail's API and lands as files a person can open.

var/outbox/<time>-<id>.eml   the whole message (open it in any mail client)
var/outbox/<time>-<id>.html  its HTML part, for a browser
Tags, metadata and tracking flags are written as X-Anymail-* headers, so what a real ESP would receive is visible.
"""

import json
import uuid
from pathlib import Path

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.message import AnymailRecipientStatus
from django.conf import settings
from django.utils import timezone


class FileOutboxBackend(AnymailTestBackend):
    esp_name = "FileOutbox"

    def post_to_esp(self, payload, message):
        params = payload.get_params()
        outbox = Path(settings.SHOP_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex
        stem = outbox / f"{timezone.now():%Y%m%dT%H%M%S}-{message_id[:12]}"
        mime = message.message()
        for key in ("tags", "metadata", "track_opens", "track_clicks"):
            if key in params:
                mime[f"X-Anymail-{key.replace('_', '-').title()}"] = json.dumps(params[key], default=str)
        stem.with_suffix(".eml").write_bytes(mime.as_bytes())
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                stem.with_suffix(".html").write_text(content, encoding="utf-8")
        status = AnymailRecipientStatus(message_id=message_id, status="sent")
        return {"recipient_status": dict.fromkeys(payload.recipient_emails, status)}
