"""The demo shop's catalogue browse (Oscar's home and category pages go through Haystack) and the search health."""

import pytest
from django.core.management import call_command
from haystack import connections
from oscar.core.loading import get_model
from oscar.test.factories import create_product

from journey.core.oscar_tools import search_health
from journey.registry import Status

Product = get_model("catalogue", "Product")
Category = get_model("catalogue", "Category")


@pytest.fixture
def search_engine():
    """Switch Haystack's default connection for one test (Haystack reads HAYSTACK_CONNECTIONS once, at import)."""
    saved = dict(connections.connections_info["default"])

    def use(**options):
        connections.connections_info["default"] = options
        connections.reload("default")

    yield use
    connections.connections_info["default"] = saved
    connections.reload("default")


def rebuild_index():
    call_command("rebuild_index", interactive=False, verbosity=0)


@pytest.mark.django_db
def test_search_health_needs_attention_with_the_simple_engine(search_engine):
    create_product(title="Honeycrisp apples")
    search_engine(ENGINE="haystack.backends.simple_backend.SimpleEngine")
    health = search_health()
    assert health.status == Status.WARNING
    assert "SimpleEngine" in str(health.message)


@pytest.mark.django_db
def test_search_health_needs_attention_when_the_index_is_empty():
    create_product(title="Honeycrisp apples")
    call_command("clear_index", interactive=False, verbosity=0)
    health = search_health()
    assert health.status == Status.WARNING
    assert "rebuild_index" in str(health.message)


@pytest.mark.django_db
def test_search_health_is_running_when_the_index_lists_products():
    create_product(title="Honeycrisp apples")
    create_product(title="Whole milk")
    rebuild_index()
    health = search_health()
    assert health.status == Status.OK
    assert "2" in str(health.message)


@pytest.mark.django_db
def test_search_health_says_when_the_search_backend_fails(search_engine, tmp_path):
    create_product(title="Honeycrisp apples")
    not_a_folder = tmp_path / "index"
    not_a_folder.write_text("not an index")
    search_engine(ENGINE="haystack.backends.whoosh_backend.WhooshEngine", PATH=str(not_a_folder))
    health = search_health()
    assert health.status == Status.ERROR
