"""Background export jobs. The table is the job's whole state: every app process and every
worker reads and writes it, none keeps a job in memory (see ``aap.services.jobs``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JOB_STATUSES = tuple(s.value for s in JobStatus)
#: The statuses of a job that is not over yet.
PENDING_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


class ExportJob(db.Model):
    """One export asked by one user: what (kind and parameters), how far (status and
    progress), and the result (a file under the export folder, or a message)."""

    __tablename__ = "export_job"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                        name="status_known"),
        CheckConstraint("progress_done >= 0", name="progress_non_negative"),
        Index("ix_export_job_requested_by_id_created_at", "requested_by_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.QUEUED.value)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    # The file's name inside the export folder (EXPORT_DIR), chosen by the service, never
    # by the user; the name the browser saves it under is ``filename``.
    file_path: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(200))
    # A French message for the user; the details go to the log.
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by = relationship("User")

    @property
    def pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def percent(self) -> int | None:
        """The progress in whole percent, or None while the total is unknown."""
        if not self.progress_total:
            return 100 if self.status == JobStatus.DONE else None
        return min(100, self.progress_done * 100 // self.progress_total)
