"""Models every tool shares: the outbox, suppression list, link tokens, ESP tracking events, personal vouchers."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oscar.core.loading import get_class

ValueCondition = get_class("offer.conditions", "ValueCondition")


class Suppression(models.Model):
    """A person (by email) journey must not send marketing messages to: on one channel, or on all of them.

    A bounced or invalid address suppresses email only; a shopper who dismissed on-site messages "for good"
    suppresses the on-site channel only; an unsubscribe, a spam complaint or staff suppress every channel
    (``channel`` blank).  See docs/mail.md, "Channels"."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        HARD_BOUNCE = "bounced", _("Hard bounce")
        COMPLAINT = "complained", _("Spam complaint")
        INVALID = "invalid", _("Invalid address")
        MANUAL = "manual", _("Added by staff")
        DISMISSED = "dismissed", _("Dismissed on-site messages")

    email = models.EmailField(_("email"))  # stored lower-case
    #: "" = every channel; else the one channel suppressed (see journey.core.suppression.CHANNEL_OF_REASON).
    channel = models.CharField(_("channel"), max_length=16, blank=True, default="")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)
    message = models.ForeignKey("journey.Message", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("caused by message"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["email", "channel"], name="journey_suppression_once")]

    def __str__(self):
        return f"{self.email} ({self.get_reason_display()})"


