"""The outbox: one table of messages, each on a channel (email, on-site, …), rendered and sent by that channel's
backend.

Life of a message::

    scheduled ──claim──▶ sending ──provider accepted──▶ sent ──tracking──▶ delivered / opened / clicked / bounced …
        │                   │  └─transient error──▶ scheduled (later, with backoff; failed after MAX attempts)
        │                   └─permanent error / refused address──▶ failed (+ suppression on that channel)
        └─no longer eligible / suppressed──▶ cancelled / suppressed

* **Kinds** (:mod:`.kinds`): each tool registers the kinds of message it sends and builds their context.
* **Scheduling** (:mod:`.schedule`): idempotent on (subject_key, step); in bulk with one INSERT on PostgreSQL.
* **Claiming** (:mod:`.claim`) takes due rows under ``SELECT … FOR UPDATE SKIP LOCKED`` and marks them ``sending``
  in one transaction: two workers, or a task delivered twice, never claim the same row.
* **Sending** (:mod:`.send`): eligibility is checked again at send time (the basket may have been ordered since
  the message was scheduled); the channel backend (:mod:`.channels`) renders, sends and classifies errors.
* **Crash safety**: ``esp_call_started_at`` is committed just before the provider is called.  The sweeper
  (:mod:`.sweeper`) puts back rows left ``sending`` by a dead worker *before* that point (nothing went out: sent
  later, not lost); a row that died *during* the call is failed and flagged, never sent again (no duplicate).
* Redis only carries the nudge (:mod:`.dispatch`): a claimed batch whose task the broker lost is swept back after
  ``JOURNEY["SEND_STALE_AFTER_SECONDS"]``.
"""

from ...exceptions import NotEligible
from ..models import Message, Suppression
from . import channels
from .channels.email import from_email, unsubscribe_token
from .claim import claim_due
from .dispatch import send_due, send_soon
from .kinds import MessageKind, add_loader, get_kind, priority_of, register_kind
from .links import absolute_url, describe, site_url
from .schedule import NewMessage, cancel, cancel_pending_for_email, schedule, schedule_many
from .send import SendReport, render, send_claimed, send_now
from .sweeper import note_redelivery, requeue_stale

__all__ = [
    "Message", "MessageKind", "NewMessage", "NotEligible", "SendReport", "Suppression", "absolute_url", "add_loader",
    "cancel", "cancel_pending_for_email", "channels", "claim_due", "describe", "from_email", "get_kind",
    "note_redelivery", "priority_of", "register_kind", "render", "requeue_stale", "schedule", "schedule_many",
    "send_claimed", "send_due", "send_now", "send_soon", "site_url", "unsubscribe_token",
]
