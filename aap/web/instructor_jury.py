"""The instructor's jury pages (assignment, progress, conflicts, charts), on the
instructor blueprint."""

from __future__ import annotations

from aap.web.instructor import bp

__all__ = ["bp"]
