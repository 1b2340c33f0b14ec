"""Related products: the ``JOURNEY`` keys of this tool,
with their defaults (docs/settings.md).

Pure data: ``journey.conf`` reads it, before Django's apps are ready too."""

DEFAULTS = {
    # Only orders of the last N days train the lists (None: all of them).
    "RELATED_WINDOW_DAYS": 365,
    # Recency weighting: an order this many days older than the newest counts half (None: no decay; on the
    # Complete Journey data any half-life lowered the hit rate, see bench/related_quality.py).
    "RELATED_HALF_LIFE_DAYS": None,
    # A pair needs at least this many orders together to be listed (one odd order does not make a pair).
    "RELATED_MIN_SUPPORT": 2,
    # Length of each stored list.
    "RELATED_LIST_SIZE": 10,
    # Leave out products a signed-in customer already bought.
    "RELATED_EXCLUDE_PURCHASED": False,
    # Seconds a list's products (with their stock records) stay in the cache; 0 reads the database every time.
    "RELATED_CACHE_SECONDS": 300,
    # Hour (store time zone) of the nightly rebuild; the job runs once a day, at or after this hour.
    "RELATED_REBUILD_HOUR": 3,
    # A build still "building" after this many minutes was killed (its process died): the next rebuild deletes it.
    "RELATED_ABANDONED_AFTER_MINUTES": 360,
    # Fill the slots that order history cannot fill with similar products of the same category (title words, price)
    # before the category's best sellers; False: the category's best sellers only.
    "RELATED_SIMILAR_PRODUCTS": True,
}
