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
  restore view before the shopper checks out (recovered orders);
* the Retain programs (birthday, post-purchase, win-back), switched on by saving their program rows as the admin
  would: birthdays given through the profile service, the real birthday run and win-back selection, post-purchase
  mails scheduled by the order service the ``order_placed`` receiver calls, all sent by the outbox; opens and clicks
  as above, and a few customers redeeming their voucher in Oscar's checkout;
* related-product clicks: visitors open product pages and click a product of the "bought together" list, through
  the beacon view the list's script posts to (``/journey/related/click/``).

Run once: a second call finds the demo campaigns and adds nothing.
"""

from __future__ import annotations

import re
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
# Retain: how many demo customers get a birthday in the last days, and at most how many recent orders of the data
# set's history get their post-purchase mail (as if the program had been on when they were placed).
BIRTHDAYS = 6
BIRTHDAY_DAYS_BACK = 5
POST_PURCHASE_ORDERS = 10
# Per Retain tool: how many customers who clicked their mail come back and use their voucher.
REDEMPTIONS = 2
RELATED_CLICKS = 8


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
    from journey.models import Campaign
    from journey.promotions.api import create_campaign

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
    from journey.models import Campaign
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
    _switch_on_programs()

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

    seed_retain(report, products, now=now)
    seed_related_clicks(report, products)
    report.seconds = time.monotonic() - started
    return report


def _share_url(campaign):
    from journey.promotions.api import share_url

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


# Retain ------------------------------------------------------------------------------------------------------------
def _retain_installed():
    """The Retain programs are journey's loyalty package: a shop without it (JOURNEY["TOOLS"]) gets no Retain demo."""
    from journey.conf import tool_installed

    return tool_installed("journey.loyalty")


def _switch_on_programs():
    """What the admin does on each program's page: tick "active" and save the program's one row."""
    if not _retain_installed():
        return
    from journey.loyalty.birthdays.models import BirthdayProgram
    from journey.loyalty.followups.models import PostPurchaseProgram, WinbackProgram

    for program_model in (BirthdayProgram, PostPurchaseProgram, WinbackProgram):
        program = program_model.load()
        if not program.is_active:
            program.is_active = True
            program.save()


def _households(exclude=()):
    User = get_user_model()
    return (
        User.objects.filter(email__startswith="household", is_active=True, orders__isnull=False)
        .exclude(pk__in=list(exclude)).distinct().order_by("pk")
    )


def seed_retain(report, products, *, now):
    """Birthday, post-purchase and win-back mails through their own services and the outbox, opens and clicks,
    and a few redemptions in Oscar's checkout.  Nothing without journey's loyalty package."""
    if not _retain_installed():
        return
    from journey.core import outbox
    from journey.core.models import Message
    from journey.loyalty.birthdays import services as birthdays
    from journey.loyalty.followups import services as followups
    from journey.loyalty.orders import live_orders
    from journey.loyalty.profiles import services as profiles

    # Birthdays: a few customers gave their birthday (and marketing consent) long ago, through the profile
    # service; their birthdays fall on the last days.  The birthday run is the job's service with ``now=``: the
    # first run handles the earliest day, the second catches up to today (BIRTHDAY_CATCH_UP_DAYS).
    store_today = now.astimezone(birthdays.store_tz()).date()
    entered = now - timedelta(days=120)
    for n, customer in enumerate(_households()[:BIRTHDAYS]):
        day = store_today - timedelta(days=n % (BIRTHDAY_DAYS_BACK + 1))
        profiles.update_profile(
            customer, birthday=(day.month, 28 if (day.month, day.day) == (2, 29) else day.day, 1980 + n),
            consent=profiles.Consent.GRANTED, wording="Demo: birthday and offers by email", source="demo import",
            birthday_entered_at=entered, consent_at=entered, now=now,
        )
        report.add("Birthday given")
    birthdays.run(now=now - timedelta(days=BIRTHDAY_DAYS_BACK))
    birthdays.run(now=now)

    # Post-purchase: the live orders above scheduled theirs on commit (due a day later, sent by the running shop's
    # worker); the data set's latest orders get theirs through the same service, as if the program had been on.
    recent = (
        live_orders().filter(number__startswith="CJ", date_placed__lt=now - timedelta(days=1),
                             date_placed__gte=now - timedelta(days=4))
        .order_by("-date_placed").values_list("pk", flat=True)[:POST_PURCHASE_ORDERS]
    )
    for order_id in recent:
        followups.on_order_placed(order_id)

    # Win-back: the daily selection of lapsed customers.
    followups.schedule_winback(now=now)

    outbox.send_due(now=now)
    for tool in ("birthday", "post_purchase", "winback"):
        sent = list(Message.objects.filter(tool=tool, state=Message.State.SENT).order_by("pk"))
        report.add(f"Mail sent ({tool})", len(sent))
        clicked = []
        for k, message in enumerate(sent):
            if k % 3 != 2:
                _track(message, "opened", now + timedelta(minutes=5 + k))
                report.add("Mail opened")
            if k % 3 == 0:
                _track(message, "clicked", now + timedelta(minutes=10 + k))
                report.add("Mail clicked")
                clicked.append(message)
        redeemed = 0
        for message in clicked:
            if redeemed >= REDEMPTIONS or message.user_id is None:
                continue
            if _redeem(message, products[(5 * message.pk) % len(products)]):
                redeemed += 1
                report.add(f"Order with voucher ({tool})")


