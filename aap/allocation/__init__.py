"""Allocation under the budget (SPEC 5): the pure engine and its inputs."""

from aap.allocation.engine import (
    OUTCOMES,
    OVERFLOW_RULES,
    Candidate,
    Envelope,
    Parameters,
    Result,
    Row,
    allocate,
    digest,
    draw_key,
    rows_bytes,
)

__all__ = ["OUTCOMES", "OVERFLOW_RULES", "Candidate", "Envelope", "Parameters", "Result",
           "Row", "allocate", "digest", "draw_key", "rows_bytes"]
