"""Marshmallow schemas of the v1 API: they validate input and generate the OpenAPI doc.

Every input field is one of the strict field classes at the top of this module, so that
one set of rules holds for every body and query string of the API:

- booleans are JSON ``true`` or ``false``, nothing else (no ``"yes"``, no ``1``);
- integers (ids, counts, cents, years) are JSON integers (a query string may carry one as
  digits) within bounds that fit the database: ids from 1 to 2**31 - 1 (INTEGER
  columns), cents from 0 (BIGINT), never beyond the signed 64-bit range;
- decimals (weights, thresholds, shares, scores) are finite, with a bounded number of
  places and a bounded magnitude: no NaN, no Infinity, no exponent such as ``1e400``;
  they are read from a JSON string (``"0.8"``) or number (``0.8``) and returned as strings;
- controlled vocabularies (domains, grounds, budget lines, attachment kinds) take codes,
  listed as enums in the OpenAPI document and served with their labels at
  ``GET /api/v1/vocabularies``.

Messages are in French, like every message of the API.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from aap.models.accounts import AUTHORITY_ROLES
from aap.models.authorities import AUTHORITY_KINDS
from aap.models.calls import OVERFLOW_RULES
from aap.models.finance import PAYMENT_KINDS
from aap.money import MAX_CENTS
from aap.vocabulary import CHARGE_LINES, DOMAINS, GROUNDS, PRODUCT_LINES

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_ID = 2**31 - 1  # ids are database INTEGER columns: 32 bits on PostgreSQL
MAX_COUNT = 10**9  # people, reviews, jurors: far beyond any real count, within a database integer
VOCABULARIES_URL = "/api/v1/vocabularies"


# -- French messages ----------------------------------------------------------------------
GENERIC_MESSAGES = {
    "required": "Champ obligatoire.",
    "null": "Ce champ ne peut pas être nul.",
    "validator_failed": "Valeur invalide.",
}
TYPE_MESSAGES: list[tuple[type, dict[str, str]]] = [
    (fields.AwareDateTime, {
        "invalid": "Date et heure ISO 8601 attendues, avec leur décalage "
                   "(ex. 2026-01-15T09:00:00+01:00).",
        "invalid_awareness": "Précisez le décalage horaire (ex. +01:00).",
        "format": "Date et heure ISO 8601 attendues."}),
    (fields.DateTime, {"invalid": "Date et heure ISO 8601 attendues.",
                       "format": "Date et heure ISO 8601 attendues."}),
    (fields.Date, {"invalid": "Date attendue au format AAAA-MM-JJ.",
                   "format": "Date attendue au format AAAA-MM-JJ."}),
    (fields.String, {"invalid": "Texte attendu.", "invalid_utf8": "Texte UTF-8 attendu."}),
    (fields.Integer, {"invalid": "Nombre entier attendu.", "too_large": "Nombre trop grand."}),
    (fields.Boolean, {"invalid": "Booléen attendu : true ou false."}),
    (fields.List, {"invalid": "Liste attendue."}),
    (fields.Dict, {"invalid": "Objet JSON attendu."}),
    (fields.Nested, {"type": "Objet JSON attendu."}),
]


def _frenchify(field: fields.Field) -> None:
    """Replace marshmallow's English messages on ``field`` (and its inner fields) by
    French ones, keeping those a field class or a caller set on purpose."""
    for key, message in GENERIC_MESSAGES.items():
        if field.error_messages.get(key) == fields.Field.default_error_messages.get(key):
            field.error_messages[key] = message
    for cls, messages in TYPE_MESSAGES:
        if isinstance(field, cls):
            if not getattr(field, "french", False):  # the strict fields have their own
                field.error_messages.update(
                    {k: m for k, m in messages.items() if k in field.error_messages})
            break
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None)):
        if isinstance(inner, fields.Field):
            _frenchify(inner)


def length(min: int | None = None, max: int | None = None) -> validate.Length:
    if min and max:
        error = "Entre {min} et {max} caractères."
    elif max:
        error = "{max} caractères au maximum."
    else:
        error = "Ne peut pas être vide." if min == 1 else "{min} caractères au minimum."
    return validate.Length(min=min, max=max, error=error)


def one_of(choices) -> validate.OneOf:
    return validate.OneOf(list(choices),
                          error="Valeur inconnue : {input}. Valeurs acceptées : {choices}.")


# -- strict fields ------------------------------------------------------------------------
class StrictBoolean(fields.Boolean):
    """JSON ``true`` or ``false`` only: ``"yes"``, ``"true"``, ``1`` and ``null`` are
    refused rather than guessed (a guessed ``force: "yes"`` once closed a review)."""

    french = True
    truthy = {True}
    falsy = {False}
    default_error_messages = {"invalid": "Booléen attendu : true ou false."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer (not a float, a string or a boolean) within ``[minimum, maximum]``,
    which never leaves the signed 64-bit range. ``strict=False`` is for query strings,
    where the integer arrives as digits (and is bounded all the same)."""

    french = True
    default_error_messages = {"invalid": "Nombre entier attendu.",
                              "too_large": "Nombre trop grand."}

    def __init__(self, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX,
                 strict: bool = True, validate=None, **kwargs) -> None:
        minimum, maximum = max(minimum, INT64_MIN), min(maximum, INT64_MAX)
        validators = [validate_range(minimum, maximum)]
        if validate is not None:
            validators.extend(validate if isinstance(validate, list | tuple) else [validate])
        super().__init__(strict=strict, validate=validators, **kwargs)

    def _validated(self, value):
        if isinstance(value, str) and not re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
            raise self.make_error("invalid")  # digits only (no "1e5", no 5000-digit strings)
        return super()._validated(value)


