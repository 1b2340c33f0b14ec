"""Due mails of every kind, for the mail benchmarks (``bench.outbox_throughput``): each builder makes ``n`` outbox
messages of its kind that will really be rendered and sent (the send-time checks pass), the way its tool schedules
them, and returns their ids.  The messages are left *not due* (a day ahead): the bench makes a group due when it
measures it.

To add a kind to the bench, write ``build_<kind>(n, now, catalogue)`` (here or in a module of its own) and add one
line to :data:`KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

PRODUCTS = 300


@dataclass(frozen=True)
class KindBench:
    label: str  # the row of the table
    kind: str  # the outbox kind key (Message.kind)
    build: str  # dotted path of build(n, now, catalogue) -> [message id]


#: The kinds the mail bench runs, one line each (a future kind: one more line).
KINDS = [
    KindBench("recovery", "recovery.step", "bench.mail_kinds.build_recovery"),
    KindBench("birthday", "loyalty.birthday", "bench.mail_kinds.build_birthday"),
    KindBench("post-purchase", "post_purchase", "bench.mail_kinds.build_post_purchase"),
    KindBench("win-back", "winback", "bench.mail_kinds.build_winback"),
]


@dataclass
class Catalogue:
    partner: object
    products: list
    records: list


def catalogue() -> Catalogue:
    """300 products with stock records and a live related-products build (six 'bought together' each)."""
    from oscar.core.loading import get_model

    from journey.related.models import ListKind, RelatedBuild, RelatedProduct, Source

    ProductClass = get_model("catalogue", "ProductClass")
    Product = get_model("catalogue", "Product")
    Partner = get_model("partner", "Partner")
    StockRecord = get_model("partner", "StockRecord")

    product_class = ProductClass.objects.create(name="Bench", slug="bench", track_stock=True)
    partner = Partner.objects.create(name="Bench partner", code="bench")
    products = Product.objects.bulk_create(
        Product(product_class=product_class, title=f"Bench product {i}", slug=f"bench-product-{i}")
        for i in range(PRODUCTS)
    )
    records = StockRecord.objects.bulk_create(
        StockRecord(product=p, partner=partner, partner_sku=f"BENCH-{p.pk}", price=Decimal(f"{1 + i % 9}.99"),
                    price_currency="USD", num_in_stock=1000)
        for i, p in enumerate(products)
    )
    build = RelatedBuild.objects.create(status=RelatedBuild.Status.LIVE)
    RelatedProduct.objects.bulk_create(
        RelatedProduct(build=build, product=p, related=products[(i + k) % PRODUCTS], kind=ListKind.BOUGHT_TOGETHER,
                       rank=k, score=1.0 / k, source=Source.COMPUTED)
        for i, p in enumerate(products) for k in range(1, 7)
    )
    return Catalogue(partner=partner, products=products, records=records)


def park(ids, now):
    """Leave the messages scheduled but not due (a day ahead)."""
    from journey.core.models import Message

    Message.objects.filter(id__in=ids).update(due_at=now + timedelta(days=1))
    return list(ids)


def customers(prefix, n, **fields):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return User.objects.bulk_create([
        User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.com", first_name=f"{prefix.title()} {i}",
             password="!", **fields)  # noqa: S106 - an unusable password
        for i in range(n)
    ], batch_size=5000)


def orders_for(users, cat: Catalogue, placed, prefix):
    """One order per user (1-3 lines of the catalogue), placed at ``placed``."""
    from oscar.core.loading import get_model

    Order = get_model("order", "Order")
    Line = get_model("order", "Line")
    orders = Order.objects.bulk_create([
        Order(number=f"{prefix}{100000 + i}", currency="USD", total_incl_tax=Decimal("42.00"),
              total_excl_tax=Decimal("42.00"), shipping_incl_tax=Decimal("0"), shipping_excl_tax=Decimal("0"),
              shipping_method="Free", shipping_code="free", status="Pending", user=user, date_placed=placed)
        for i, user in enumerate(users)
    ], batch_size=5000)
    lines = []
    for j, order in enumerate(orders):
        for k in range(1 + j % 3):
            product = cat.products[(j * 7 + k * 31) % len(cat.products)]
            lines.append(Line(order=order, partner=cat.partner, partner_name="Bench partner", product=product,
                              partner_sku=f"BENCH-{product.pk}", title=product.title, quantity=1,
                              line_price_incl_tax=Decimal("14.00"), line_price_excl_tax=Decimal("14.00"),
                              line_price_before_discounts_incl_tax=Decimal("14.00"),
                              line_price_before_discounts_excl_tax=Decimal("14.00"), status="Pending",
                              num_allocated=0))
    Line.objects.bulk_create(lines, batch_size=5000)
    return orders


# The kinds ---------------------------------------------------------------------------------------------------------
def build_recovery(n, now, cat: Catalogue):
    """Guest baskets (1-4 lines) in their recovery sequence, each with its step's mail (as the scan schedules it)."""
    from oscar.core.loading import get_model

    from journey.core.models import Message
    from journey.recovery.models import BasketActivity, RecoveryStep
    from journey.recovery.services import MAIL_KIND

    Basket = get_model("basket", "Basket")
    Line = get_model("basket", "Line")
    steps = list(RecoveryStep.objects.order_by("position"))
    baskets = Basket.objects.bulk_create([Basket(status=Basket.OPEN) for _ in range(n)], batch_size=2000)
    lines = []
    for j, basket in enumerate(baskets):
        for k in range(1 + j % 4):
            record = cat.records[(j * 7 + k * 31) % len(cat.records)]
            lines.append(Line(basket=basket, line_reference=f"{record.product_id}_{record.pk}",
                              product_id=record.product_id, stockrecord=record, quantity=1 + k % 2,
                              price_currency="USD", price_excl_tax=record.price, price_incl_tax=record.price))
    Line.objects.bulk_create(lines, batch_size=5000)
    anchor = now - timedelta(hours=2)
    activities = BasketActivity.objects.bulk_create([
        BasketActivity(basket=basket, email=f"shopper{basket.pk}@example.com",
                       email_source=BasketActivity.Source.CHECKOUT, email_captured_at=anchor,
                       last_activity_at=anchor, state=BasketActivity.State.IN_SEQUENCE, cycle=1,
                       sequence_anchor_at=anchor, sequence_started_at=now - timedelta(hours=1))
        for basket in baskets
    ], batch_size=5000)
    messages = []
    for j, activity in enumerate(activities):
        step = steps[j % len(steps)]
        messages.append(Message(
            tool="recovery", kind=MAIL_KIND, subject_key=f"recovery:basket:{activity.basket_id}:cycle:1",
            step=step.position, to_email=activity.email, due_at=now + timedelta(days=1), marketing=True,
            context={"activity_id": activity.pk, "cycle": 1, "step_id": step.pk, "anchor": anchor.isoformat()},
        ))
    return [m.pk for m in Message.objects.bulk_create(messages, batch_size=5000)]


