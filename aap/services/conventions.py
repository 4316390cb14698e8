"""The convention of a grant (SPEC 3; issue 9, item 6): a PDF rendered by WeasyPrint from
the Jinja template ``documents/convention.html``, with the parties and their SIRET, the
object, the amount in figures and in words, the payment schedule, the budget imputation,
the beneficiary's obligations and the signatures.

A convention is required above the call's ``convention_threshold_cents`` (23 000 € by
default, décret n° 2001-495): the ``convention_if_required`` guard refuses a payment
before it is signed. Below, the document may still be produced. It is the legal text of
the grant and stays in French whatever the language of the interface.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask import render_template

from aap.errors import Conflict, Forbidden
from aap.models import Application, User
from aap.models.accounts import Role
from aap.money import format_eur
from aap.services import applications, policies
from workflows.application import PHASES

#: The default schedule when no signed convention recorded one: 80 % on signature, the
#: balance once the final report is approved.
DEFAULT_SCHEDULE = ({"kind": "advance", "share": "0.8"}, {"kind": "balance", "share": "0.2"})
KIND_LABELS = {
    "advance": "Avance, à la signature de la convention",
    "instalment": "Acompte, sur justification de l'avancement de l'action",
    "balance": "Solde, après approbation du compte rendu financier (CERFA n° 15059)",
}
REPORT_MONTHS = 6
#: The states in which a grant stands (decided, not cancelled).
GRANTED_STATES = PHASES["standing"]
STAFF = (Role.INSTRUCTOR, Role.FINANCE)


def _percent(share: Decimal) -> str:
    """0.8 → « 80 % », 0.125 → « 12,5 % »."""
    return f"{(Decimal(share) * 100).normalize():f}".replace(".", ",") + "\u00a0%"


def required(app: Application) -> bool:
    """Whether the grant needs a signed convention before any payment."""
    return app.granted_cents > app.call.convention_threshold_cents


def may_download(user: User, app: Application) -> bool:
    """Instructors and finance officers of the application's authority or of a parent
    (a read); the organisation's members once granted."""
    if policies.reads_as_staff(user, app, *STAFF):
        return True
    return policies.acts_as(user, app, Role.APPLICANT)


@dataclass(frozen=True)
class Instalment:
    kind: str
    label: str
    share: Decimal
    amount_cents: int

    @property
    def percent(self) -> str:
        return _percent(self.share)

    @property
    def amount(self) -> str:
        return format_eur(self.amount_cents)


@dataclass(frozen=True)
class ConventionDocument:
    application: Application
    reference: str
    draft: bool
    signed_on: date | None
    amount_cents: int
    schedule: list[Instalment]
    report_due: date | None
    required: bool

    @property
    def amount(self) -> str:
        return format_eur(self.amount_cents)

    @property
    def amount_in_words(self) -> str:
        return amount_in_words(self.amount_cents)

    @property
    def report_gap(self) -> str:
        return _percent(self.application.call.report_gap_threshold)

    @property
    def threshold(self) -> str:
        return format_eur(self.application.call.convention_threshold_cents)

    @property
    def project_cost(self) -> str:
        return format_eur(self.application.total("charges"))

    @property
    def share_of_cost(self) -> str | None:
        cost = self.application.total("charges")
        if not cost:
            return None
        share = (Decimal(self.amount_cents) * 100 / cost).quantize(Decimal("0.1"),
                                                                   ROUND_HALF_UP)
        return f"{share:f}".replace(".", ",") + " %"

    @property
    def filename(self) -> str:
        text = unicodedata.normalize("NFKD", self.reference).encode("ascii", "ignore").decode()
        return f"convention-{re.sub(r'[^A-Za-z0-9]+', '-', text).strip('-') or 'projet'}.pdf"


def document(user: User, application_id: int) -> ConventionDocument:
    """The convention of a granted application, for a user allowed to read it: 404 when
    the application is not visible, 403 for another role, 409 without a standing grant."""
    app = applications.get_visible(user, application_id)
    if not may_download(user, app):
        raise Forbidden("La convention est réservée à l'instruction, aux finances et au "
                        "porteur du projet.")
    if app.decision is None or app.state not in GRANTED_STATES:
        raise Conflict("Aucune subvention accordée à ce dossier : pas de convention.")
    return build(app)


