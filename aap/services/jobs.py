"""Big exports as background jobs.

The ``export_job`` table is the whole state of a job (status, progress, file, message):
every app process and every worker reads and writes it, and no process keeps a job in
memory. :func:`start` checks the policy for the kind's object, writes the row and hands
its id to a runner; :func:`run` (the worker's entry point) claims the row, calls the
kind's function with a progress callback, writes the file atomically under the export
folder and marks the row done or failed.

Runners: with ``REDIS_URL`` set, the job is enqueued on RQ (queue ``EXPORT_QUEUE``,
``aap-exports`` by default) and ``aap jobs worker`` runs it, on any machine sharing the
database and ``EXPORT_DIR``. Without Redis, a background thread of the app process runs
it, so the request still returns at once: that mode is for the demo and single-process
use (a job whose process stops is marked interrupted by :func:`purge`).

Files are kept ``EXPORT_RETENTION_HOURS`` (48 by default), then :func:`purge` deletes
them with their rows; it runs at each :func:`start` and as ``aap jobs purge``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app, has_app_context
from flask_babel import gettext
from sqlalchemy import func, select, update

from aap.database import write_transaction
from aap.errors import DomainError, Forbidden, NotFound, ValidationFailed
from aap.extensions import db
from aap.models import Authority, Call, ExportJob, User
from aap.models.jobs import PENDING_STATUSES, JobStatus
from aap.services import policies
from aap.timeutil import now
from aap.vocabulary import N_

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
#: How often, at most, the progress of a job is written to its row (seconds).
PROGRESS_INTERVAL = 0.5
MAX_DB_INT = 2**31 - 1

FAILED_MESSAGE = N_("L'export a échoué ; l'erreur a été signalée. Vous pouvez le relancer.")
UNAVAILABLE_MESSAGE = N_("Le service des exports est indisponible : réessayez dans un instant.")
INTERRUPTED_MESSAGE = N_("L'export a été interrompu avant la fin : relancez-le.")
REVOKED_MESSAGE = N_("Vous n'avez plus accès à cet export.")


@dataclass(frozen=True)
class Kind:
    """One kind of export.

    ``authorize(user, params)`` checks the policy on the kind's object and returns the
    cleaned parameters (JSON), or raises a DomainError with a French message;
    ``write(target, params, user, progress)`` writes the file into the binary file
    ``target``; ``filename(params)`` is the name the browser saves it under;
    ``describe(params, calls)`` names the export in the lists (``calls`` by id)."""

    name: str
    extension: str
    authorize: Callable[[User, Mapping[str, Any]], dict]
    write: Callable[[IO[bytes], dict, User, Progress], None]
    filename: Callable[[dict], str]
    describe: Callable[[dict, Mapping[int, Call]], str]


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    KINDS.pop(name, None)


# -- parameters --------------------------------------------------------------------------

def _int_param(params: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = params.get(key) if isinstance(params, Mapping) else None
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) < 12:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed("Paramètre d'export invalide.",
                               fields={key: ["Nombre entier attendu."]})
    return value


def exportable_call(user: User, params: Mapping[str, Any]) -> Call:
    """The call named by ``params['call_id']`` if the user may export it (404 otherwise:
    a call the user may not export is not shown to exist)."""
    call = db.session.get(Call, _int_param(params, "call_id", 1, MAX_DB_INT))
    if call is None or not policies.may_export_call(user, call):
        raise NotFound("Appel introuvable.")
    return call


def fiscal_year_param(params: Mapping[str, Any]) -> int:
    return _int_param(params, "fiscal_year", 1900, 2999)


def authority_param(params: Mapping[str, Any]) -> int | None:
    """The optional ``authority_id`` of a year's export (absent or empty: none)."""
    if not isinstance(params, Mapping) or params.get("authority_id") in (None, ""):
        return None
    return _int_param(params, "authority_id", 1, MAX_DB_INT)


def calls_of(params: Mapping[str, Any], calls: Mapping[int, Call]) -> Call | None:
    return calls.get(params.get("call_id"))


# -- starting a job ----------------------------------------------------------------------

