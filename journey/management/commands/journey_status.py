from django.core.management.base import BaseCommand

from journey.insights.journey_map import scheduler_health
from journey.models import JobState
from journey.registry import Status, registry

STYLE = {
    Status.OK: "SUCCESS",
    Status.IDLE: "NOTICE",
    Status.OFF: "NOTICE",
    Status.WARNING: "WARNING",
    Status.ERROR: "ERROR",
}


class Command(BaseCommand):
    help = "Print journey's tools grouped by journey phase, with their health, and the scheduled jobs."

    def handle(self, *args, **options):
        healths = {tool.key: tool.check_health() for tool in registry.all()}
        width = max([len(str(tool.name)) for tool in registry.all()] + [10])
        for phase, tools in registry.by_phase().items():
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(f"{phase.label.upper()}  ({phase.description})"))
            if not tools:
                self.stdout.write("  (no tool)")
            for tool in tools:
                health = healths[tool.key]
                status = getattr(self.style, STYLE[health.status])(f"{health.status.label:<16}")
                touch = ", ".join(str(t.label) for t in tool.touchpoints)
                self.stdout.write(f"  {str(tool.name):<{width}}  {status}  {health.message}")
                self.stdout.write(f"  {'':<{width}}  {tool.key} · {tool.provider} · {touch}")
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("SCHEDULER"))
        health = scheduler_health()
        self.stdout.write(f"  {getattr(self.style, STYLE[health.status])(str(health.status.label))}  {health.message}")
        for state in JobState.objects.all():
            last = state.last_success_at.isoformat(timespec="seconds") if state.last_success_at else "never"
            error = f"  last error: {state.last_error.splitlines()[-1]}" if state.last_error else ""
            self.stdout.write(
                f"  {state.key:<24} last success {last}, runs {state.runs}, failures {state.failures}{error}"
            )
