"""GET /api/v1/vocabularies: the codes of the controlled vocabularies, with their French
labels (SPEC 3 and 7.1). Anyone may read them: integrators build their forms on them."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aap.vocabulary import ATTACHMENT_KINDS, CHARGE_LINES, DOMAINS, GROUNDS, PRODUCT_LINES

blp = Blueprint("api_vocabularies", __name__, description="Controlled vocabularies")


class TermOut(Schema):
    code = fields.String(required=True, metadata={"description": "what the API takes"})
    label = fields.String(required=True, metadata={"description": "French label"})


class BudgetLinesOut(Schema):
    charges = fields.List(fields.Nested(TermOut), required=True)
    products = fields.List(fields.Nested(TermOut), required=True)


class VocabulariesOut(Schema):
    domains = fields.List(fields.Nested(TermOut), required=True)
    grounds = fields.List(fields.Nested(TermOut), required=True)
    attachment_kinds = fields.List(fields.Nested(TermOut), required=True)
    budget_lines = fields.Nested(BudgetLinesOut, required=True)


def terms(vocabulary: Mapping[str, object]) -> list[dict[str, str]]:
    return [{"code": code, "label": str(label)} for code, label in vocabulary.items()]


def vocabularies() -> dict:
    """Every vocabulary, labels in French whatever the caller's language."""
    with force_locale("fr"):
        return {
            "domains": terms(DOMAINS),
            "grounds": terms(GROUNDS),
            "attachment_kinds": terms(ATTACHMENT_KINDS),
            "budget_lines": {"charges": terms(CHARGE_LINES), "products": terms(PRODUCT_LINES)},
        }


@blp.route("/vocabularies", methods=["GET"])
@blp.response(200, VocabulariesOut)
def list_vocabularies():
    """The codes that domains, grounds, attachment kinds and budget lines take, each with
    its French label (no token needed)."""
    return vocabularies()