def start(kind: str, params: Mapping[str, Any], user: User) -> ExportJob:
    """Check and record an export asked by ``user``, then hand it to a runner. Raises
    NotFound for an unknown kind or an object the user may not export, Forbidden for a
    role without export rights, ValidationFailed for malformed parameters."""
    spec = KINDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise NotFound("Type d'export inconnu.")
    if not policies.may_export(user):
        raise Forbidden("Les exports sont réservés aux finances et à l'instruction.")
    clean = spec.authorize(user, params)
    purge()
    with write_transaction():
        job = ExportJob(kind=spec.name, parameters=clean, requested_by_id=user.id,
                        status=JobStatus.QUEUED.value, progress_done=0)
        db.session.add(job)
    dispatch(job.id)
    return job


def dispatch(job_id: int) -> None:
    """Hand a queued job to RQ (REDIS_URL set) or to a thread of this process."""
    if current_app.config.get("REDIS_URL"):
        _enqueue(job_id)
    else:
        _start_thread(current_app._get_current_object(), job_id)


def _enqueue(job_id: int) -> None:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Callback, Queue

    config = current_app.config
    try:
        with Redis.from_url(config["REDIS_URL"]) as connection:
            queue = Queue(config["EXPORT_QUEUE"], connection=connection)
            queue.enqueue("aap.services.jobs.execute", job_id,
                          job_timeout=config["EXPORT_JOB_TIMEOUT"], result_ttl=0,
                          failure_ttl=config["EXPORT_RETENTION_HOURS"] * 3600,
                          on_failure=Callback("aap.services.jobs.on_queue_failure"),
                          description=f"export job {job_id}")
    except RedisError:
        log.exception("export job %s: the queue is unreachable", job_id)
        _finish(job_id, JobStatus.FAILED, error=UNAVAILABLE_MESSAGE)


_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def _thread_slots(size: int) -> threading.BoundedSemaphore:
    """At most EXPORT_THREADS exports at once in this process (the others wait, queued)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, size))
        return _slots


def _start_thread(app: Flask, job_id: int) -> None:
    slots = _thread_slots(app.config.get("EXPORT_THREADS", 2))

    def target() -> None:
        with slots, app.app_context():
            try:
                run(job_id)
            finally:
                db.session.remove()

    threading.Thread(target=target, name=f"export-job-{job_id}", daemon=True).start()


# -- running a job -----------------------------------------------------------------------

def execute(job_id: int) -> None:
    """The RQ entry point. ``aap jobs worker`` runs inside an app context that the job's
    forked process inherits: the inherited database connections belong to the parent,
    so the pool is replaced and the job gets a context (and a session) of its own."""
    if has_app_context():
        app = current_app._get_current_object()
        db.engine.dispose(close=False)
    else:  # a worker started without the CLI
        from aap import create_app

        app = create_app()
    with app.app_context():
        try:
            run(job_id)
        finally:
            db.session.remove()


def on_queue_failure(rq_job: Any, connection: Any, exc_type: type | None,
                     exc_value: BaseException | None, traceback: Any) -> None:
    """RQ's failure callback (a killed or timed-out job): the row says so."""
    job_id = rq_job.args[0] if rq_job.args else None
    log.error("export job %s failed in the queue: %s", job_id, exc_value)
    if isinstance(job_id, int) and has_app_context():
        _finish(job_id, JobStatus.FAILED, error=FAILED_MESSAGE, only_pending=True)


def run(job_id: int) -> None:
    """Run one queued job to its end: claim it (a job runs once, whichever worker takes
    it), check the policy again for its requester, write its file, record the outcome."""
    if not _claim(job_id):
        log.info("export job %s is not queued: nothing to run", job_id)
        return
    job = db.session.get(ExportJob, job_id)
    try:
        spec = KINDS.get(job.kind)
        if spec is None:
            raise NotFound("Type d'export inconnu.")
        user = job.requested_by
        if not policies.may_export(user):
            raise Forbidden(REVOKED_MESSAGE)
        params = spec.authorize(user, job.parameters)
        stored = _write_file(job.id, spec, params, user, ProgressWriter(job.id))
    except DomainError as exc:
        log.info("export job %s refused: %s", job_id, exc.message)
        _finish(job_id, JobStatus.FAILED, error=exc.message)
    except Exception:
        log.exception("export job %s failed", job_id)
        _finish(job_id, JobStatus.FAILED, error=FAILED_MESSAGE)
    else:
        _finish(job_id, JobStatus.DONE, file_path=stored, filename=spec.filename(params))


