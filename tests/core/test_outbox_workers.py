"""The outbox with real workers and real concurrency (issue 13: A3, A6, A9).

A3 and A6 run Celery workers against a private redis-server started by the test (the shared Redis is never stopped);
A9 runs two scans and two send runs at once against PostgreSQL (row locks are promised there only).
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest
from celery import Celery
from django.core import mail
from django.utils import timezone

from journey.core import outbox
from journey.core.models import Message
from journey.recovery import services
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.test.factories import basket_with, default_sequence, make_idle
from tests.celery_worker import ROOT, Worker, wait_for
from tests.core.test_outbox_resilience import mails_in, private_redis, worker_env  # noqa: F401 - fixtures
from tests.race import on_postgresql, run_at_once

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
State = Message.State
with_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                                reason="needs Redis (runs in the PostgreSQL + Redis set-up: set REDIS_URL)")


def left_baskets(emails, now):
    """One basket per address, its email given at checkout, idle past the abandon time (not scanned yet)."""
    for email in emails:
        basket = basket_with()
        services.capture_email(basket, email, BasketActivity.Source.CHECKOUT)
        make_idle(basket, 61, now)


def abandoned(emails, *, first_only=True):
    """One abandoned basket per address, scanned: their first recovery mails are due now."""
    default_sequence()
    now = timezone.now()
    left_baskets(emails, now)
    services.scan(now)
    if first_only:
        Message.objects.filter(step__gt=1).delete()
    return list(Message.objects.filter(to_email__in=emails, step=1).values_list("pk", flat=True))


def recipients(folder):
    """Who got each mail the workers sent (one file per ESP call)."""
    return sorted(re.search(r"^To: (.+)$", text, re.M).group(1).strip() for text in mails_in(folder))


def task_ids(log):
    return set(re.findall(r"Task journey\.send_messages\[([0-9a-f-]+)\] received", log))


@pytest.fixture
def shop_app_on():
    """Point the shop's Celery app (what journey publishes with) at another broker for one test."""
    from shop.celery import app

    saved = app.conf.broker_url, app.conf.broker_transport_options

    def point(url):
        app.conf.broker_url, app.conf.broker_transport_options = url, {}
        app._pool = None
        app.amqp._producer_pool = None

    yield point
    app.conf.broker_url, app.conf.broker_transport_options = saved
    app._pool = None
    app.amqp._producer_pool = None


