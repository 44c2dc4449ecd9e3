"""List, activate or roll back classifier versions."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from routing.models import ClassifierModel
from routing.training import CorpusError, model_activate, model_rollback


class Command(BaseCommand):
    help = "router_model list | activate VERSION | rollback"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "activate", "rollback"])
        parser.add_argument("version", nargs="?", type=int)

    def handle(self, *args, **opts):
        if opts["action"] == "list":
            for row in ClassifierModel.objects.order_by("-version"):
                f1 = row.metrics.get("macro_f1")
                self.stdout.write(
                    f"{'*' if row.is_active else ' '} v{row.version:<4} {row.name:30s} "
                    f"{row.trained_on:>6}条  宏F1 {f1 if f1 is not None else '-'}  {row.created_at:%Y-%m-%d %H:%M}"
                )
            return
        try:
            if opts["action"] == "activate":
                if opts["version"] is None:
                    raise CommandError("请给出版本号：router_model activate 3")
                row = ClassifierModel.objects.filter(version=opts["version"]).first()
                if row is None:
                    raise CommandError(f"没有版本 v{opts['version']}")
                row = model_activate(row)
            else:
                row = model_rollback()
        except CorpusError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"已启用 v{row.version} {row.name}"))