class LinkToken(models.Model):
    """An opaque link token (restore, unsubscribe…): only its SHA-256 digest is stored."""

    purpose = models.CharField(max_length=32)
    digest = models.CharField(max_length=64, unique=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    use_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link token")
        verbose_name_plural = _("link tokens")

    def __str__(self):
        return f"{self.purpose}:{self.object_id}"


class Message(models.Model):
    """One message journey sends (or will send) on a channel: the outbox row is the record of what must happen."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Suppressed")
        # Closed unsent by a send gate (journey.core.outbox.gates): the person is in the tool's control group, or
        # the cross-tool frequency cap dropped the message.
        HELD_OUT = "held_out", _("Held out (control group)")
        CAPPED = "capped", _("Held back by the frequency cap")

    tool = models.CharField(_("tool"), max_length=32)  # indexed with sent_at (journey_msg_tool_sent)
    kind = models.CharField(_("kind"), max_length=64)
    # What the message is about ("recovery:basket:12:cycle:1"); with `step` it is unique: one mail per subject and step.
    subject_key = models.CharField(_("about"), max_length=128)
    step = models.PositiveSmallIntegerField(_("step"), default=0)
    # The person's email: suppression, numbers and tracking key on it, whatever the channel.
    to_email = models.EmailField(_("to"))
    # How the message reaches the person (journey.core.outbox.channels) and what that channel delivers to: the
    # email address for email; "user:<id>" or "basket:<id>" for an on-site message.
    channel = models.CharField(_("channel"), max_length=16, default="email")
    address = models.CharField(_("address"), max_length=254, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    language = models.CharField(_("language"), max_length=12, blank=True)
    marketing = models.BooleanField(_("marketing"), default=True)
    context = models.JSONField(default=dict, blank=True)

    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.SCHEDULED)
    due_at = models.DateTimeField(_("due at"))
    claimed_at = models.DateTimeField(null=True, blank=True)
    esp_call_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cancelled / failed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    close_reason = models.CharField(_("why not sent"), max_length=200, blank=True)
    # Frequency cap (journey.core.outbox.cap): when the cap last gave this message a slot (a mark concurrent
    # senders count while it is being sent), and since when it has been waiting for room (its maximum wait).
    cap_slot_at = models.DateTimeField(_("frequency cap: slot taken at"), null=True, blank=True)
    cap_waiting_since = models.DateTimeField(_("frequency cap: waiting since"), null=True, blank=True)

    esp_name = models.CharField(_("ESP"), max_length=32, blank=True)
    esp_message_id = models.CharField(_("ESP message id"), max_length=200, blank=True)
    esp_status = models.CharField(_("ESP status"), max_length=16, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("bounced at"), null=True, blank=True)
    complained_at = models.DateTimeField(_("complained at"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    # On-site messages: when the shopper closed it (it is not shown again).  Shown / clicked use opened_at /
    # clicked_at, as a mail's open and click do.
    dismissed_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)

    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body_text = models.TextField(_("text body"), blank=True)
    body_html = models.TextField(_("HTML body"), blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [models.UniqueConstraint(fields=["subject_key", "step"], name="journey_message_once_per_step")]
        indexes = [
            models.Index(fields=["state", "due_at"], name="journey_msg_state_due"),
            models.Index(fields=["state", "claimed_at"], name="journey_msg_state_claimed"),
            models.Index(fields=["tool", "sent_at"], name="journey_msg_tool_sent"),
            # Exact lookups from ESP webhooks only (a plain index: no LIKE index beside it).
            models.Index(fields=["esp_message_id"], name="journey_msg_esp_id"),
            # The storefront's one query for a visitor's on-site message: only live on-site rows are in it.
            models.Index(fields=["address", "sent_at"], name="journey_msg_onsite_live",
                         condition=models.Q(channel="onsite", state="sent", dismissed_at__isnull=True)),
            # A person's marketing messages: the frequency cap's count, cancelling what is due to an address.
            models.Index(fields=["to_email", "due_at"], name="journey_msg_marketing_to",
                         condition=models.Q(marketing=True)),
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} #{self.step} to {self.address or self.to_email} ({self.state})"


class TrackingEvent(models.Model):
    """An ESP tracking event applied to a message, kept so each event is applied once."""

    event_id = models.CharField(max_length=200, unique=True)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="tracking_events")
    event_type = models.CharField(max_length=20)
    recipient = models.EmailField(blank=True)
    timestamp = models.DateTimeField()
    esp_name = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["timestamp"]

    def __str__(self):
        return f"{self.event_type} {self.recipient}"


class JourneyEvent(models.Model):
    """A first-party journey event (see :mod:`journey.core.events` for the kinds and how to record one)."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    kind = models.CharField(_("event"), max_length=20)
    phase = models.CharField(_("journey phase"), max_length=16, blank=True)
    tool = models.CharField(_("tool"), max_length=32, blank=True)
    # First-party visitor id when consent allows it, else the session key (session-scoped).
    visitor_id = models.CharField(_("visitor"), max_length=64, blank=True)
    device = models.CharField(_("device"), max_length=8, blank=True)  # mobile, tablet, desktop, bot
    # Where the visit came from (UTM parameters, else classified from the referrer): for funnel breakdowns.
    source = models.CharField(_("source"), max_length=100, blank=True)
    medium = models.CharField(_("medium"), max_length=100, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    # Plain ids, no foreign keys: events outlive (and never block deleting) what they mention; erasure is explicit.
    user_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    product_id = models.BigIntegerField(_("product id"), null=True, blank=True)
    basket_id = models.BigIntegerField(_("basket id"), null=True, blank=True)
    order_id = models.BigIntegerField(_("order id"), null=True, blank=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, null=True, blank=True)
    # What the event is about in its tool: campaign id, message id, voucher code…
    ref = models.CharField(_("reference"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("journey event")
        verbose_name_plural = _("journey events")
        indexes = [
            models.Index(fields=["created_at", "kind"], name="journey_event_when_kind"),
            models.Index(fields=["visitor_id", "created_at"], name="journey_event_visitor"),
            models.Index(fields=["user_id", "created_at"], name="journey_event_user"),
            # Orders are few among events: a small partial index for attribution and erasure by order.
            models.Index(fields=["order_id"], name="journey_event_order", condition=models.Q(order_id__isnull=False)),
        ]

    def __str__(self):
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class PersonalVoucher(models.Model):
    """Binds an Oscar voucher to one customer: journey enforces it wherever Oscar applies the voucher's offer."""

    key = models.CharField(max_length=128, unique=True)  # idempotency: one voucher per (purpose, customer, period)
    purpose = models.CharField(_("purpose"), max_length=32, db_index=True)
    voucher = models.OneToOneField("voucher.Voucher", null=True, on_delete=models.CASCADE,
                                   related_name="journey_binding")
    email = models.EmailField(_("email"), blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")
    basket_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("personal voucher")
        verbose_name_plural = _("personal vouchers")

    def __str__(self):
        return f"{self.voucher.code if self.voucher else '…'} for {self.email or self.user_id}"

    def allows_order(self, order):
        """Whether ``order`` (being placed) is this voucher's customer's: checked again at order placement."""
        if order.user_id:
            if self.user_id:
                return order.user_id == self.user_id
            return bool(self.email) and (order.user.email or "").lower() == self.email.lower()
        if self.user_id:
            return False
        if self.basket_id is not None and order.basket_id == self.basket_id:
            return True
        return bool(self.email) and (order.guest_email or "").lower() == self.email.lower()

    def allows(self, basket):
        """Whether ``basket`` belongs to the customer this voucher was issued to."""
        if basket.owner_id:
            if self.user_id:
                return basket.owner_id == self.user_id
            return bool(self.email) and (basket.owner.email or "").lower() == self.email.lower()
        return self.basket_id is not None and basket.id == self.basket_id


class PersonalValueCondition(ValueCondition):
    """Oscar's value condition ("basket worth at least X"), satisfied only by the voucher's own customer."""

    class Meta:
        proxy = True
        app_label = "journey"
        verbose_name = _("Personal value condition")

    @property
    def name(self):
        return _("Personal voucher: %(name)s") % {"name": super().name}

    @property
    def description(self):
        return self.name

    def is_satisfied(self, offer, basket):
        voucher = offer.get_voucher() if hasattr(offer, "get_voucher") else None
        if voucher is None:
            return False
        binding = getattr(voucher, "_journey_binding_cache", None)
        if binding is None:
            binding = PersonalVoucher.objects.filter(voucher_id=voucher.pk).select_related(None).first()
            voucher._journey_binding_cache = binding or False
        if not binding or not binding.allows(basket):
            return False
        return super().is_satisfied(offer, basket)


class VoucherRedemption(models.Model):
    """One row per redeemed single-use voucher, written inside the order's transaction.

    The unique voucher column is what makes a single-use voucher single-use under concurrency: of several
    checkouts placing orders with the same code at once, one INSERT wins and the others fail (Oscar's own check
    reads ``VoucherApplication`` rows, which have no such constraint: django-oscar #4580).
    """

    voucher = models.OneToOneField("voucher.Voucher", on_delete=models.CASCADE, related_name="journey_redemption",
                                   verbose_name=_("voucher"))
    order = models.ForeignKey("order.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    created_at = models.DateTimeField(_("redeemed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("voucher redemption")
        verbose_name_plural = _("voucher redemptions")

    def __str__(self):
        return f"{self.voucher_id} in order {self.order_id}"


class JobState(models.Model):
    """When a periodic job last ran, and who holds it now (see journey.core.jobs)."""

    key = models.CharField(_("job"), max_length=64, unique=True)
    next_run_at = models.DateTimeField(_("next run at"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_started_at = models.DateTimeField(_("last started"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("last finished"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_duration = models.FloatField(_("last duration (s)"), null=True, blank=True)
    last_summary = models.CharField(_("last result"), max_length=500, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")
    runs = models.PositiveIntegerField(_("successful runs"), default=0)
    failures = models.PositiveIntegerField(_("failed runs"), default=0)

    class Meta:
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")
        ordering = ["key"]

    def __str__(self):
        return self.key
