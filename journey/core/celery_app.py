"""Whether the host project has a Celery app (shared by the outbox, which nudges workers, and the system checks)."""


def celery_app_configured():
    from celery import current_app

    app = current_app._get_current_object()
    # Celery's fallback app is called "default" and has no broker; a project's app has a name or a broker.
    return app.main not in (None, "default") or bool(app.conf.broker_url)