def validate_range(minimum: int, maximum: int) -> validate.Range:
    if maximum >= INT64_MAX:
        error = f"Entier supérieur ou égal à {minimum} attendu."
        if minimum == INT64_MIN:
            error = "Entier hors limites."
    else:
        error = f"Entier entre {minimum} et {maximum} attendu."
    return validate.Range(min=minimum, max=maximum, error=error)


def Id(**kwargs) -> StrictInteger:
    """An object id: a JSON integer from 1 to the largest id the database holds."""
    return StrictInteger(minimum=1, maximum=MAX_ID, **kwargs)


def Cents(*, maximum: int = MAX_CENTS, **kwargs) -> StrictInteger:
    """An amount in integer cents, from 0 (SPEC 7.1)."""
    return StrictInteger(minimum=0, maximum=maximum, **kwargs)


def Count(*, maximum: int = MAX_COUNT, **kwargs) -> StrictInteger:
    """A number of people, reviews...: a JSON integer from 0."""
    return StrictInteger(minimum=0, maximum=maximum, **kwargs)


def QueryInteger(*, minimum: int = 1, maximum: int = INT64_MAX,
                 **kwargs) -> StrictInteger:
    """An integer of a query string (digits), bounded like any other."""
    return StrictInteger(minimum=minimum, maximum=maximum, strict=False, **kwargs)


DECIMAL_STRING = re.compile(r"[+-]?\d{1,30}(\.\d{1,30})?")


