"""Paper (offline) cancellation applications registered by a bureau: the scan and how it arrived."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OfflineApplication(models.Model):
    order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="offline_application")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    registered_at = models.DateTimeField()
    received_via = models.CharField(max_length=20)  # counter / post / bureau_system / shell_cleanup
    applicant_name = models.CharField(max_length=200, blank=True, default="")
    new_domain_owner = models.BooleanField(
        default=False
    )  # the applicant owns the domain now, not the subject
    scan_sha256 = models.CharField(max_length=64, blank=True, default="")
    scan_name = models.CharField(max_length=200, blank=True, default="")
    scan_type = models.CharField(max_length=40, blank=True, default="")
    scan_size = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "beian_offline_application"

    def __str__(self) -> str:
        return f"offline application for order {self.order_id}"
