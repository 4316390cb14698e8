"""Fault tests: a worker killed mid-transition, an SMTP server going down mid-batch, a
PostgreSQL server restarted under load. Select them with ``-m faults``."""

from __future__ import annotations

from tests.services.conftest import smtp_factory, smtp_url  # noqa: F401 (fixtures)
