"""Rebuild the score and dashboard rollups from the raw ticket events."""

from __future__ import annotations

import datetime as dt
import re

from django.core.management.base import BaseCommand, CommandError

from hotline.rollups import problems_refresh, rollups_rebuild


class Command(BaseCommand):
    help = "从工单事件重建考核与看板汇总表（全部，或指定月份）。"

    def add_arguments(self, parser):
        parser.add_argument("--month", action="append", default=[], metavar="YYYY-MM", help="只重建这些月份（可重复）")
        parser.add_argument("--no-problems", action="store_true", help="不重新计算每月一题候选")

    def handle(self, *args, **options):
        months = []
        for text in options["month"]:
            m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
            if not m or not 1 <= int(m.group(2)) <= 12:
                raise CommandError(f"月份格式应为YYYY-MM：{text}")
            months.append(dt.date(int(m.group(1)), int(m.group(2)), 1))
        result = rollups_rebuild(months=months or None)
        self.stdout.write(
            f"已重建 {len(result.months)} 个月的汇总（{result.seconds:.1f} 秒），清空待汇总事件 {result.events} 条。"
        )
        if not options["no_problems"]:
            for month in result.months[-2:]:
                problems_refresh(month)
            self.stdout.write("每月一题候选已更新。")