@with_redis
def test_a3_a_whole_worker_killed_with_a_short_visibility_timeout_sends_every_mail_exactly_once(
        worker_env, tmp_path, private_redis, shop_app_on, settings):  # noqa: F811
    """A3: SIGKILL of the main process of a worker holding batches (one being rendered, others prefetched, none
    acked: acks_late), with Redis's visibility timeout at 3 s and a second worker running.  The broker redelivers the
    dead worker's batches while the sweeper (6 s) requeues the same rows and the send job claims them again:
    each mail still reaches the ESP exactly once."""
    env, outbox_dir = worker_env
    options = {"visibility_timeout": 3, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
    env = {**env, "REDIS_URL": private_redis.url, "TEST_SEND_STALE_AFTER_SECONDS": "6",
           "TEST_BROKER_TRANSPORT_OPTIONS": json.dumps(options)}
    settings.JOURNEY = {**settings.JOURNEY, "SEND_STALE_AFTER_SECONDS": 6, "SEND_BATCH_SIZE": 1}
    default_sequence()
    RecoveryStep.objects.filter(position=1).update(template="tests/slow_short/recovery")  # rendering takes 1 s
    # Twelve one-second mails: the surviving worker cannot render them all within the sweep age of their claim, so
    # the sweeper's path is taken on any machine, however fast (with six, a quick machine finished before it).
    emails = [f"a3-{i}@example.com" for i in range(12)]
    ids = abandoned(emails)
    shop_app_on(private_redis.url)

    def beat():  # what beat's journey.send_due_messages does: batches published with their claims
        return outbox.send_due(via="celery")

    first = Worker(env, tmp_path / "worker1.log", "--concurrency=1", pool="prefork").wait_ready()
    second = Worker(env, tmp_path / "worker2.log", "--concurrency=1", pool="prefork").wait_ready()
    summaries = []
    try:
        summaries.append(beat())  # twelve batches of one mail; each worker prefetches several
        wait_for(lambda: "journey.send_messages" in first.text() and "journey.send_messages" in second.text(),
                 what="both workers holding batches", worker=first)
        time.sleep(0.5)  # the first worker is rendering its first mail
        held_by_first = task_ids(first.text())
        first.kill_main()
        started = time.monotonic()
        while Message.objects.filter(pk__in=ids, state=State.SENT).count() < len(ids):
            assert time.monotonic() - started < 60, (
                f"not all sent: {summaries}\n"
                f"{list(Message.objects.filter(pk__in=ids).values_list('state', 'attempts', 'close_reason'))}")
            time.sleep(1)
            summaries.append(beat())
    finally:
        first.stop()
        second.stop()
    assert recipients(outbox_dir) == sorted(emails)  # every mail, each exactly once
    assert set(Message.objects.filter(pk__in=ids).values_list("state", flat=True)) == {State.SENT}
    # Both recovery paths were really exercised: the broker redelivered the dead worker's batches to the second
    # worker, and the sweeper requeued rows the dead worker had claimed.
    assert held_by_first & task_ids(second.text()), second.text()
    assert any("swept back" in s for s in summaries), summaries


@with_redis
def test_a6_a_running_worker_reconnects_after_redis_restarts_and_sends_new_mail_within_15_seconds(
        worker_env, tmp_path, private_redis):  # noqa: F811
    """A6: the worker keeps running across a restart of its Redis (same port, nothing persisted); a mail scheduled
    after the restart is sent by that same worker process, within 15 s of the send job being published."""
    env, outbox_dir = worker_env
    env = {**env, "REDIS_URL": private_redis.url}
    producer = Celery("producer", broker=private_redis.url, set_as_current=False)
    worker = Worker(env, tmp_path / "worker.log").wait_ready()
    try:
        before = abandoned(["before@example.com"])
        producer.send_task("journey.send_due_messages")
        wait_for(lambda: Message.objects.filter(pk__in=before, state=State.SENT).exists(), timeout=20,
                 what="the mail before the restart", worker=worker)
        pid = worker.process.pid

        private_redis.restart()
        after = abandoned(["after@example.com"])
        producer.close()
        producer = Celery("producer", broker=private_redis.url, set_as_current=False)
        producer.send_task("journey.send_due_messages")  # the next beat tick, to the restarted Redis
        published = time.monotonic()
        wait_for(lambda: Message.objects.filter(pk__in=after, state=State.SENT).exists(), timeout=15,
                 what="the mail after the restart", worker=worker)
        reconnected_in = time.monotonic() - published
        assert worker.process.poll() is None and worker.process.pid == pid  # never restarted
    finally:
        worker.stop()
        producer.close()
    assert recipients(outbox_dir) == ["after@example.com", "before@example.com"]
    assert reconnected_in < 15


@on_postgresql
def test_a9_two_scans_and_two_send_runs_at_once_claim_disjoint_baskets_and_mail_each_basket_once(monkeypatch,
                                                                                                  settings):
    """A9 (the services): two abandoned-basket scans at the same moment, in small batches, then two send runs at
    the same moment, in small batches — the scans take disjoint baskets, the send runs disjoint mails, and every
    eligible basket gets exactly one mail (the job lease is bypassed here: the services alone must be safe)."""
    monkeypatch.setattr(services, "SCAN_BATCH", 3)
    settings.JOURNEY = {**settings.JOURNEY, "SEND_BATCH_SIZE": 2}
    default_sequence()
    now = timezone.now()
    emails = [f"a9-{i}@example.com" for i in range(20)]
    left_baskets(emails, now)
    fresh = basket_with()  # not abandoned yet: not eligible
    services.capture_email(fresh, "fresh@example.com", BasketActivity.Source.CHECKOUT)

    reports = run_at_once(2, lambda _i: services.scan(now))
    assert sum(r.started for r in reports) == len(emails)  # disjoint: no basket started twice
    assert Message.objects.filter(step=1).count() == len(emails)

    results = run_at_once(2, lambda _i: outbox.send_due(now=now))
    assert sorted(m.to[0] for m in mail.outbox) == sorted(emails), results  # nobody twice, nobody missed
    assert sum(int(re.match(r"sent (\d+)", r).group(1)) for r in results) == len(emails)
    assert set(Message.objects.filter(step=1).values_list("state", "attempts")) == {(State.SENT, 1)}


@on_postgresql
def test_a9_two_journey_ticks_at_once_mail_each_abandoned_basket_once(worker_env, tmp_path):  # noqa: F811
    """A9 (the runners): two cron ``journey_tick`` processes started together, twice over (two overlapping beats):
    each eligible basket is mailed once, and the runners end without an error."""
    env, outbox_dir = worker_env
    default_sequence()
    now = timezone.now()
    emails = [f"tick-{i}@example.com" for i in range(12)]
    left_baskets(emails, now)
    command = [sys.executable, "manage.py", "journey_tick", "--force", "--job", "scan_abandoned_baskets",
               "--job", "send_due_messages"]
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    for _round in range(2):
        ticks = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for _ in range(2)]
        outputs = [tick.communicate(timeout=60)[0] for tick in ticks]
        assert [tick.returncode for tick in ticks] == [0, 0], outputs
    assert recipients(outbox_dir) == sorted(emails)
    assert Message.objects.filter(step=1, state=State.SENT).count() == len(emails)
