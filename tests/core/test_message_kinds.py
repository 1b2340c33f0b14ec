"""A message kind builds its contexts per batch; the one-message path is derived from the batch path."""

import pytest

from journey.core.outbox import MessageKind, NotEligible
from journey.exceptions import JourneyError


class Row:
    def __init__(self, pk):
        self.pk = pk


def batch(messages):
    return {m.pk: NotEligible("gone") if m.pk == 2 else {"n": m.pk} for m in messages}


def test_a_kind_with_only_a_batch_builder_builds_one_message_through_it():
    kind = MessageKind(key="t.batch", tool="t", template="t/x", prepare_batch=batch)
    assert kind.context_for(Row(1)) == {"n": 1}
    with pytest.raises(NotEligible, match="gone"):
        kind.context_for(Row(2))


def test_a_kind_with_a_one_message_builder_uses_it():
    kind = MessageKind(key="t.one", tool="t", template="t/x", build_context=lambda m: {"one": m.pk},
                       prepare_batch=batch)
    assert kind.context_for(Row(3)) == {"one": 3}


def test_a_kind_that_cannot_build_any_context_is_refused_when_declared():
    with pytest.raises(JourneyError, match="t.none"):
        MessageKind(key="t.none", tool="t", template="t/x")
