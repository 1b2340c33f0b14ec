"""The core's own wiring, connected by JourneyConfig.ready() before the tool packages connect theirs."""


def connect():
    from anymail.signals import tracking

    from .. import signals
    from . import capture, experiments, voucher_receivers
    from .outbox import cap
    from .outbox.schedule import on_address_suppressed
    from .tracking import on_tracking

    # First: a suppression cancels what is scheduled before anyone else hears of it.
    signals.address_suppressed.connect(on_address_suppressed, dispatch_uid="journey.core.outbox.suppressed")
    voucher_receivers.connect()
    capture.connect()
    tracking.connect(on_tracking, dispatch_uid="journey.core.tracking")
    cap.register()  # the frequency cap, a send gate (it does nothing while JOURNEY["FREQUENCY_CAP"] is off)
    experiments.connect()  # the holdout gate, the order receiver and the eraser
