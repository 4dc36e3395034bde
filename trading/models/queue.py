"""The durable order work queue: one row per broker call still to make."""

from django.db import models
from django.utils import timezone

from trading.enums import JobKind, JobStatus
from trading.models.orders import Order


class OrderJob(models.Model):
    """A submit or cancel to carry to the broker; claimed under a lease, retried with backoff."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=8, choices=JobKind.choices)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    run_after = models.DateTimeField(default=timezone.now)
    locked_by = models.CharField(max_length=128, blank=True, default="")
    locked_until = models.DateTimeField(null=True, blank=True)
    # A fresh token per claim: the fence every write of a run checks, so a worker whose
    # lease was taken over (even by a worker of the same name) can change nothing.
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "run_after"], name="orderjob_status_run_after")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=JobKind.values), name="orderjob_kind_known"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.RUNNING)
                | models.Q(locked_until__isnull=False),
                name="orderjob_running_has_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_id} ({self.status})"