def _redeem(message, product) -> bool:
    """The customer follows the mail's link to the shop, signs in, and orders with the mail's voucher."""
    from django.urls import reverse

    from journey.core.models import PersonalVoucher
    from journey.test.checkout import add_to_basket, signed_in_checkout

    binding = (
        PersonalVoucher.objects.filter(purpose=message.tool, user_id=message.user_id, voucher__isnull=False)
        .select_related("voucher", "user").order_by("-pk").first()
    )
    if binding is None or not binding.user.is_active:
        return False
    client = _visitor(300 + message.pk)
    client.force_login(binding.user, backend="django.contrib.auth.backends.ModelBackend")
    client.get("/?utm_source=journey&utm_medium=email&utm_campaign=" + message.tool, follow=True)
    client.get(product.get_absolute_url())
    add_to_basket(client, product)
    client.post(reverse("basket:vouchers-add"), {"code": binding.voucher.code})
    order = signed_in_checkout(client)
    return bool(order and binding.voucher.applications.filter(order=order).exists())


# Related products ----------------------------------------------------------------------------------------------------
_LIST = re.compile(r'<section[^>]*data-journey-list="(\d+)"(?:[^>]*data-journey-anchor="(\d+)")?[^>]*'
                   r'data-journey-click-url="([^"]+)"')
_ITEM = re.compile(r'data-journey-product="(\d+)" data-journey-position="(\d+)" data-journey-source="(\d*)"')


def seed_related_clicks(report, products):
    """Visitors open product pages and click a "bought together" product: the list's script posts the click to the
    beacon view, then the browser opens the clicked product.  The lists are built first if none is live."""
    from journey.related import api, services

    if not api.live_build_id():
        services.rebuild()
        api.forget_live_build()
    Product = get_model("catalogue", "Product")
    clicks = 0
    for n, anchor in enumerate(products):
        if clicks >= RELATED_CLICKS:
            break
        client = _visitor(100 + n)
        page = client.get(anchor.get_absolute_url()).content.decode()
        found, items = _LIST.search(page), _ITEM.findall(page)
        if not found or not items:
            continue
        kind, anchor_id, url = found.groups()
        product_id, position, source = items[n % len(items)]
        response = client.post(url, {"kind": kind, "anchor": anchor_id or "", "product": product_id,
                                     "position": position, "source": source})
        if response.status_code != 204:
            continue
        clicks += 1
        clicked = Product.objects.filter(pk=product_id).first()
        if clicked is not None:
            client.get(clicked.get_absolute_url())
    report.add("Related-product click", clicks)