def _claim(job_id: int) -> bool:
    result = db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status == JobStatus.QUEUED.value)
        .values(status=JobStatus.RUNNING.value, started_at=now()))
    db.session.commit()
    return result.rowcount == 1


class ProgressWriter:
    """The progress callback: writes ``done/total`` to the job's row in a short
    transaction of its own, at most every PROGRESS_INTERVAL seconds (the first and the
    last calls are always written)."""

    def __init__(self, job_id: int, interval: float = PROGRESS_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = job_id
        self.interval = interval
        self.clock = clock
        self.last: float | None = None

    def __call__(self, done: int, total: int) -> None:
        total = max(0, int(total))
        done = min(max(0, int(done)), total) if total else max(0, int(done))
        at = self.clock()
        finished = bool(total) and done >= total
        if self.last is not None and at - self.last < self.interval and not finished:
            return
        self.last = at
        with db.engine.begin() as connection:
            connection.execute(
                update(ExportJob).where(ExportJob.id == self.job_id)
                .values(progress_done=done, progress_total=total or None))


def export_dir() -> Path:
    """The folder of the export files: EXPORT_DIR, else the instance folder's exports/."""
    configured = current_app.config.get("EXPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "exports"


def _write_file(job_id: int, spec: Kind, params: dict, user: User,
                progress: Progress) -> str:
    """Write into a temporary file of the export folder, then rename it: a reader never
    sees half a file, and a failure leaves none. Returns the file's name in the folder."""
    folder = export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{job_id}-{secrets.token_hex(8)}.{spec.extension}"
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{job_id}-", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            spec.write(handle, params, user, progress)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return name


def _finish(job_id: int, status: JobStatus, *, error: str | None = None,
            file_path: str | None = None, filename: str | None = None,
            only_pending: bool = False) -> None:
    db.session.rollback()  # the kind only reads: end its transaction first
    values: dict[str, Any] = {"status": status.value, "finished_at": now(), "error": error,
                              "file_path": file_path, "filename": filename}
    if status == JobStatus.DONE:
        values["progress_done"] = func.coalesce(ExportJob.progress_total, 1)
        values["progress_total"] = func.coalesce(ExportJob.progress_total, 1)
    query = update(ExportJob).where(ExportJob.id == job_id)
    if only_pending:
        query = query.where(ExportJob.status.in_(PENDING_STATUSES))
    db.session.execute(query.values(**values))
    db.session.commit()


# -- reading jobs ------------------------------------------------------------------------

def job_for(user: User, job_id: int) -> ExportJob:
    """A job of the user's own (anyone else's is not shown to exist). A job pending for
    longer than EXPORT_JOB_TIMEOUT is marked interrupted (its process stopped)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or user is None or job.requested_by_id != user.id:
        raise NotFound("Export introuvable.")
    if job.pending and job.created_at < _stale_before():
        _finish(job.id, JobStatus.FAILED, error=INTERRUPTED_MESSAGE, only_pending=True)
        db.session.refresh(job)
    return job


def recent_jobs(user: User, page: int = 1, per_page: int = 25) -> tuple[list[ExportJob], int]:
    """The user's jobs, newest first, one page of them, and how many there are."""
    query = select(ExportJob).where(ExportJob.requested_by_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(db.session.scalars(
        query.order_by(ExportJob.created_at.desc(), ExportJob.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return items, total


def descriptions(jobs: list[ExportJob]) -> dict[int, str]:
    """What each job exports, in words (the calls named by the jobs read in one query)."""
    ids = {j.parameters.get("call_id") for j in jobs if isinstance(j.parameters, dict)}
    ids = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    calls = {c.id: c for c in db.session.scalars(select(Call).where(Call.id.in_(ids)))} \
        if ids else {}
    named = _load_authorities(jobs)  # held: the session keeps only weak references
    out = {}
    for job in jobs:
        spec = KINDS.get(job.kind)
        out[job.id] = spec.describe(job.parameters, calls) if spec else job.kind
    del named
    return out


def _load_authorities(jobs: list[ExportJob]) -> list:
    """The authorities the jobs name, read in one query into the session, where the
    descriptions find them without a query each."""
    ids = {j.parameters.get("authority_id") for j in jobs if isinstance(j.parameters, dict)}
    ids = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    return list(db.session.scalars(select(Authority).where(Authority.id.in_(ids)))) \
        if ids else []


def file_for(user: User, job_id: int) -> tuple[Path, str]:
    """The finished file of a job and its download name, for its requester only, and
    only while the requester may still export its object (checked again on it)."""
    job = job_for(user, job_id)
    spec = KINDS.get(job.kind)
    if job.status != JobStatus.DONE or not job.file_path or spec is None \
            or not policies.may_export(user):
        raise NotFound("Export introuvable.")
    try:
        spec.authorize(user, job.parameters)
    except DomainError as exc:
        raise NotFound("Export introuvable.") from exc
    path = _stored_path(job.file_path)
    if path is None or not path.is_file():
        raise NotFound("Le fichier de cet export n'est plus disponible : relancez-le.")
    return path, job.filename or path.name


_STORED_NAME = re.compile(r"^\d+-[0-9a-f]{16}\.[a-z0-9]{1,8}$")


def _stored_path(name: str) -> Path | None:
    """The path of a stored file name, only if it is one the service made."""
    return export_dir() / name if _STORED_NAME.fullmatch(name) else None


# -- retention ---------------------------------------------------------------------------

def _stale_before() -> datetime:
    return now() - timedelta(seconds=current_app.config["EXPORT_JOB_TIMEOUT"] + 300)


def purge() -> int:
    """Delete the jobs older than EXPORT_RETENTION_HOURS with their files, mark the jobs
    pending for longer than EXPORT_JOB_TIMEOUT as interrupted, and remove the leftover
    files of the folder (a crashed writer's temporary file). Returns how many jobs were
    deleted."""
    cutoff = now() - timedelta(hours=current_app.config["EXPORT_RETENTION_HOURS"])
    with write_transaction():
        db.session.execute(
            update(ExportJob)
            .where(ExportJob.status.in_(PENDING_STATUSES),
                   ExportJob.created_at < _stale_before())
            .values(status=JobStatus.FAILED.value, finished_at=now(),
                    error=INTERRUPTED_MESSAGE))
        expired = list(db.session.scalars(
            select(ExportJob).where(ExportJob.created_at < cutoff,
                                    ExportJob.status.not_in(PENDING_STATUSES))))
        for job in expired:
            db.session.delete(job)
    for job in expired:
        _remove(job.file_path)
    _remove_leftovers(cutoff.timestamp())
    return len(expired)


def _remove(name: str | None) -> None:
    path = _stored_path(name) if name else None
    if path is not None:
        path.unlink(missing_ok=True)


def _remove_leftovers(before: float) -> None:
    folder = export_dir()
    if not folder.is_dir():
        return
    kept = set(db.session.scalars(select(ExportJob.file_path)
                                  .where(ExportJob.file_path.is_not(None))))
    for path in _files(folder):
        try:
            stale = path.name not in kept and path.stat().st_mtime < before
        except FileNotFoundError:  # a running job renamed its .part in the meantime
            continue
        if stale:
            path.unlink(missing_ok=True)


def _files(folder: Path) -> Iterator[Path]:
    for path in folder.iterdir():
        if path.is_file() and (_STORED_NAME.fullmatch(path.name)
                               or path.name.endswith(".part")):
            yield path


@contextmanager
def registered(kind: Kind) -> Iterator[Kind]:
    """A kind registered for the time of a block (tests, one-off scripts)."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.name)


# -- the kinds ---------------------------------------------------------------------------

def _jury_authorize(user: User, params: Mapping[str, Any]) -> dict:
    call = exportable_call(user, params)
    if not policies.may_read_all_reviews(user, call=call):
        raise Forbidden("Le rapport du jury est réservé à l'instruction.")
    return {"call_id": call.id}


def _jury_write(target: IO[bytes], params: dict, user: User, progress: Progress) -> None:
    from aap.services.exports import jury

    progress(0, 1)
    target.write(jury.build(db.session.get(Call, params["call_id"])))
    progress(1, 1)


def _call_title(template: str) -> Callable[[dict, Mapping[int, Call]], str]:
    def describe(params: dict, calls: Mapping[int, Call]) -> str:
        call = calls_of(params, calls)
        return gettext(template, title=call.title if call else "?")

    return describe


register(Kind(
    name="jury_call", extension="xlsx", authorize=_jury_authorize, write=_jury_write,
    filename=lambda p: f"jury-appel-{p['call_id']}.xlsx",
    describe=_call_title(N_("Rapport du jury — %(title)s"))))


def _call_authorize(user: User, params: Mapping[str, Any]) -> dict:
    return {"call_id": exportable_call(user, params).id}


def _year_calls(user: User, year: int, authority_id: int | None = None) -> list[Call]:
    from aap.services.exports.balance import calls_for_year

    return calls_for_year(user, year, authority_id)


def _year_authorize(user: User, params: Mapping[str, Any]) -> dict:
    """The year, and the authority whose calls (with its descendants') the workbook
    covers, if one is named: NotFound when the user does not read it."""
    year, authority_id = fiscal_year_param(params), authority_param(params)
    if not _year_calls(user, year, authority_id):
        raise NotFound(f"Aucun appel de l'exercice {year} à exporter.")
    return {"fiscal_year": year} if authority_id is None else \
        {"fiscal_year": year, "authority_id": authority_id}


def _balance_call_write(target: IO[bytes], params: dict, user: User,
                        progress: Progress) -> None:
    from aap.services.exports.balance import write_balance

    write_balance(target, [db.session.get(Call, params["call_id"])], progress=progress)


def _balance_year_write(target: IO[bytes], params: dict, user: User,
                        progress: Progress) -> None:
    from aap.services.exports.balance import write_balance

    write_balance(target, _year_calls(user, params["fiscal_year"], params.get("authority_id")),
                  progress=progress)


def _scdl_call_write(target: IO[bytes], params: dict, user: User,
                     progress: Progress) -> None:
    from aap.services.exports.scdl import write_scdl

    write_scdl(target, [params["call_id"]], progress=progress)


def _scdl_filename(params: dict) -> str:
    from aap.services.exports.scdl import filename

    return filename(db.session.get(Call, params["call_id"]))


register(Kind(
    name="balance_call", extension="xlsx", authorize=_call_authorize,
    write=_balance_call_write, filename=lambda p: f"bilan-appel-{p['call_id']}.xlsx",
    describe=_call_title(N_("Bilan de l'appel — %(title)s"))))
def _balance_year_filename(params: dict) -> str:
    authority = params.get("authority_id")
    suffix = f"-collectivite-{authority}" if authority else ""
    return f"bilan-exercice-{params['fiscal_year']}{suffix}.xlsx"


def _balance_year_describe(params: dict, calls: Mapping[int, Call]) -> str:
    """The year, and the authority's name when the export is one authority's (read from
    the session: :func:`descriptions` loads the authorities of a page at once)."""
    authority_id = params.get("authority_id")
    authority = db.session.get(Authority, authority_id) if isinstance(authority_id, int) \
        else None
    if authority is None:
        return gettext("Bilan de l'exercice %(year)s", year=params["fiscal_year"])
    return gettext("Bilan de l'exercice %(year)s — %(authority)s et ses collectivités "
                   "rattachées", year=params["fiscal_year"], authority=authority.name)


register(Kind(
    name="balance_year", extension="xlsx", authorize=_year_authorize,
    write=_balance_year_write, filename=_balance_year_filename,
    describe=_balance_year_describe))
register(Kind(
    name="scdl_call", extension="csv", authorize=_call_authorize, write=_scdl_call_write,
    filename=_scdl_filename,
    describe=_call_title(N_("Données ouvertes SCDL — %(title)s"))))


def _indicators_authorize(user: User, params: Mapping[str, Any]) -> dict:
    from aap.services import indicators

    year = fiscal_year_param(params)
    if not indicators.calls_of_year(user, year):
        raise NotFound(f"Aucun appel de l'exercice {year} à exporter.")
    return {"fiscal_year": year}


def _indicators_write(target: IO[bytes], params: dict, user: User,
                      progress: Progress) -> None:
    from aap.services import indicators
    from aap.services.exports import indicators as workbook

    year = params["fiscal_year"]
    progress(0, 1)
    sheet = indicators.compute(indicators.calls_of_year(user, year))
    target.write(workbook.build(sheet, year))
    progress(1, 1)


register(Kind(
    name="indicators_year", extension="xlsx", authorize=_indicators_authorize,
    write=_indicators_write, filename=lambda p: f"indicateurs-{p['fiscal_year']}.xlsx",
    describe=lambda p, calls: gettext("Indicateurs de l'exercice %(year)s",
                                      year=p["fiscal_year"])))
