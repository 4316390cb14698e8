"""Flask extensions, created unbound and initialised in the app factory."""

from __future__ import annotations

import logging

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ResilientSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose end-of-request session removal survives a dead connection.

    The session is removed after the answer is built: if the database went away in
    between (a restart), the closing ROLLBACK fails, and an error raised there is past
    every error handler, so the client got a 500 for an answer already made. The
    connection is dropped instead (the pool replaces it) and the request ends as it
    would have."""

    def _teardown_session(self, exc: BaseException | None) -> None:
        try:
            self.session.remove()
        except DBAPIError as error:
            logging.getLogger(__name__).warning(
                "database connection lost while closing the request's session: %s",
                error.orig.__class__.__name__ if error.orig else error)
            self.session.registry.clear()


db = ResilientSQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
