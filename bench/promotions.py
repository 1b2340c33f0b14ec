"""Campaign discounts: bulk code generation and the campaign link's cost.

Targets (issue 5): 100,000 unique codes generated (Oscar vouchers + their offer links inserted) in <= 10 s on
PostgreSQL; a campaign landing (apply the discount + record + redirect) p50 <= 1.2 x a plain basket page view of the
same 3-line basket.

Runs on the database DATABASE_URL names, with the demo catalogue loaded (``load_demo``; journey_demo_full for the
lead's figures).  When that database has not been migrated to journey's promotions tables yet, the bench creates
them for the run and drops them afterwards.  Everything it adds is removed at the end: its campaign (and with it the
100,000 vouchers, and the shared all-products range if it made it), its baskets, landing events, visitor touches,
sessions, and the analytics counters its requests bumped.
"""

import argparse
import os
import sys
import time

CODES = 100_000
CODES_TARGET_S = 10.0
REQUESTS = 200
RATIO = 1.2


def promotion_models():
    from journey.promotions.campaigns.models import Campaign, CampaignTouch, CodeBatch

    return [Campaign, CodeBatch, CampaignTouch]


def ensure_tables():
    """Create the promotions tables when missing; return the models created (to drop afterwards)."""
    from django.db import connection

    existing = set(connection.introspection.table_names())
    missing = [m for m in promotion_models() if m._meta.db_table not in existing]
    with connection.schema_editor() as editor:
        for model in missing:
            editor.create_model(model)
    return missing


def drop_tables(models):
    from django.db import connection

    with connection.schema_editor() as editor:
        for model in reversed(models):
            editor.delete_model(model)


def bench_codes(campaign, count):
    from journey.promotions.campaigns.batches import batch_codes, generate_codes
    from journey.promotions.campaigns.codes import code_is_well_formed

    started = time.perf_counter()
    batch = generate_codes(campaign, count, prefix="BENCH")
    seconds = time.perf_counter() - started
    codes = [code for code, _used in batch_codes(batch)]
    assert len(codes) == len(set(codes)) == count, "codes not unique"
    assert all(code_is_well_formed(c) for c in codes), "malformed code"
    return seconds


def bench_landing(campaign, requests):
    from django.conf import settings
    from django.test import Client
    from oscar.core.loading import get_model

    from bench.common import BROWSER_USER_AGENT
    from bench.storefront import basket_id, restore_counters, snapshot_counters
    from journey.core.models import JourneyEvent
    from journey.promotions.campaigns.models import CampaignTouch

    Product = get_model("catalogue", "Product")
    Basket = get_model("basket", "Basket")
    products = list(Product.objects.filter(is_public=True, stockrecords__num_in_stock__gt=0).order_by("id")[:3])
    if len(products) < 3:
        sys.exit("bench needs the demo catalogue: run `python manage.py load_demo` first")
    snapshot = snapshot_counters(products)
    client = Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
    # The bench times a landing's full work: one client past the link's rate limit would get the cheap redirect.
    settings.JOURNEY = {**settings.JOURNEY, "CAMPAIGN_LINK_RATE_LIMIT": (10**6, 600)}
    link = f"{campaign.get_absolute_url()}?utm_source=facebook&utm_medium=paid_social&utm_campaign=bench" \
           f"&fbclid=bench&next=/basket/"
    samples = {"basket page": [], "campaign landing": []}
    try:
        for product in products:
            assert client.post(f"/basket/add/{product.pk}/", {"quantity": 1}).status_code == 302
        for _i in range(5):  # warm both
            assert client.get("/basket/").status_code == 200
            assert client.get(link).status_code == 302
        for i in range(requests * 2):  # interleaved, so machine noise hits both alike
            page, url, status = (("basket page", "/basket/", 200) if i % 2 else
                                 ("campaign landing", link, 302))
            started = time.perf_counter()
            response = client.get(url)
            samples[page].append(time.perf_counter() - started)
            assert response.status_code == status, (url, response.status_code)
        basket = Basket.objects.get(pk=basket_id(client))
        assert basket.contains_voucher(campaign.voucher.code), "the landing did not put the voucher in the basket"
    finally:
        Basket.objects.filter(pk=basket_id(client)).delete()
        JourneyEvent.objects.filter(tool="campaigns", ref=str(campaign.pk)).delete()
        CampaignTouch.objects.filter(last_campaign=campaign).delete()
        if client.session.session_key:
            client.session.delete()
        restore_counters(products, snapshot)
    return samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--codes", type=int, default=CODES)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    from bench.common import smoke

    if smoke():  # bench/run.py --smoke: runs end to end, says nothing about speed
        args.codes, args.requests = 200, 5

    from bench.common import machine_load, p50, table, verdict

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("bench/promotions.py needs PostgreSQL: set DATABASE_URL (e.g. to journey_demo_full)")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    from journey.core.vouchers import RANGE_NAME
    from journey.promotions.campaigns.lifecycle import create_campaign, delete_campaign

    setup_test_environment()  # the test client, and ALLOWED_HOSTS for it
    from oscar.core.loading import get_model

    Range = get_model("offer", "Range")
    load = machine_load()
    had_range = Range.objects.filter(name=RANGE_NAME).exists()
    created = ensure_tables()
    campaign = None
    try:
        campaign = create_campaign(name=f"bench campaign {os.getpid()}", slug=f"bench-{os.getpid()}",
                                   kind="percentage", value=10, channel="facebook")
        codes_s = bench_codes(campaign, args.codes)
        samples = bench_landing(campaign, args.requests)
    finally:
        if campaign is not None:
            delete_campaign(campaign)
        if not had_range:  # the shared all-products range journey made for the campaign
            Range.objects.filter(name=RANGE_NAME, condition__isnull=True,
                                 benefit__isnull=True).delete()
        if created:
            drop_tables(created)
    basket, landing = p50(samples["basket page"]), p50(samples["campaign landing"])
    rows = [
        [f"generate {args.codes:,} unique codes", f"{codes_s:.2f} s", f"<= {CODES_TARGET_S:.0f} s",
         verdict(codes_s <= CODES_TARGET_S)],
        ["basket page p50 (3 lines)", f"{basket * 1000:.1f} ms", "", ""],
        ["campaign landing p50 (apply + redirect)", f"{landing * 1000:.1f} ms",
         f"<= {RATIO:.1f}x basket ({landing / basket:.2f}x)", verdict(landing <= RATIO * basket)],
    ]
    print(f"\nCampaign discounts (PostgreSQL, {args.requests} requests each, interleaved; {load} before, "
          f"{os.getloadavg()[0]:.1f} after)")
    print(table(["what", "measured", "target", ""], rows))


if __name__ == "__main__":
    main()
