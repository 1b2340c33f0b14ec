"""Recent journey activity for the demo, made by running journey's own code paths — never by writing report rows.

The order history of the data set ends yesterday (``loader.weeks_to_yesterday``), but journey's own numbers (landings,
the funnel, recovery mails, opens and clicks) only exist once shoppers use the shop.  :func:`seed_activity` plays
those shoppers with Django's test client against the real storefront, so journey's middleware, receivers and services
record everything as they would for real visitors:

* campaign links with UTM values on three channels (``/journey/c/<slug>/``), product pages, basket additions and guest
  checkouts through Oscar's real checkout (``journey.test.checkout``);
* demo customers coming back from the newsletter link, signing in and ordering again (repeat orders: Retain);
* guests who leave after giving their email at the checkout gateway: their basket activity is dated back (the
  *input* row the scan reads), then the real recovery scan and outbox send run; opens and clicks arrive through
  anymail's ``tracking`` signal with the normalised events anymail's webhooks send, and clicked links go through the
  restore view before the shopper checks out (recovered orders).

Run once: a second call finds the demo campaigns and adds nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.test import Client
from django.utils import timezone
from oscar.core.loading import get_model

USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
# (name, slug, channel, utm, percentage off)
CAMPAIGNS = (
    ("Demo: spring newsletter", "demo-newsletter", "email",
     {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"}, 10),
    ("Demo: Facebook ad", "demo-facebook", "facebook",
     {"utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "fresh-produce"}, 5),
    ("Demo: Google ad", "demo-google", "google",
     {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "groceries"}, 5),
)
# What each landing visitor does, in turn: order as a guest, leave after giving an email (abandoned), or browse only.
OUTCOMES = ("order", "abandon", "abandon", "browse", "order", "abandon")


@dataclass
class ActivityReport:
    created: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    seconds: float = 0.0

    def add(self, what, n=1):
        self.created[what] = self.created.get(what, 0) + n


def _visitor(n):
    client = Client(HTTP_USER_AGENT=USER_AGENT, REMOTE_ADDR=f"198.51.100.{n % 250 + 1}")
    client.post("/journey/consent/", {"action": "accept", "next": "/"})
    return client


def _products(limit):
    Product = get_model("catalogue", "Product")
    return list(
        Product.objects.browsable()
        .filter(is_public=True, stockrecords__num_in_stock__gt=0)
        .order_by("pk")
        .distinct()[:limit]
    )


def _campaigns():
    from journey.promotions.models import Campaign
    from journey.promotions.services import create_campaign

    campaigns = []
    for name, slug, channel, utm, percent in CAMPAIGNS:
        campaign = Campaign.objects.filter(slug=slug).first() or create_campaign(
            name=name, slug=slug, value=percent, channel=channel, utm=utm,
            starts_at=timezone.now() - timedelta(days=1),
        )
        campaigns.append(campaign)
    return campaigns


def seed_activity(*, visitors=24, returning=8, now=None) -> ActivityReport:
    """Play ``visitors`` campaign visitors and ``returning`` signed-in customers through the shop; see the module."""
    from journey.core import outbox
    from journey.promotions.models import Campaign
    from journey.recovery import services as recovery
    from journey.recovery.models import BasketActivity
    from journey.test.checkout import add_to_basket, guest_checkout, signed_in_checkout

    report = ActivityReport()
    started = time.monotonic()
    if Campaign.objects.filter(slug__in=[c[1] for c in CAMPAIGNS]).exists():
        report.skipped = True
        return report
    products = _products(60)
    if len(products) < 3:
        report.skipped = True
        return report
    campaigns = _campaigns()
    report.add("Campaign", len(campaigns))

    # Campaign visitors: land, look, add, and order, leave or browse.
    abandoned = []
    for n in range(visitors):
        campaign = campaigns[n % len(campaigns)]
        outcome = OUTCOMES[n % len(OUTCOMES)]
        client = _visitor(n)
        link = urlsplit(_share_url(campaign))
        client.get(f"{link.path}?{link.query}", follow=True)
        report.add("Landing")
        first, second = products[(3 * n) % len(products)], products[(3 * n + 1) % len(products)]
        client.get(first.get_absolute_url())
        client.get(second.get_absolute_url())
        if outcome == "browse":
            continue
        add_to_basket(client, first)
        add_to_basket(client, second, quantity=2)
        email = f"demo.guest{n}@example.com"
        if outcome == "order":
            guest_checkout(client, email=email)
            report.add("Order (guest)")
        else:
            client.post("/checkout/", {"username": email, "options": "anonymous"})
            abandoned.append((client, email))
            report.add("Basket abandoned")

    # Returning customers: the demo households sign in and order again.
    customers = list(
        get_user_model().objects.filter(Q(email__startswith="household") | Q(email__in=["alice@example.com"]))
        .filter(orders__isnull=False).distinct().order_by("pk")[:returning]
    )
    for n, customer in enumerate(customers):
        client = _visitor(200 + n)
        client.force_login(customer, backend="django.contrib.auth.backends.ModelBackend")
        link = urlsplit(_share_url(campaigns[0]))  # the newsletter brings them back
        client.get(f"{link.path}?{link.query}", follow=True)
        report.add("Landing")
        product = products[(7 * n + 2) % len(products)]
        client.get(product.get_absolute_url())
        add_to_basket(client, product)
        signed_in_checkout(client)
        report.add("Order (returning customer)")

    # Recovery: the abandoned baskets went quiet two hours ago (their activity row is the scan's input), then the
    # real scan schedules the first reminder and the outbox sends it.
    now = now or timezone.now()
    emails = [email for _client, email in abandoned]
    BasketActivity.objects.filter(email__in=emails).update(
        last_activity_at=now - timedelta(hours=2), created_at=now - timedelta(hours=2)
    )
    recovery.scan(now)
    outbox.send_due(now=now)
    from journey.core.models import Message

    sent = {m.to_email: m for m in Message.objects.filter(to_email__in=emails, state=Message.State.SENT)}
    report.add("Recovery mail sent", len(sent))

    # Opens and clicks arrive as anymail tracking events; a click opens the restore link, and some shoppers order.
    for k, (client, email) in enumerate(abandoned):
        message = sent.get(email)
        if message is None:
            continue
        if k % 4 != 3:
            _track(message, "opened", now + timedelta(minutes=5 + k))
            report.add("Mail opened")
        if k % 2 == 0:
            _track(message, "clicked", now + timedelta(minutes=10 + k))
            report.add("Mail clicked")
            from journey.recovery.mail import restore_url

            restore = urlsplit(restore_url(message))
            client.get(restore.path, follow=True)
            guest_checkout(client, email=email)
            report.add("Order (recovered)")
    report.seconds = time.monotonic() - started
    return report


def _share_url(campaign):
    from journey.promotions.services import share_url

    return share_url(campaign, base="http://testserver")


def _track(message, event_type, when):
    """What anymail's webhook view does with an ESP's open/click payload: one normalised event on its signal."""
    from anymail.signals import AnymailTrackingEvent, tracking

    event = AnymailTrackingEvent(
        event_type=event_type,
        timestamp=when,
        message_id=message.esp_message_id or None,
        event_id=f"demo-{message.pk}-{event_type}",
        recipient=message.to_email,
        metadata={"journey_message_id": str(message.pk)},
        tags=[message.kind],
        click_url="http://testserver/journey/r/" if event_type == "clicked" else None,
        user_agent=USER_AGENT,
        esp_event={
            # Postmark's open/click webhook payload shape (the fields anymail's Postmark webhook reads).
            "RecordType": "Open" if event_type == "opened" else "Click",
            "MessageID": message.esp_message_id or "",
            "Recipient": message.to_email,
            "Metadata": {"journey_message_id": str(message.pk)},
            "ReceivedAt": when.isoformat(),
        },
    )
    tracking.send(sender=object(), event=event, esp_name="Postmark")