class StrictDecimal(fields.Field):
    """A finite decimal read from a JSON string (``"0.8"``) or number (``0.8``): no NaN,
    no Infinity, no exponent (``"1e400"``, ``"1e-400"``), at most ``places`` decimal
    places, within ``[minimum, maximum]`` (``minimum`` excluded if ``exclusive_minimum``).
    Loaded as a :class:`~decimal.Decimal`; dumped as a string, as the API returns decimals.

    The OpenAPI document declares it as a string with a pattern or a bounded number."""

    french = True
    default_error_messages = {
        "invalid": "Nombre décimal attendu, écrit avec un point (ex. \"0.8\") : "
                   "ni NaN, ni infini, ni exposant.",
        "places": "{places} décimales au plus.",
        "range": "Valeur entre {minimum} et {maximum} attendue.",
        "range_exclusive": "Valeur strictement supérieure à {minimum} et au plus "
                           "{maximum} attendue.",
    }

    def __init__(self, *, minimum: Decimal | int | str = 0,
                 maximum: Decimal | int | str = 10**9 - 1, places: int = 4,
                 exclusive_minimum: bool = False, **kwargs) -> None:
        self.minimum, self.maximum = Decimal(minimum), Decimal(maximum)
        self.places, self.exclusive_minimum = places, exclusive_minimum
        digits = len(str(int(abs(self.maximum))))
        sign = "-?" if self.minimum < 0 else ""
        number = {"type": "number", "minimum": _number(self.minimum),
                  "maximum": _number(self.maximum)}
        if exclusive_minimum:
            number["exclusiveMinimum"] = True
        bound = "greater than" if exclusive_minimum else "at least"
        integer = r"\d" if digits == 1 else rf"\d{{1,{digits}}}"
        metadata = {
            "anyOf": [{"type": "string", "format": "decimal",
                       "pattern": rf"^{sign}{integer}(\.\d{{1,{places}}})?$"},
                      number],
            "description": (f"A decimal {bound} {_text(self.minimum)} and at most "
                            f"{_text(self.maximum)}, with at most {places} decimal places, "
                            f"as a string (\"0.5\") or a number; returned as a string."),
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(Decimal(value), "f")

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        number = self._parse(value)
        if -min(number.normalize().as_tuple().exponent, 0) > self.places:
            raise self.make_error("places", places=self.places)
        too_low = number <= self.minimum if self.exclusive_minimum else number < self.minimum
        if too_low or number > self.maximum:
            raise self.make_error("range_exclusive" if self.exclusive_minimum else "range",
                                  minimum=_text(self.minimum), maximum=_text(self.maximum))
        return number

    def _parse(self, value) -> Decimal:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            if abs(value) > 10**30:
                raise self.make_error("range", minimum=_text(self.minimum),
                                      maximum=_text(self.maximum))
            return Decimal(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.make_error("invalid")
            return Decimal(repr(value))
        if isinstance(value, str) and DECIMAL_STRING.fullmatch(value.strip()):
            try:
                return Decimal(value.strip())
            except InvalidOperation:  # pragma: no cover - the pattern rules it out
                pass
        raise self.make_error("invalid")


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


class DecimalString(fields.Decimal):
    """A decimal in a response: a string such as ``"0.8000"`` (never a JSON number)."""

    def __init__(self, **kwargs) -> None:
        metadata = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
                    **kwargs.pop("metadata", {})}
        super().__init__(as_string=True, metadata=metadata, **kwargs)


class DecimalMap(fields.Dict):
    """``{key: decimal}`` (a juror's scores per criterion); a bad value is reported under
    its key (``scores.pertinence``)."""

    def __init__(self, values: StrictDecimal, **kwargs) -> None:
        super().__init__(keys=fields.String(validate=length(1, 60)), values=values, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict):
                raise
            raise ValidationError({
                key: [*errors.get("key", []), *errors.get("value", [])]
                for key, errors in exc.messages.items()}) from exc


def vocabulary_message(vocabulary: Mapping, what: str) -> str:
    return (f"Code inconnu : {{input}}. {what} acceptés : {', '.join(vocabulary)} "
            f"(codes et libellés : GET {VOCABULARIES_URL}).")


def Code(vocabulary: Mapping, what: str, **kwargs) -> fields.String:
    """One code of a controlled vocabulary (an ``enum`` in the OpenAPI document); a label
    sent instead of its code is refused with the accepted codes."""
    metadata = {"description": f"{what}: a code of GET {VOCABULARIES_URL}",
                **kwargs.pop("metadata", {})}
    return fields.String(validate=validate.OneOf(list(vocabulary),
                                                 error=vocabulary_message(vocabulary, what)),
                         metadata=metadata, **kwargs)


class CodeList(fields.List):
    """A list of codes of one vocabulary; an unknown code is reported on the list itself
    (``domains``), with the accepted codes."""

    def __init__(self, vocabulary: Mapping, what: str, **kwargs) -> None:
        super().__init__(Code(vocabulary, what), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict):
                raise
            messages = [m for errors in exc.messages.values() for m in errors]
            raise ValidationError(list(dict.fromkeys(messages))) from exc


def Text(size: int, **kwargs) -> fields.String:
    return fields.String(validate=length(max=size), **kwargs)


class StrictSchema(Schema):
    """An input schema: unknown fields are refused (422 naming them) wherever they come
    from, a JSON body, a form or a query string (a mistyped filter is an error, not an
    unfiltered list); messages in French."""

    error_messages = {"unknown": "Champ inconnu.", "type": "Objet JSON attendu."}

    class Meta:
        unknown = RAISE

    def load(self, data, *, many=None, partial=None, unknown=None):
        # webargs asks query strings and files to EXCLUDE unknown names: refuse them too.
        return super().load(data, many=many, partial=partial, unknown=RAISE)

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _frenchify(field_obj)


def _budget_side(name: str, lines: Mapping[str, str]) -> type[StrictSchema]:
    """One side of a CERFA 12156 budget: an object whose keys are the line codes."""
    return StrictSchema.from_dict(
        {code: Cents(metadata={"description": label}) for code, label in lines.items()},
        name=name)


BudgetCharges = _budget_side("BudgetCharges", CHARGE_LINES)
BudgetProducts = _budget_side("BudgetProducts", PRODUCT_LINES)


class BudgetSchema(StrictSchema):
    """A CERFA 12156 budget, ``{charges: {line: cents}, products: {line: cents}}``: the
    line codes are those of GET /api/v1/vocabularies (``budget_lines``)."""

    charges = fields.Nested(BudgetCharges)
    products = fields.Nested(BudgetProducts)


# -- auth -----------------------------------------------------------------------------
class TokenIn(StrictSchema):
    email = Text(320, required=True)
    password = Text(1000, required=True, load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())


class TokenOut(Schema):
    token = fields.String()
    user = fields.Nested(UserOut)


class RegisterIn(StrictSchema):
    email = fields.String(required=True, validate=length(max=320))
    password = Text(1000, required=True, load_only=True)
    name = fields.String(required=True, validate=length(1, 200))


# -- authorities ----------------------------------------------------------------------
class AuthorityIn(StrictSchema):
    name = fields.String(required=True, validate=length(1, 200))
    kind = fields.String(required=True, validate=one_of(AUTHORITY_KINDS), metadata={
        "description": "metropole, council (a territorial council of a métropole), "
                       "commune, department, region or other"})
    siret = Text(20, required=True, metadata={"description": "14 digits (spaces allowed)"})
    parent_id = Id(allow_none=True, metadata={
        "description": "The parent authority (a métropole over its councils and "
                       "communes): its staff read this one's calls and figures."})


class AuthorityOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"enum": list(AUTHORITY_KINDS)})
    siret = fields.String()
    parent_id = fields.Integer(allow_none=True)


