"""One error module: every exception class journey defines lives in journey/exceptions.py under JourneyError."""

import importlib
import inspect
import pkgutil

import journey
from journey import exceptions
from journey.exceptions import JourneyError


def journey_modules():
    for info in pkgutil.walk_packages(journey.__path__, prefix="journey."):
        if ".migrations." in info.name or info.name.endswith(".migrations"):
            continue
        yield importlib.import_module(info.name)


def defined_exception_classes(module):
    for _, obj in inspect.getmembers(module, inspect.isclass):
        if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
            yield obj


def test_every_error_class_in_journey_is_defined_in_the_exceptions_module():
    elsewhere = [
        f"{cls.__module__}.{cls.__qualname__}"
        for module in journey_modules()
        if module is not exceptions
        for cls in defined_exception_classes(module)
    ]
    assert sorted(elsewhere) == []


def test_every_error_class_in_the_exceptions_module_is_a_journey_error():
    exceptions.VoucherNotRedeemable  # noqa: B018 - built on first use (it subclasses Oscar's UnableToPlaceOrder)
    classes = list(defined_exception_classes(exceptions))
    assert len(classes) > 10
    assert [cls.__name__ for cls in classes if not issubclass(cls, JourneyError)] == []


def test_a_voucher_an_order_cannot_use_is_an_oscar_unable_to_place_order():
    from oscar.core.loading import get_class

    from journey.exceptions import VoucherNotRedeemable

    assert issubclass(VoucherNotRedeemable, get_class("order.exceptions", "UnableToPlaceOrder"))
    assert issubclass(VoucherNotRedeemable, ValueError)
    assert (VoucherNotRedeemable.__module__, VoucherNotRedeemable.__qualname__) == ("journey.exceptions",
                                                                                   "VoucherNotRedeemable")
    assert VoucherNotRedeemable is exceptions.VoucherNotRedeemable
