"""The durable order work queue: claim under a lease, renew it, finish, retry with backoff.

Why not django-tasks-db: a worker killed mid-task leaves its task RUNNING forever there,
and it has no retries. Here a claim is a lease: a job whose worker died is claimed
again once `locked_until` passes, and the worker's reconciliation with the broker
(by client_order_id) makes that second run harmless.

Each claim gets a new `lease_token`. A worker renews its lease before every broker call,
and every write of its run (the order's new state, the job's outcome) is fenced by that
token in the same transaction: a worker that paused past its lease and was taken over
applies nothing, even if it carries the same worker id.
"""

import functools
import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from trading.enums import JobStatus
from trading.models import OrderJob

logger = logging.getLogger(__name__)


# The PostgreSQL channel a queued job is announced on; idle workers LISTEN to it.
JOBS_CHANNEL = "portfolio_order_jobs"


def jobs_queued_notify() -> None:
    """Announce a queued job to every listening worker when this transaction commits.

    PostgreSQL only: NOTIFY is transactional (sent at the commit, dropped by a rollback),
    so a worker woken by it finds the job committed. Elsewhere workers poll.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {JOBS_CHANNEL}")


class LeaseLost(Exception):  # noqa: N818 - reads as the condition it names
    """The job's lease expired or another claim took it: this run must apply nothing."""


# The claim, one statement (autocommit): pick the oldest due job whose order has no
# earlier unfinished job, and in the same UPDATE either lease it to this worker under a
# fresh token or, out of attempts, fail it. On PostgreSQL one round trip instead of four
# (BEGIN, the SELECT, the guarded UPDATE, COMMIT), and SKIP LOCKED keeps concurrent
# claims off the same row; on SQLite the statement holds the write lock from its start,
# so nothing changes between the pick and the update. The picked row's status and
# holder before the claim come back from the materialized CTE (RETURNING sees only the
# new row): a RUNNING one was an expired lease, reclaimed.
_CLAIM_SQL = """
WITH picked AS MATERIALIZED (
    SELECT job.id, job.status, job.locked_by FROM {table} AS job
    WHERE ((job.status = %(queued)s AND job.run_after <= %(now)s)
           OR (job.status = %(running)s AND job.locked_until < %(now)s))
      AND NOT EXISTS (
          SELECT 1 FROM {table} AS earlier
          WHERE earlier.order_id = job.order_id AND earlier.id < job.id
            AND earlier.status IN (%(queued)s, %(running)s))
    ORDER BY job.id LIMIT 1{lock}
)
UPDATE {table} SET
    status = CASE WHEN attempts >= %(max)s THEN %(failed)s ELSE %(running)s END,
    attempts = CASE WHEN attempts >= %(max)s THEN attempts ELSE attempts + 1 END,
    locked_by = CASE WHEN attempts >= %(max)s THEN locked_by ELSE %(worker)s END,
    locked_until = CASE WHEN attempts >= %(max)s THEN NULL ELSE %(until)s END,
    lease_token = CASE WHEN attempts >= %(max)s THEN lease_token ELSE %(token)s END,
    finished_at = CASE WHEN attempts >= %(max)s THEN %(now)s ELSE finished_at END,
    last_error = CASE WHEN attempts >= %(max)s AND last_error = ''
                      THEN %(expired)s ELSE last_error END
WHERE id = (SELECT id FROM picked)
RETURNING {columns},
    (SELECT status FROM picked) AS previous_status,
    (SELECT locked_by FROM picked) AS previous_holder
"""


@functools.cache
def _claim_sql(vendor: str) -> str:
    columns = ", ".join(str(field.column) for field in OrderJob._meta.concrete_fields)
    lock = " FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return _CLAIM_SQL.format(table=OrderJob._meta.db_table, columns=columns, lock=lock)


def job_claim_next(*, worker_id: str) -> OrderJob | None:
    """Take the oldest due job whose order has no earlier unfinished job, or None.

    A due job out of attempts (its lease expired on the last one) is failed instead.
    """
    now = timezone.now()
    token, locked_until = uuid.uuid4(), now + _lease()
    ops, token_field = connection.ops, OrderJob._meta.get_field("lease_token")
    params = {
        "queued": JobStatus.QUEUED.value,
        "running": JobStatus.RUNNING.value,
        "failed": JobStatus.FAILED.value,
        "now": ops.adapt_datetimefield_value(now),
        "until": ops.adapt_datetimefield_value(locked_until),
        "max": settings.ORDER_JOB_MAX_ATTEMPTS,
        "worker": worker_id,
        "token": token_field.get_db_prep_value(token, connection),
        "expired": "lease expired too many times",
    }
    # Read to the end: on SQLite the statement (and its write lock) ends only then.
    rows = list(OrderJob.objects.raw(_claim_sql(connection.vendor), params))
    if not rows:
        return None
    job = rows[0]
    # The columns beyond the model's, which the raw query set as attributes.
    previous_status, previous_holder = (
        vars(job).pop("previous_status"),
        vars(job).pop("previous_holder"),
    )
    if job.status == JobStatus.FAILED:
        logger.error(
            "job %s (%s order %s) failed: %s", job.pk, job.kind, job.order_id, job.last_error
        )
        return None
    if previous_status == JobStatus.RUNNING:
        logger.warning("job %s: lease of %s expired; reclaimed", job.pk, previous_holder)
    return job


