"""Order services: submission per kind (filing, change, cancellation) and the registry effects of a decision.

Views and routers call these; only ``orders.workflow`` writes an order's state.
"""

from beian.orders.services.cancellation import (
    cancel_access_submit,
    cancel_subject_submit,
    cancel_website_submit,
    cancellation_preview,
)
from beian.orders.services.change import change_subject_submit, change_website_submit
from beian.orders.services.filing import add_access_submit, add_website_submit, new_filing_submit

__all__ = [
    "add_access_submit",
    "add_website_submit",
    "cancel_access_submit",
    "cancel_subject_submit",
    "cancel_website_submit",
    "cancellation_preview",
    "change_subject_submit",
    "change_website_submit",
    "new_filing_submit",
]
