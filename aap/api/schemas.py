"""Marshmallow schemas of the v1 API: they validate input and generate the OpenAPI doc."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from aap.models.calls import OVERFLOW_RULES
from aap.models.finance import PAYMENT_KINDS
from aap.vocabulary import PRODUCT_LINES

Cents = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=0), **kw)  # noqa: E731
Id = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1),  # noqa: E731
                                 **kw)
Text = lambda size, **kw: fields.String(validate=validate.Length(max=size), **kw)  # noqa: E731
Budget = lambda **kw: fields.Dict(  # noqa: E731
    keys=fields.String(validate=validate.OneOf(["charges", "products"])),
    values=fields.Dict(keys=fields.String(), values=fields.Integer(strict=True)), **kw)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


# -- auth -----------------------------------------------------------------------------
class TokenIn(StrictSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class UserOut(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())


class TokenOut(Schema):
    token = fields.String()
    user = fields.Nested(UserOut)


class RegisterIn(StrictSchema):
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


# -- funds and calls ------------------------------------------------------------------
class ImputationSchema(StrictSchema):
    chapter = Text(10, load_default="65")
    nature = Text(10, load_default="65748")
    function = Text(10, load_default="")
    subpolicy = Text(20, load_default="")


class FundIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner_name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    owner_siret = fields.String(required=True)
    imputation = fields.Nested(ImputationSchema, load_default=dict)
    owner_product_line = fields.String(validate=validate.OneOf(list(PRODUCT_LINES)))
    notification_ue = fields.Boolean()


class FundOut(Schema):
    id = fields.Integer()
    name = fields.String()
    owner_name = fields.String()
    owner_siret = fields.String()
    imputation = fields.Dict()
    owner_product_line = fields.String()
    notification_ue = fields.Boolean()


class EnvelopeSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=60))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    budget_cents = Cents(required=True)


class RulesSchema(StrictSchema):
    min_request_cents = Cents(allow_none=True)
    max_request_cents = Cents(allow_none=True)
    max_share_of_cost = fields.Decimal(allow_none=True, as_string=True,
                                       validate=validate.Range(min=0, max=1, min_inclusive=False))


class CriterionSchema(StrictSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=60))
    label = fields.String(required=True, validate=validate.Length(min=1, max=300))
    weight = fields.Decimal(load_default=1, as_string=True,
                            validate=validate.Range(min=0, min_inclusive=False))
    max = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))


class CallIn(StrictSchema):
    fund_id = Id(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    description = Text(20000)
    fiscal_year = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=2000, max=2100))
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    budget_cents = Cents(required=True)
    envelopes = fields.List(fields.Nested(EnvelopeSchema), load_default=list)
    rules = fields.Nested(RulesSchema, load_default=dict)
    grid = fields.List(fields.Nested(CriterionSchema), load_default=list)
    scale = fields.Integer(strict=True, load_default=20, validate=validate.Range(min=1, max=1000))
    min_total = fields.Decimal(load_default=0, as_string=True, validate=validate.Range(min=0))
    min_reviews = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=0))
    overflow = fields.String(load_default="partial", validate=validate.OneOf(OVERFLOW_RULES))
    partial_min_share = fields.Decimal(load_default="0.5", as_string=True,
                                       validate=validate.Range(min=0, max=1))


class BudgetStatus(Schema):
    budget_cents = fields.Integer()
    granted_cents = fields.Integer()
    committed_cents = fields.Integer()
    paid_cents = fields.Integer()
    repaid_cents = fields.Integer()
    available_cents = fields.Integer()


class CallOut(Schema):
    id = fields.Integer()
    fund_id = fields.Integer()
    fund = fields.Nested(FundOut)
    title = fields.String()
    description = fields.String()
    fiscal_year = fields.Integer()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    is_open = fields.Boolean()
    budget_cents = fields.Integer()
    envelopes = fields.List(fields.Nested(EnvelopeSchema))
    rules = fields.Nested(RulesSchema)
    grid = fields.List(fields.Nested(CriterionSchema))
    scale = fields.Integer()
    min_total = fields.Decimal(as_string=True)
    min_reviews = fields.Integer()
    overflow = fields.String()
    partial_min_share = fields.Decimal(as_string=True)
    juror_ids = fields.List(fields.Integer())
    budget = fields.Nested(BudgetStatus)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


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
    name = fields.String(required=True)
    siret = fields.String(required=True)
    rna = fields.String(allow_none=True)
    address = fields.String(required=True)
    postcode = fields.String(required=True)
    city = fields.String(required=True)
    legal_representative = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    iban = fields.String(allow_none=True)
    bic = fields.String(allow_none=True)


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
    domains = fields.List(fields.String())
    grounds = fields.List(fields.String())
    territories = fields.List(fields.String())
    envelope = fields.String(allow_none=True)
    beneficiaries = fields.Integer(strict=True, allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    budget = Budget()
    requested_cents = fields.Integer(strict=True, allow_none=True)


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
    data = fields.Dict()


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
    proposed_cents = fields.Integer()
    committed_cents = fields.Integer()
    submitted_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()


class ApplicationOut(ApplicationSummary):
    summary = fields.String()
    objectives = fields.String()
    target_public = fields.String()
    domains = fields.List(fields.String())
    grounds = fields.List(fields.String())
    territories = fields.List(fields.String())
    beneficiaries = fields.Integer()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    budget = fields.Dict()
    granted_cents = fields.Integer()
    paid_cents = fields.Integer()
    completion = fields.Dict(allow_none=True)
    score = fields.Decimal(as_string=True, allow_none=True)
    review_count = fields.Integer(allow_none=True)
    disagreement = fields.Boolean(allow_none=True)
    history = fields.List(fields.Nested(HistoryOut))
    activity = fields.List(fields.Nested(ActivityOut))
    available_triggers = fields.List(fields.String())


class ApplicationListArgs(PageArgs):
    call_id = fields.Integer()
    state = fields.String()


class ApplicationPage(Schema):
    items = fields.List(fields.Nested(ApplicationSummary))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()


class DecisionIn(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date = fields.Date(required=True)


class ScheduleRow(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    share = fields.Decimal(required=True, as_string=True)


class ConventionIn(StrictSchema):
    reference = fields.String(required=True, validate=validate.Length(min=1, max=100))
    signed_on = fields.Date(required=True)
    schedule = fields.List(fields.Nested(ScheduleRow))


class RepaymentIn(StrictSchema):
    amount_cents = Cents(required=True)
    claimed_on = fields.Date()
    reference = Text(60)
    reason = fields.String()


class RealisedIn(StrictSchema):
    charges = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True))
    products = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True))


class PaymentIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    amount_cents = fields.Integer(required=True, strict=True)
    paid_on = fields.Date(required=True)
    mandate = Text(60, load_default="")


class ReportIn(StrictSchema):
    realised = fields.Nested(RealisedIn, required=True)
    beneficiaries_reached = fields.Integer(strict=True, load_default=0)
    narrative = fields.String(required=True)
    gap_explanation = fields.String()


class TransitionIn(StrictSchema):
    """Trigger data; which fields a trigger needs is checked by its guards (422)."""

    comment = Text(10000)
    amount_cents = fields.Integer(strict=True)
    decision = fields.Nested(DecisionIn)
    convention = fields.Nested(ConventionIn)
    force = fields.Boolean()
    deadline = fields.String(metadata={"description": "YYYY-MM-DD or ISO 8601 datetime"})
    kind = fields.String(validate=validate.OneOf(PAYMENT_KINDS))
    paid_on = fields.Date()
    mandate = Text(60)
    realised = fields.Nested(RealisedIn)
    beneficiaries_reached = fields.Integer(strict=True)
    narrative = fields.String()
    gap_explanation = fields.String()
    repayment = fields.Nested(RepaymentIn)
    release_unpaid = fields.Boolean()


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


class ReportOut(Schema):
    application_id = fields.Integer()
    state = fields.String()
    narrative = fields.String()
    gap_explanation = fields.String()
    beneficiaries_reached = fields.Integer()
    submitted_at = fields.AwareDateTime()
    lines = fields.List(fields.Dict())


class ReviewIn(StrictSchema):
    conflict = fields.Boolean(load_default=False)
    scores = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    comments = fields.Dict(keys=fields.String(), values=fields.String(),
                           metadata={"description": "a comment per criterion"})
    comment = Text(10000, load_default="")
    submit = fields.Boolean(load_default=False)


class ReviewOut(Schema):
    id = fields.Integer()
    juror_id = fields.Integer()
    juror = fields.String()
    conflict = fields.Boolean()
    scores = fields.Dict()
    comments = fields.Dict()
    comment = fields.String()
    total = fields.Decimal(as_string=True, allow_none=True)
    submitted = fields.Boolean()
    submitted_at = fields.AwareDateTime(allow_none=True)