def _lease() -> timedelta:
    return timedelta(seconds=settings.ORDER_JOB_LEASE_SECONDS)


def _fence(job: OrderJob, holder: str | None = None) -> dict[str, object]:
    """The lease fence that guards every write of a run, as field lookups.

    This claim's token on a running job, held by `holder` (the claim's worker by default).
    The ORM's guarded updates (`_held`) and the raw release (`_release_sql`) both use it.
    """
    return {
        "pk": job.pk,
        "status": JobStatus.RUNNING,
        "lease_token": job.lease_token,
        "locked_by": job.locked_by if holder is None else holder,
    }


def _held(job: OrderJob) -> Q:
    return Q(**_fence(job))


def job_lease_renew(job: OrderJob) -> None:
    """Extend the claim's lease, or raise LeaseLost if it expired or was taken over.

    Called before each broker call, and inside every transaction that applies a result:
    there the guarded update is the fence, and it holds the job row until the commit,
    so no claim can take the job between the check and the write.
    """
    now = timezone.now()
    locked_until = now + _lease()
    renewed = OrderJob.objects.filter(_held(job), locked_until__gte=now).update(
        locked_until=locked_until
    )
    if not renewed:
        raise LeaseLost(f"job {job.pk}: lease of {job.locked_by} expired or taken over")
    job.locked_until = locked_until


# A lease claimed or renewed this recently still has (almost) its whole length to run.
LEASE_FRESH_SECONDS = 1.0


def job_lease_extend(job: OrderJob) -> None:
    """Before a broker call: renew the lease unless this run renewed it in the last second.

    Two calls in a row (the lookup, then the submit) each used to renew, which on SQLite
    is a write transaction queuing for the database lock per call. A lease that still has
    all but a second of its length left protects the call as a renewal would; and while it
    is that fresh nobody else can hold it (a claim needs `locked_until` to have passed).
    """
    if job.locked_until is not None:
        remaining = (job.locked_until - timezone.now()).total_seconds()
        if remaining >= _lease().total_seconds() - LEASE_FRESH_SECONDS:
            return
    job_lease_renew(job)


def _job_field(name: str) -> Field[Any, Any]:
    meta = OrderJob._meta
    return meta.pk if name == "pk" else meta.get_field(name)  # type: ignore[return-value]


@functools.cache
def _release_sql(names: tuple[str, ...], fence: tuple[str, ...], vendor: str) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(_job_field(name).column))} = %s" for name in names)
    guards = " AND ".join(f"{quote(str(_job_field(name).column))} = %s" for name in fence)
    return (
        f"UPDATE {quote(OrderJob._meta.db_table)} "  # noqa: S608 - names from the model
        f"SET {quote('locked_until')} = NULL, {assignments} WHERE {guards}"
    )


def _release(job: OrderJob, worker_id: str, **changes: object) -> bool:
    """Apply `changes` if this claim still holds the job's lease.

    One raw statement (as the claim): the ORM's guarded update was a tenth of a job's CPU.
    The values are prepared by their fields, as the ORM would.
    """
    if job.lease_token is None:  # never after a claim; `= NULL` would match nothing
        return False
    fence = _fence(job, worker_id)
    values = [
        _job_field(name).get_db_prep_save(value, connection) for name, value in changes.items()
    ]
    guards = [
        _job_field(name).get_db_prep_value(value, connection) for name, value in fence.items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _release_sql(tuple(changes), tuple(fence), connection.vendor), [*values, *guards]
        )
        updated = cursor.rowcount
    if not updated:
        logger.warning("job %s: lease lost before release by %s", job.pk, worker_id)
    return bool(updated)


def job_complete(job: OrderJob, *, worker_id: str) -> bool:
    return _release(job, worker_id, status=JobStatus.DONE, finished_at=timezone.now())


def retry_delay_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, 2^attempts)]."""
    ceiling = min(settings.ORDER_JOB_MAX_BACKOFF_SECONDS, 2.0**attempts)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


def job_retry(job: OrderJob, *, worker_id: str, error: str) -> bool:
    """Queue the job again after a backoff, or fail it when out of attempts."""
    if job.attempts >= settings.ORDER_JOB_MAX_ATTEMPTS:
        return job_fail(job, error=error, worker_id=worker_id)
    run_after = timezone.now() + timedelta(seconds=retry_delay_seconds(job.attempts))
    return _release(
        job,
        worker_id,
        status=JobStatus.QUEUED,
        run_after=run_after,
        last_error=error[:2000],
    )


def job_fail(job: OrderJob, *, error: str, worker_id: str | None = None) -> bool:
    """Give up on the job; it stays visible in the admin, where it can be queued again."""
    logger.error("job %s (%s order %s) failed: %s", job.pk, job.kind, job.order_id, error)
    changes = {
        "status": JobStatus.FAILED,
        "finished_at": timezone.now(),
        "last_error": error[:2000],
    }
    if worker_id is None:
        OrderJob.objects.filter(pk=job.pk).update(locked_until=None, **changes)
        return True
    return _release(job, worker_id, **changes)


def jobs_requeue(job_ids: list[int]) -> int:
    """Operator action: give failed jobs a fresh set of attempts."""
    with transaction.atomic():
        requeued = OrderJob.objects.filter(pk__in=job_ids, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED, attempts=0, run_after=timezone.now(), finished_at=None
        )
        if requeued:
            jobs_queued_notify()
    return requeued
