"""Drive Oscar's real checkout with the test client (for tests of what journey records along the way)."""

from decimal import Decimal

from django.urls import reverse
from oscar.core.loading import get_model

Country = get_model("address", "Country")


def shipping_country():
    country, _created = Country.objects.get_or_create(
        iso_3166_1_a2="US", defaults={"name": "United States", "printable_name": "United States",
                                      "is_shipping_country": True, "iso_3166_1_a3": "USA", "iso_3166_1_numeric": "840"})
    if not country.is_shipping_country:
        country.is_shipping_country = True
        country.save()
    return country


def add_to_basket(client, product, quantity=1):
    response = client.post(reverse("basket:add", args=[product.pk]), {"quantity": quantity})
    assert response.status_code == 302, response.status_code
    return response


def guest_checkout(client, email="guest@example.com"):
    """From a filled basket to the thank-you page as a guest; returns the placed order."""
    response = client.post(reverse("checkout:index"), {"username": email, "options": "anonymous"})
    assert response.status_code == 302, response.content[:500]
    return _place_order(client)


def signed_in_checkout(client):
    """From a filled basket to the thank-you page as the signed-in customer; returns the placed order."""
    response = client.get(reverse("checkout:index"))
    assert response.status_code == 302, response.content[:500]
    return _place_order(client)


def _place_order(client):
    """Shipping address, method, payment, preview and "place order", as Oscar's pages take them."""
    Order = get_model("order", "Order")
    country = shipping_country()
    response = client.post(reverse("checkout:shipping-address"), {
        "first_name": "Ana", "last_name": "García", "line1": "1 Main St", "line4": "Springfield",
        "state": "IL", "postcode": "62701", "country": country.pk, "phone_number": "",
    })
    assert response.status_code == 302, response.content[:2000]
    client.get(reverse("checkout:shipping-method"))
    client.get(reverse("checkout:payment-method"))
    response = client.post(reverse("checkout:preview"), {"action": "place_order"})
    assert response.status_code == 302, response.content[:2000]
    assert response["Location"].endswith(reverse("checkout:thank-you")), response["Location"]
    return Order.objects.order_by("-pk").first()


def money(value):
    return Decimal(value).quantize(Decimal("0.01"))