def build_birthday(n, now, cat: Catalogue):
    """Opted-in customers whose birthday is today, rewarded by the birthday job's own day handler."""
    from journey.core.models import Message
    from journey.loyalty.birthdays import services as birthdays
    from journey.loyalty.birthdays.models import BirthdayProgram
    from journey.loyalty.profiles.models import CustomerProfile

    today = now.astimezone(birthdays.store_tz()).date()
    users = customers("birthday", n)
    CustomerProfile.objects.bulk_create([
        CustomerProfile(user=user, birth_month=today.month, birth_day=today.day, birth_year=1980 + i % 30,
                        marketing_consent=CustomerProfile.Consent.GRANTED, consent_changed_at=now - timedelta(days=400))
        for i, user in enumerate(users)
    ], batch_size=5000)
    program = BirthdayProgram.load()
    program.is_active = True
    program.save()
    birthdays.handle_day(program, today, now=now)
    ids = Message.objects.filter(kind=birthdays.KIND, user_id__in=[u.pk for u in users]).values_list("id", flat=True)
    return park(ids, now)


def build_post_purchase(n, now, cat: Catalogue):
    """Customers with one order each and their thank-you mail, scheduled as ``schedule_post_purchase`` does (in one
    INSERT here: the bench measures sending)."""
    from journey.core import outbox
    from journey.core.models import Message
    from journey.loyalty.followups import services as followups
    from journey.loyalty.followups.models import PostPurchaseProgram

    program = PostPurchaseProgram.load()
    program.is_active = True
    program.save()
    orders = orders_for(customers("buyer", n), cat, now - timedelta(hours=25), "P")
    outbox.schedule_many([outbox.NewMessage(
        kind=followups.POST_PURCHASE, subject_key=followups.post_purchase_key(order), step=0,
        to_email=order.user.email, due_at=now, user_id=order.user_id,
        context={"order_id": order.pk, "order_number": order.number},
    ) for order in orders], now=now)
    ids = Message.objects.filter(kind=followups.POST_PURCHASE, subject_key__in=[
        followups.post_purchase_key(o) for o in orders]).values_list("id", flat=True)
    return park(ids, now)


def build_winback(n, now, cat: Catalogue):
    """Customers whose only order is 100 days old, selected and scheduled by the win-back job itself."""
    from journey.core.models import Message
    from journey.loyalty.followups import services as followups
    from journey.loyalty.followups.models import WinbackProgram

    program = WinbackProgram.load()
    program.is_active = True
    program.after_days = 90
    program.include_guests = False
    program.save()
    users = customers("lapsed", n)
    orders_for(users, cat, now - timedelta(days=100), "W")
    followups.schedule_winback(now=now)
    ids = Message.objects.filter(kind=followups.WINBACK, user_id__in=[u.pk for u in users]).values_list("id",
                                                                                                         flat=True)
    return park(ids, now)
