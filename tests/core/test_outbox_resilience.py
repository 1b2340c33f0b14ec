"""The outbox with real Celery worker processes: a worker killed mid-send, a broker that loses its queue."""

import shutil
import socket
import subprocess
import time

import pytest
from celery import Celery
from django.utils import timezone

from journey.core import outbox
from journey.core.models import Message
from journey.recovery import services
from journey.recovery.models import BasketActivity, RecoveryStep
from journey.test.factories import basket_with, default_sequence, make_idle
from tests.celery_worker import Worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
State = Message.State


def abandoned_baskets(n):
    default_sequence()
    now = timezone.now()
    for i in range(n):
        basket = basket_with()
        services.capture_email(basket, f"shopper{i}@example.com", BasketActivity.Source.CHECKOUT)
        make_idle(basket, 61, now)
    services.scan(now)
    Message.objects.filter(step__gt=1).delete()  # only the first mail matters here
    return list(Message.objects.filter(step=1).values_list("pk", flat=True))


def mails_in(folder):
    return sorted(p.read_text(errors="replace") for p in folder.glob("*.eml"))


@pytest.fixture
def worker_env(subprocess_env, tmp_path):
    outbox_dir = tmp_path / "outbox"
    env = {**subprocess_env, "TEST_EMAIL_BACKEND": "shop.mail.FileOutboxBackend", "SHOP_OUTBOX_DIR": str(outbox_dir),
           "TEST_SEND_STALE_AFTER_SECONDS": "2"}
    return env, outbox_dir


def test_a_worker_killed_mid_send_neither_loses_nor_duplicates_the_mail(worker_env, tmp_path, settings):
    env, outbox_dir = worker_env
    default_sequence()
    RecoveryStep.objects.filter(position=1).update(template="tests/slow/recovery")  # rendering takes 4 s
    [message_id] = abandoned_baskets(1)
    first = Worker(env, tmp_path / "worker1.log").wait_ready()
    try:
        from journey.tasks import send_due_messages

        send_due_messages.delay()
        wait_for(lambda: Message.objects.get(pk=message_id).state == State.SENDING, what="the claim", worker=first)
        time.sleep(1.0)  # now inside the slow rendering
        first.kill()
    finally:
        first.stop()
    row = Message.objects.get(pk=message_id)
    assert row.state == State.SENDING and row.esp_call_started_at is None and mails_in(outbox_dir) == []

    second = Worker(env, tmp_path / "worker2.log").wait_ready()
    try:
        time.sleep(2.5)  # past SEND_STALE_AFTER_SECONDS: the sweeper takes the row back
        from journey.tasks import send_due_messages

        send_due_messages.apply_async()
        wait_for(lambda: Message.objects.get(pk=message_id).state == State.SENT, timeout=60, what="the mail",
                 worker=second)
    finally:
        second.stop()
    sent = mails_in(outbox_dir)
    assert len(sent) == 1 and "shopper0@example.com" in sent[0]
    assert Message.objects.get(pk=message_id).attempts == 2


def test_a1_a_pool_process_killed_before_the_esp_call_has_its_batch_redelivered_and_sent_once(worker_env,
                                                                                             tmp_path):
    """A1: kill -9 of the prefork child rendering the mail; acks_late + reject_on_worker_lost put the task back,
    the new child sends it — long before the sweeper could (its age here is ten minutes)."""
    env, outbox_dir = worker_env
    env = {**env, "TEST_SEND_STALE_AFTER_SECONDS": "600"}
    default_sequence()
    RecoveryStep.objects.filter(position=1).update(template="tests/slow/recovery")  # rendering takes 4 s
    [message_id] = abandoned_baskets(1)
    worker = Worker(env, tmp_path / "worker.log", "--concurrency=1", pool="prefork").wait_ready()
    try:
        outbox.send_due(via="celery")  # claims the row and queues its batch
        wait_for(lambda: "journey.send_messages" in worker.text(), what="the task", worker=worker)
        time.sleep(1.5)  # inside the slow rendering, before the ESP call
        assert Message.objects.get(pk=message_id).esp_call_started_at is None
        killed = worker.kill_child()
        wait_for(lambda: Message.objects.get(pk=message_id).state == State.SENT, timeout=20,
                 what="the redelivered batch", worker=worker)
    finally:
        worker.stop()
    assert f"pid {killed}" in worker.text() or "WorkerLostError" in worker.text()
    sent = mails_in(outbox_dir)
    assert len(sent) == 1 and "shopper0@example.com" in sent[0]
    # One claim; the redelivery counts as a second attempt where the broker flags it (Redis), not on the
    # filesystem broker; no sweeper was involved.
    assert Message.objects.get(pk=message_id).attempts in (1, 2)
    assert "sweeper" not in worker.text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of our own on a free port (the shared one is never stopped)."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]

    def start():
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        wait_for(lambda: _pings(redis, port), timeout=20, what="redis-server")
        return process

    class Server:
        url = f"redis://127.0.0.1:{port}/0"

        def __init__(self):
            self.process = start()

        def restart(self):
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = start()

    server = Server()
    yield server
    server.process.terminate()
    server.process.wait(timeout=20)


def _pings(redis, port):
    try:
        return redis.Redis(port=port, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return False


def test_messages_queued_in_a_redis_that_restarts_are_all_sent_after_the_sweeper(worker_env, tmp_path,
                                                                                 private_redis):
    env, outbox_dir = worker_env
    env = {**env, "REDIS_URL": private_redis.url}
    ids = abandoned_baskets(5)
    producer = Celery("producer", broker=private_redis.url, set_as_current=False)  # tasks after this keep the shop app
    # The send job claimed the mails and queued their batch in Redis...
    outbox.send_due(via="celery", enqueue=lambda batch: producer.send_task("journey.send_messages", args=[batch]))
    assert Message.objects.filter(pk__in=ids, state=State.SENDING).count() == 5
    # ... and Redis restarts (no persistence) before any worker took it: the queue is gone.
    private_redis.restart()
    worker = Worker(env, tmp_path / "worker.log").wait_ready()
    try:
        time.sleep(2.5)  # past SEND_STALE_AFTER_SECONDS
        producer.send_task("journey.send_due_messages")  # the next beat tick
        wait_for(lambda: Message.objects.filter(pk__in=ids, state=State.SENT).count() == 5, timeout=60,
                 what="all five mails", worker=worker)
    finally:
        worker.stop()
        producer.close()
    assert len(mails_in(outbox_dir)) == 5
    assert "journey.send_messages" in worker.text()
