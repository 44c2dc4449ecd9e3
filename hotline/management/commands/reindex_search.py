"""Recompute the keyword-search words of tickets (hotline/search.py), in batches.

For a database migrated with more tickets than 0021 fills itself, for rows written by raw SQL
(imports, bench/load/data.py), and after the segmentation dictionary changed (new places or units
are new words). Safe while the system runs: each batch is its own short transaction, and a new
or edited ticket gets its words from the ORM anyway.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction

from hotline import search
from routing import segmentation


class Command(BaseCommand):
    help = "重建工单关键词检索（jieba 分词写入 search_vector）。"

    def add_arguments(self, parser):
        parser.add_argument("--missing", action="store_true", help="only tickets that have no words yet (resume)")
        parser.add_argument("--batch", type=int, default=1000, help="tickets per statement (default 1000)")
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="processes that segment text in parallel (default 1; jieba is pure Python)",
        )

    def handle(self, *args, missing: bool, batch: int, jobs: int, **options):
        if batch < 1 or jobs < 1:
            raise CommandError("--batch and --jobs must be at least 1.")
        # Load the dictionary (with the places and units read from the database) before any
        # worker is forked, so the workers inherit it and never open a database connection.
        segmentation.warm_up()
        pool = None
        if jobs > 1:
            connections.close_all()
            pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM hotline_ticket" + (" WHERE search_vector IS NULL" if missing else ""))
            total = cursor.fetchone()[0]
        self.stdout.write(f"{total:,} tickets to index ({'missing only' if missing else 'all'}), {jobs} job(s)")
        started, done, after, last_report = time.monotonic(), 0, 0, 0.0
        try:
            while True:
                with connection.cursor() as cursor:
                    rows = search.read_batch(cursor, after=after, size=batch * jobs, missing_only=missing)
                if not rows:
                    break
                if pool is None:
                    docs = search.documents(rows)
                else:
                    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
                    docs = [doc for part in pool.map(search.documents, chunks) for doc in part]
                with transaction.atomic(), connection.cursor() as cursor:
                    for i in range(0, len(docs), batch):
                        search.store_documents(cursor, docs[i : i + batch])
                after, done = rows[-1][0], done + len(rows)
                now = time.monotonic()
                if now - last_report >= 10:
                    last_report = now
                    rate = done / max(now - started, 1e-9)
                    self.stdout.write(f"  {done:,}/{total:,} ({rate:,.0f}/s), up to id {after}")
        finally:
            if pool is not None:
                pool.shutdown()
        elapsed = time.monotonic() - started
        self.stdout.write(f"indexed {done:,} tickets in {elapsed:.0f} s")
        if done > 10_000:
            # Large rewrites leave dead row versions and stale statistics; the planner's choice
            # between the GIN index and walking the newest tickets depends on the latter.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE) hotline_ticket")
            self.stdout.write("vacuumed and analysed hotline_ticket")
