"""Live progress of an import: rows done / total, stage, rate and ETA.

The engine reports a :class:`Progress` after every batch (and while reading);
a :class:`ProgressTracker` keeps the latest one where any process can read it:
Redis at ``RATELIMIT_STORAGE_URL`` (expiring after ``REDIS_PROGRESS_EXPIRY``
seconds, the guide's progress tracker) when configured, else the job row
itself, which the engine updates with each committed batch anyway.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Progress:
    import_id: int
    stage: str
    rows_done: int
    rows_total: int | None
    elapsed_seconds: float
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0
    failed: int = 0

    @property
    def percent(self) -> float | None:
        if not self.rows_total:
            return None
        return round(min(100.0, 100.0 * self.rows_done / self.rows_total), 1)

    @property
    def rows_per_second(self) -> float | None:
        if self.elapsed_seconds <= 0 or not self.rows_done:
            return None
        return round(self.rows_done / self.elapsed_seconds, 1)

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rows_per_second
        if not rate or not self.rows_total:
            return None
        return round(max(0.0, (self.rows_total - self.rows_done) / rate), 1)

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "percent": self.percent,
            "rows_per_second": self.rows_per_second,
            "eta_seconds": self.eta_seconds,
        }


def render_bar(progress: Progress, *, width: int = 30) -> str:
    """One terminal line: bar, percent, rows, rate and ETA."""
    percent = progress.percent
    filled = int(width * (percent or 0) / 100)
    bar = "#" * filled + "." * (width - filled)
    total = f"{progress.rows_total:,}" if progress.rows_total else "?"
    parts = [
        f"[{bar}]",
        f"{percent:5.1f}%" if percent is not None else "   ?%",
        f"{progress.rows_done:,}/{total} rows",
        progress.stage,
    ]
    if progress.rows_per_second:
        parts.append(f"{progress.rows_per_second:,.0f} rows/s")
    if progress.eta_seconds is not None and progress.stage != "done":
        parts.append(f"ETA {progress.eta_seconds:.0f}s")
    return " ".join(parts)
