"""Access decorators for the web UI."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user, login_required


def role_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403, description=_("Cette page est réservée à un autre rôle."))
            return view(*args, **kwargs)

        return wrapper

    return decorator


def page_arg(value: str | None) -> int:
    return int(value) if value and value.isdecimal() and 0 < int(value) <= 1_000_000 else 1
