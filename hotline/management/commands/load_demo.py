from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hotline.demo.loader import load_all


class Command(BaseCommand):
    help = "Load Beijing demo data: places, units, categories, demo accounts and tickets (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="load even when neither DEBUG nor HOTLINE_DEMO is on")

    def handle(self, *args, **options):
        # Demo accounts share a published password: never create them on a production deployment.
        if not (settings.DEBUG or settings.DEMO_MODE or options["force"]):
            raise CommandError("演示数据只能在 DEBUG 或 HOTLINE_DEMO=1 下加载（生产环境禁止创建演示账号）。")
        load_all(lambda line: self.stdout.write(line))
