"""Quiet hours in the tenant's timezone: a message due inside them waits until they end.

`QuietHours` lives with the tenant settings (``models.settings``); re-exported here.
"""

from invekto_integrations.models.settings import QuietHours

__all__ = ["QuietHours"]