class AuthorityPage(Schema):
    items = fields.List(fields.Nested(AuthorityOut))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


STAFF_ROLE_NAMES = [r.value for r in AUTHORITY_ROLES]


class MemberRolesIn(StrictSchema):
    roles = fields.List(
        fields.String(validate=one_of(STAFF_ROLE_NAMES)), required=True,
        validate=validate.Length(max=len(AUTHORITY_ROLES) * 2,
                                 error="{max} rôles au maximum."),
        metadata={"description": "The roles held in this authority ([] removes them)."})


class MemberRolesOut(Schema):
    authority_id = fields.Integer()
    user_id = fields.Integer()
    roles = fields.List(fields.String(metadata={"enum": STAFF_ROLE_NAMES}))


# -- funds and calls ------------------------------------------------------------------
class ImputationSchema(StrictSchema):
    chapter = Text(10, load_default="65")
    nature = Text(10, load_default="65748")
    function = Text(10, load_default="")
    subpolicy = Text(20, load_default="")


class FundIn(StrictSchema):
    authority_id = Id(allow_none=True, metadata={
        "description": "The authority that runs the fund; required unless the caller is "
                       "an instructor platform-wide (then absent or null: a platform-wide "
                       "fund). The caller must be an instructor of it."})
    name = fields.String(required=True, validate=length(1, 300))
    owner_name = fields.String(required=True, validate=length(1, 300))
    owner_siret = Text(20, required=True)
    imputation = fields.Nested(ImputationSchema, load_default=dict)
    owner_product_line = Code(PRODUCT_LINES, "Lignes de produits", metadata={
        "description": "The product line of the owner's grants (e.g. 74_epci): a code of "
                       "budget_lines.products in GET /api/v1/vocabularies"})
    notification_ue = StrictBoolean()


class FundOut(Schema):
    id = fields.Integer()
    authority_id = fields.Integer(allow_none=True, metadata={
        "description": "The authority that runs the fund; null: platform-wide."})
    name = fields.String()
    owner_name = fields.String()
    owner_siret = fields.String()
    imputation = fields.Dict(keys=fields.String(), values=fields.String())
    owner_product_line = fields.String(allow_none=True)
    notification_ue = fields.Boolean()


class EnvelopeSchema(StrictSchema):
    key = fields.String(required=True, validate=length(1, 60))
    label = fields.String(required=True, validate=length(1, 200))
    budget_cents = Cents(required=True)


