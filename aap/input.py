"""The input layer: what reaches views, schemas and the database is well-formed text.

One mechanism per channel, for every route, so that no view has to think of it:

* Web forms and query strings: control characters (NUL first, which PostgreSQL refuses
  in text) are removed from every value as the request parses it. They are never
  meaningful in a form, and removing them keeps what the user typed.
* The JSON API refuses instead of repairing (SPEC 9: never a silent coercion). Before any
  view or schema sees the body, :func:`check_api_request` parses it strictly:
  - 415 when a body is not JSON (or multipart for the routes that take files);
  - 400 when it is not UTF-8 JSON, nests deeper than :data:`MAX_JSON_DEPTH`, uses
    ``NaN``/``Infinity`` (not JSON), or holds a lone surrogate (not Unicode);
  - 422 with the field's path when a number does not fit 64 bits or a float, or a
    string holds a NUL.
  A query string with a control character is a 400 as well.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Request, current_app, request
from werkzeug.datastructures import ImmutableMultiDict

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1024 * 1024
INT64 = (-(2**63), 2**63 - 1)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NOT_TEXT = re.compile(r"[\ud800-\udfff]")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class CleanMultiDict(ImmutableMultiDict):
    """Form and query values without control characters (tab and newlines are kept)."""

    def __init__(self, mapping=None) -> None:
        super().__init__(_clean_pairs(mapping) if mapping is not None else None)


def _clean_pairs(mapping) -> Iterator[tuple]:
    pairs = mapping.items(multi=True) if hasattr(mapping, "items") and hasattr(
        mapping, "getlist") else (mapping.items() if isinstance(mapping, dict) else mapping)
    for key, value in pairs:
        yield _strip(key), _strip(value)


def _strip(value):
    return CONTROL.sub("", value) if isinstance(value, str) else value


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict


# -- the API -------------------------------------------------------------------------

class InputRefused(Exception):
    """A request refused by the input layer; rendered as the API's error body."""

    def __init__(self, status: int, code: str, message: str,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


@dataclass(frozen=True)
class _Unfit:
    """A JSON number kept as written, because it fits no 64-bit integer or float."""

    text: str


def accepts_multipart(view: Callable) -> Callable:
    """Mark an API view that takes ``multipart/form-data`` (file uploads)."""
    view.accepts_multipart = True  # type: ignore[attr-defined]
    return view


def check_api_request() -> None:
    """Raise :class:`InputRefused` for a malformed API request (see the module doc)."""
    if request.routing_exception is not None:
        return  # an unknown path or method answers first (404, 405)
    if any(CONTROL.search(v) for v in _raw_query_values()):
        raise InputRefused(400, "malformed",
                           "Caractère de contrôle interdit dans les paramètres de la requête.")
    if request.method not in BODY_METHODS:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    if request.mimetype == "multipart/form-data" and _view_accepts_multipart():
        return
    if not request.is_json:
        raise InputRefused(415, "unsupported_media_type",
                           "Le corps de la requête doit être du JSON "
                           "(Content-Type: application/json).")
    check_json(raw)


def _raw_query_values() -> Iterator[str]:
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(request.query_string.decode("latin-1"),
                                keep_blank_values=True):
        yield key
        yield value


def _view_accepts_multipart() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_multipart", False))


def check_json(raw: bytes) -> object:
    """The document in ``raw``, parsed strictly; raises :class:`InputRefused`."""
    if len(raw) > MAX_JSON_BYTES:
        raise InputRefused(413, "too_large", "Corps JSON trop volumineux (1 Mo au plus).")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                              parse_int=_parse_int, parse_float=_parse_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, _NotJson) else \
            "Corps de requête JSON invalide."
        raise InputRefused(400, "malformed", message) from exc
    problems = dict(_problems(document))
    if problems:
        raise InputRefused(422, "invalid_data", "Données invalides.", problems)
    return document


class _NotJson(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotJson(f"{name} n'est pas une valeur JSON : envoyez un nombre fini.")


def _parse_int(text: str):
    if len(text.lstrip("-")) > 19:
        return _Unfit(text)
    value = int(text)
    return value if INT64[0] <= value <= INT64[1] else _Unfit(text)


def _parse_float(text: str):
    value = float(text)
    if math.isinf(value) or (value == 0 and any(c in "123456789" for c in
                                                text.lower().split("e")[0])):
        return _Unfit(text)
    return value


def _problems(document: object) -> Iterator[tuple[str, list[str]]]:
    """(path, messages) of every value the API cannot take, walking without recursion."""
    stack: list[tuple[object, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputRefused(400, "malformed",
                               f"JSON trop imbriqué ({MAX_JSON_DEPTH} niveaux au plus).")
        if isinstance(value, dict):
            for key, item in value.items():
                if (message := _text_problem(key)) is not None:
                    yield _join(path, "?"), [message]
                    continue
                stack.append((item, _join(path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, _join(path, str(i)), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, _Unfit):
            yield path or "_schema", [
                f"Nombre hors limites ({value.text[:30]}) : les entiers tiennent sur 64 bits "
                "(montants en centimes) et les décimaux s'écrivent en chaîne."]
        elif isinstance(value, str) and (message := _text_problem(value)) is not None:
            yield path or "_schema", [message]


def _text_problem(text: str) -> str | None:
    if NOT_TEXT.search(text):
        raise InputRefused(400, "malformed",
                           "Le JSON contient un caractère Unicode invalide (surrogate isolé).")
    if "\x00" in text:
        return "Le caractère NUL n'est pas accepté."
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
