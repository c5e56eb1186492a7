"""Log lines: one per event, with time, level, logger and role."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: str, role: str) -> None:
    """Send logs to stderr; quiet the chattiest libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {role} %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "pymongo", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
