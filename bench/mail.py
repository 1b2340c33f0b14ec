"""A mail backend for benchmarks: anymail's test backend (the whole anymail payload is built, as for a real ESP),
without keeping every sent message in memory the way ``anymail.backends.test`` does (its ``mail.outbox`` grows by
one EmailMessage per mail and looks each one up with ``list.index``)."""

import itertools

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.message import AnymailRecipientStatus

_ids = itertools.count(1)


class DiscardingTestBackend(AnymailTestBackend):
    esp_name = "BenchTest"

    def post_to_esp(self, payload, message):
        payload.get_params()
        status = AnymailRecipientStatus(message_id=f"bench-{next(_ids)}", status="sent")
        return {"recipient_status": dict.fromkeys(payload.recipient_emails, status)}
