"""Text hygiene shared by every write path."""

from __future__ import annotations

import re

# PostgreSQL rejects NUL in text and a stray control character breaks exports: drop them at the door.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str | None) -> str:
    return _CONTROL.sub("", value or "").strip()
