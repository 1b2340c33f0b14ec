from oscar.apps.basket.middleware import BasketMiddleware


class ShopBasketMiddleware(BasketMiddleware):
    """What a shop with a forked basket app has in MIDDLEWARE."""