class RulesSchema(StrictSchema):
    min_request_cents = Cents(allow_none=True)
    max_request_cents = Cents(allow_none=True)
    max_share_of_cost = StrictDecimal(allow_none=True, minimum=0, maximum=1, places=4,
                                      exclusive_minimum=True)


class CriterionSchema(StrictSchema):
    key = fields.String(required=True, validate=length(1, 60))
    label = fields.String(required=True, validate=length(1, 300))
    weight = StrictDecimal(load_default=Decimal(1), minimum=0, maximum=1000, places=3,
                           exclusive_minimum=True)
    max = StrictInteger(required=True, minimum=1, maximum=1000)


class CallIn(StrictSchema):
    fund_id = Id(required=True)
    title = fields.String(required=True, validate=length(1, 300))
    description = Text(20000)
    fiscal_year = StrictInteger(required=True, minimum=2000, maximum=2100)
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    budget_cents = Cents(required=True)
    envelopes = fields.List(fields.Nested(EnvelopeSchema), load_default=list)
    rules = fields.Nested(RulesSchema, load_default=dict)
    grid = fields.List(fields.Nested(CriterionSchema), load_default=list)
    scale = StrictInteger(load_default=20, minimum=1, maximum=1000)
    min_total = StrictDecimal(load_default=Decimal(0), minimum=0,
                              maximum=Decimal("99999.999"), places=3)
    min_reviews = Count(load_default=1, maximum=1000)
    overflow = fields.String(load_default="partial", validate=one_of(OVERFLOW_RULES))
    partial_min_share = StrictDecimal(load_default=Decimal("0.5"), minimum=0, maximum=1,
                                      places=4)
    convention_threshold_cents = Cents(load_default=23_000_00, metadata={
        "description": "A signed convention is required before any payment above this "
                       "grant (default 23 000 €, décret n° 2001-495)."})
    report_gap_threshold = StrictDecimal(load_default=Decimal("0.15"), minimum=0, maximum=1,
                                         places=4, metadata={
        "description": "A final report whose charges differ from the provisional budget "
                       "by more than this share must explain it (default 0.15)."})


class BudgetStatus(Schema):
    """A call's money figures, defined once in ``aap.services.money``."""

    budget_cents = fields.Integer()
    proposed_cents = fields.Integer(metadata={
        "description": "proposed to applications awaiting the decision; holds no money"})
    granted_cents = fields.Integer(metadata={"description": "the decisions' amounts"})
    committed_cents = fields.Integer(metadata={
        "description": "what the grants hold: a grant its amount; once cancelled or "
                       "closed, what was paid less what was claimed back"})
    paid_cents = fields.Integer()
    repaid_cents = fields.Integer(metadata={
        "description": "repayments claimed (titres de recette), received or not"})
    left_to_pay_cents = fields.Integer(metadata={
        "description": "what the grants still owe: committed − paid per application, "
                       "never negative"})
    available_cents = fields.Integer(metadata={"description": "budget − committed"})


class RulesOut(Schema):
    min_request_cents = fields.Integer(allow_none=True)
    max_request_cents = fields.Integer(allow_none=True)
    max_share_of_cost = DecimalString(allow_none=True)


class CriterionOut(Schema):
    key = fields.String()
    label = fields.String()
    weight = DecimalString()
    max = fields.Integer()


class EnvelopeOut(Schema):
    key = fields.String()
    label = fields.String()
    budget_cents = fields.Integer()