def build(app: Application) -> ConventionDocument:
    amount = app.granted_cents
    signed = app.convention
    rows = signed.schedule if signed and signed.schedule else DEFAULT_SCHEDULE
    return ConventionDocument(
        application=app,
        reference=signed.reference if signed else f"CONV-{app.reference or app.id}",
        draft=signed is None, signed_on=signed.signed_on if signed else None,
        amount_cents=amount, schedule=schedule(amount, rows),
        report_due=add_months(app.ends_on, REPORT_MONTHS) if app.ends_on else None,
        required=required(app))


def schedule(amount_cents: int, rows) -> list[Instalment]:
    """Each instalment's amount: its share rounded to the cent, the last one taking what
    is left, so that the instalments add up to the grant exactly."""
    out: list[Instalment] = []
    left = amount_cents
    for i, row in enumerate(rows):
        share = Decimal(str(row["share"]))
        if i == len(rows) - 1:
            cents = left
        else:
            cents = int((Decimal(amount_cents) * share).quantize(Decimal(1), ROUND_HALF_UP))
        left -= cents
        out.append(Instalment(row["kind"], KIND_LABELS.get(row["kind"], row["kind"]), share,
                              cents))
    return out


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 August + 6 → 28/29
    February)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def render_html(doc: ConventionDocument) -> str:
    app = doc.application
    return render_template("documents/convention.html", doc=doc, app=app, call=app.call,
                           fund=app.call.fund, org=app.organisation, decision=app.decision,
                           format_eur=format_eur)


def render_pdf(doc: ConventionDocument) -> bytes:
    from weasyprint import HTML  # heavy: imported when a convention is asked for

    return HTML(string=render_html(doc)).write_pdf()


# -- amounts in words (French, traditional spelling) ------------------------------------

UNITS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
         "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept",
         "dix-huit", "dix-neuf")
TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}


def _below_100(n: int, final: bool) -> str:
    if n < 20:
        return UNITS[n]
    tens, unit = divmod(n, 10)
    if tens == 7:
        return "soixante et onze" if unit == 1 else f"soixante-{UNITS[10 + unit]}"
    if tens == 8:
        return ("quatre-vingts" if final else "quatre-vingt") if unit == 0 \
            else f"quatre-vingt-{UNITS[unit]}"
    if tens == 9:
        return f"quatre-vingt-{UNITS[10 + unit]}"
    if unit == 0:
        return TENS[tens]
    return f"{TENS[tens]} et un" if unit == 1 else f"{TENS[tens]}-{UNITS[unit]}"


def _below_1000(n: int, final: bool) -> str:
    """``final``: nothing but a noun (million, euros) follows, so « cents » and
    « quatre-vingts » keep their plural; before « mille » they lose it."""
    hundreds, rest = divmod(n, 100)
    if hundreds == 0:
        return _below_100(rest, final)
    head = "cent" if hundreds == 1 else f"{UNITS[hundreds]} cent"
    if rest == 0:
        return head + ("s" if hundreds > 1 and final else "")
    return f"{head} {_below_100(rest, final)}"


def number_in_words(n: int) -> str:
    if n == 0:
        return "zéro"
    words = []
    for value, name in ((10**9, "milliard"), (10**6, "million")):
        count, n = divmod(n, value)
        if count:
            words.append(f"{_below_1000(count, True) if count < 1000 else number_in_words(count)}"
                         f" {name}{'s' if count > 1 else ''}")
    thousands, n = divmod(n, 1000)
    if thousands:
        words.append("mille" if thousands == 1 else f"{_below_1000(thousands, False)} mille")
    if n:
        words.append(_below_1000(n, True))
    return " ".join(words)


def amount_in_words(cents: int) -> str:
    """« douze mille cinq cents euros », « un million d'euros », « trois euros et
    cinquante centimes »."""
    euros, rest = divmod(cents, 100)
    text = number_in_words(euros)
    if euros >= 10**6 and euros % 10**6 == 0:
        text += " d'euros"
    else:
        text += " euro" if euros <= 1 else " euros"
    if rest:
        text += f" et {number_in_words(rest)} centime{'s' if rest > 1 else ''}"
    return text