class CallOut(Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    fund = fields.Nested(FundOut)
    title = fields.String()
    description = fields.String(allow_none=True)
    fiscal_year = fields.Integer()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    is_open = fields.Boolean()
    budget_cents = fields.Integer()
    envelopes = fields.List(fields.Nested(EnvelopeOut))
    rules = fields.Nested(RulesOut)
    grid = fields.List(fields.Nested(CriterionOut))
    scale = fields.Integer()
    min_total = DecimalString()
    min_reviews = fields.Integer()
    overflow = fields.String()
    partial_min_share = DecimalString()
    convention_threshold_cents = fields.Integer()
    report_gap_threshold = DecimalString()
    juror_ids = fields.List(fields.Integer())
    budget = fields.Nested(BudgetStatus)


class PageArgs(StrictSchema):
    page = QueryInteger(load_default=1, maximum=1_000_000)
    per_page = QueryInteger(load_default=25, maximum=100)


class CallPage(Schema):
    items = fields.List(fields.Nested(CallOut))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class JuryIn(StrictSchema):
    juror_ids = fields.List(Id(), required=True)


class JurorOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()


class JuryOut(Schema):
    call_id = fields.Integer()
    jurors = fields.List(fields.Nested(JurorOut))


# -- organisations --------------------------------------------------------------------
class OrganisationIn(StrictSchema):
    name = Text(300, required=True)
    siret = Text(20, required=True)
    rna = Text(20, allow_none=True)
    address = Text(500, required=True)
    postcode = Text(10, required=True)
    city = Text(200, required=True)
    legal_representative = Text(200, required=True)
    email = fields.String(allow_none=True, validate=length(max=320))
    phone = Text(40, allow_none=True)
    iban = Text(50, allow_none=True)
    bic = Text(20, allow_none=True)


class OrganisationOut(Schema):
    id = fields.Integer()
    name = fields.String()
    siret = fields.String()
    rna = fields.String(allow_none=True)
    address = fields.String()
    postcode = fields.String()
    city = fields.String()
    legal_representative = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    bic = fields.String(allow_none=True)


# -- applications ---------------------------------------------------------------------
class ApplicationFields(StrictSchema):
    title = fields.String()
    summary = fields.String()
    objectives = fields.String()
    target_public = fields.String()
    domains = CodeList(DOMAINS, "Domaines")
    grounds = CodeList(GROUNDS, "Motifs")
    territories = fields.List(fields.String())
    envelope = fields.String(allow_none=True)
    beneficiaries = Count(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    budget = fields.Nested(BudgetSchema)
    requested_cents = Cents(allow_none=True)


class ApplicationIn(ApplicationFields):
    call_id = Id(required=True)
    organisation_id = Id(required=True)


class HistoryOut(Schema):
    trigger = fields.String()
    from_ = fields.String(data_key="from")
    to = fields.String()
    actor = fields.String(allow_none=True)
    at = fields.AwareDateTime()
    comment = fields.String(allow_none=True)


class ActivityOut(Schema):
    action = fields.String()
    actor = fields.String(allow_none=True)
    at = fields.AwareDateTime()
    comment = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


class ApplicationSummary(Schema):
    id = fields.Integer()
    reference = fields.String(allow_none=True)
    state = fields.String()
    state_label = fields.String()
    call_id = fields.Integer()
    organisation_id = fields.Integer()
    organisation_name = fields.String()
    title = fields.String()
    envelope = fields.String(allow_none=True)
    requested_cents = fields.Integer()
    proposed_cents = fields.Integer(allow_none=True)
    committed_cents = fields.Integer()
    submitted_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()


class CompletionOut(Schema):
    message = fields.String()
    deadline = fields.String(metadata={"description": "YYYY-MM-DD or ISO 8601 datetime"})


class RepaymentOut(Schema):
    """A repayment (*reversement*) claimed by a *titre de recette*."""

    id = fields.Integer()
    application_id = fields.Integer()
    amount_cents = fields.Integer()
    reason = fields.String()
    reference = fields.String()
    claimed_on = fields.Date()
    received_on = fields.Date(allow_none=True, metadata={"description": "null until "
                                                                        "received"})


class ApplicationOut(ApplicationSummary):
    summary = fields.String()
    objectives = fields.String()
    target_public = fields.String()
    domains = fields.List(fields.String(), metadata={
        "description": f"codes of GET {VOCABULARIES_URL} (domains)"})
    grounds = fields.List(fields.String(), metadata={
        "description": f"codes of GET {VOCABULARIES_URL} (grounds)"})
    territories = fields.List(fields.String())
    beneficiaries = fields.Integer(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    budget = fields.Nested(BudgetSchema)
    granted_cents = fields.Integer()
    paid_cents = fields.Integer()
    repaid_cents = fields.Integer()
    left_to_pay_cents = fields.Integer(metadata={
        "description": "committed − paid, never negative (aap.services.money)"})
    repayments = fields.List(fields.Nested(RepaymentOut))
    completion = fields.Nested(CompletionOut, allow_none=True)
    score = DecimalString(allow_none=True)
    review_count = fields.Integer(allow_none=True)
    disagreement = fields.Boolean(allow_none=True)
    history = fields.List(fields.Nested(HistoryOut))
    activity = fields.List(fields.Nested(ActivityOut))
    available_triggers = fields.List(fields.String())


class ApplicationListArgs(PageArgs):
    call_id = QueryInteger(maximum=MAX_ID)
    state = fields.String(validate=[length(max=40), validate.Regexp(
        r"^[a-z_]*$", error="Code d'état attendu (ex. submitted).")], metadata={
        "description": "a state of the workflow, e.g. submitted"})


class ApplicationPage(Schema):
    items = fields.List(fields.Nested(ApplicationSummary))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class DecisionIn(StrictSchema):
    body = fields.String(required=True, validate=length(1, 200))
    reference = fields.String(required=True, validate=length(1, 100))
    date = fields.Date(required=True)


class ScheduleRow(StrictSchema):
    kind = fields.String(required=True, validate=one_of(PAYMENT_KINDS))
    share = StrictDecimal(required=True, minimum=0, maximum=1, places=4,
                          exclusive_minimum=True)


class ConventionIn(StrictSchema):
    reference = fields.String(required=True, validate=length(1, 100))
    signed_on = fields.Date(required=True)
    schedule = fields.List(fields.Nested(ScheduleRow))


class RepaymentIn(StrictSchema):
    amount_cents = Cents(required=True)
    claimed_on = fields.Date()
    reference = Text(60)
    reason = Text(10000)


class RealisedIn(StrictSchema):
    charges = fields.Nested(BudgetCharges)
    products = fields.Nested(BudgetProducts)


class PaymentIn(StrictSchema):
    kind = fields.String(required=True, validate=one_of(PAYMENT_KINDS))
    amount_cents = Cents(required=True)
    paid_on = fields.Date(required=True)
    mandate = Text(60, load_default="")


class ReportIn(StrictSchema):
    realised = fields.Nested(RealisedIn, required=True)
    beneficiaries_reached = Count(load_default=0)
    narrative = fields.String(required=True)
    gap_explanation = fields.String()


class TransitionIn(StrictSchema):
    """Trigger data; which fields a trigger needs is checked by its guards (422)."""

    comment = Text(10000)
    amount_cents = Cents()
    decision = fields.Nested(DecisionIn)
    convention = fields.Nested(ConventionIn)
    force = StrictBoolean()
    deadline = Text(40, metadata={"description": "YYYY-MM-DD or ISO 8601 datetime"})
    kind = fields.String(validate=one_of(PAYMENT_KINDS))
    paid_on = fields.Date()
    mandate = Text(60)
    realised = fields.Nested(RealisedIn)
    beneficiaries_reached = Count()
    narrative = fields.String()
    gap_explanation = fields.String()
    repayment = fields.Nested(RepaymentIn)
    release_unpaid = StrictBoolean()


class PaymentOut(Schema):
    id = fields.Integer()
    application_id = fields.Integer()
    kind = fields.String()
    amount_cents = fields.Integer()
    paid_on = fields.Date()
    mandate = fields.String()
    state = fields.String()
    paid_total_cents = fields.Integer()
    left_to_pay_cents = fields.Integer()


class ReportLineOut(Schema):
    side = fields.String()
    code = fields.String()
    amount_cents = fields.Integer()


class ReportOut(Schema):
    application_id = fields.Integer()
    state = fields.String()
    narrative = fields.String()
    gap_explanation = fields.String(allow_none=True)
    beneficiaries_reached = fields.Integer()
    submitted_at = fields.AwareDateTime()
    lines = fields.List(fields.Nested(ReportLineOut))


class ReviewIn(StrictSchema):
    conflict = StrictBoolean(load_default=False)
    scores = DecimalMap(StrictDecimal(minimum=0, maximum=1000, places=3), load_default=dict,
                        metadata={"description": "a score per criterion key, from 0 to the "
                                                 "criterion's max"})
    comments = fields.Dict(keys=fields.String(validate=length(1, 60)), values=Text(10000),
                           metadata={"description": "a comment per criterion"})
    comment = Text(10000, load_default="")
    submit = StrictBoolean(load_default=False)


class ReviewOut(Schema):
    id = fields.Integer()
    juror_id = fields.Integer()
    juror = fields.String()
    conflict = fields.Boolean()
    scores = fields.Dict(keys=fields.String(), values=DecimalString())
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    comment = fields.String(allow_none=True)
    total = DecimalString(allow_none=True)
    submitted = fields.Boolean()
    submitted_at = fields.AwareDateTime(allow_none=True)
