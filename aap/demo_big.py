"""A big call for the benchmarks and the load tests: ``aap demo --applications N``.

:func:`generate` adds one call of ``n`` applications to the database, on the demo's fund,
staff and jury (:mod:`aap.demo`), or on a fund and staff of its own when the demo is not
loaded. The call is a year of the metropolitan fund's rolling call: it opened some
eleven months ago and is still open; a jury meets every four weeks, each session's
reviewed applications are ranked by a committed allocation run, the Bureau grants the
proposals two weeks later, and the grants go on to conventions, payments, final reports,
repayments and closing. So the applications are spread over every state as such a year
leaves them: recent drafts and submissions, completions, ineligible files, the jury's
work in progress, refusals, the waitlist, grants paid in part or in whole, reports with
some under-spending, closings, a few withdrawals and cancellations. Organisations
(French association names, SIRET and RNA, IBAN) file one to several applications each,
in the six territories of the demo; the call's budget is about a third of what is asked.

Why SQL, and what it keeps
--------------------------
Firing some ten transitions through :mod:`aap.services.workflow` for each of 100 000
applications would take hours (each locks, loads, checks and commits on its own). So the
year is played in memory, by the rules of the workflow definition and of its guards, and
then written in bulk, never an ORM object per row: each table's SQLAlchemy Core
``insert`` is compiled once and run on lists of dicts, by chunks, as the driver's
``executemany``, each value bound by its column's type (:class:`Insert`); the ids are
then fetched in bulk by the rows' keys (``RETURNING`` batches are several times slower on
PostgreSQL). The rows are what the services would have written, and
``tests/test_demo_big.py`` checks it against SPEC oracles:

- **States**: each application's state is reached by transitions of
  ``workflows.application.TRANSITIONS`` from ``draft`` (an illegal step raises while the
  year is played), each written as its audit event (trigger, from, to, an actor of the
  transition's role, the time, the motivation where a guard requires one, the trigger's
  data as the engine records it: amounts, decision, convention, payment with its id,
  report); the jury's assignments, reviews, conflicts, later payments and repayments are
  audited actions. An application's events are in time order.
- **Money**: ``proposed_cents`` is set by ``propose``/``promote`` and cleared by
  ``waitlist``/``reject``/``withdraw``; a grant commits its decision's amount; a
  cancelled or closed grant commits what was paid less what was claimed back (SPEC 4,
  :mod:`aap.services.money`). Payments never exceed the grant: the first fires ``pay``
  (after the convention, always signed above the call's threshold), the next ones are
  audited; the balance is what the approved report justifies pro rata
  (:func:`aap.services.repayments.pro_rata`), and what was paid beyond it is claimed
  back when the file is closed.
- **Allocation**: each session's run is the engine's own result
  (:func:`aap.allocation.engine.allocate`) on the applications reviewed by then, scored
  by :func:`aap.services.aggregation.aggregate` (mean of the jurors' totals), under the
  call's settings, with the session's share of the budget as the what-if budget (and what
  is left of each envelope); it is stored as a committed run (the earlier ones
  superseded) that ``aap allocate --replay`` recomputes byte for byte. Money freed by
  withdrawals, cancellations and closings below the grant promotes the waitlist; a
  waitlist three sessions old is refused. At every grant, what the call and the
  envelope commit stays within their budgets.
- **Files**: budgets in the CERFA 12156 layout, balanced, with the request on the
  fund's product line and within the call's rules; reviews with their criterion scores
  and the weighted total of :func:`aap.services.scoring.weighted_total`; decisions with
  the deliberation's reference and date; conventions with their schedule; payments with
  mandate numbers; reports (CERFA 15059) balanced, with the gap explained above the
  call's threshold. Dates follow each other: creation < submission < decision <
  convention < payments < report < closing.

Left out on purpose: the outbox (a year of mails would have been sent; nothing reads
them) and attachments (files on disk). The model requires a SIRET, so every
organisation has one; about one in ten has no RNA (not an association).

:func:`generate` is deterministic for a given seed, day and database.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import operator
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import JSON, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from stdnum import luhn
from werkzeug.security import generate_password_hash

from aap import demo
from aap.allocation import engine
from aap.allocation.engine import Candidate, Parameters
from aap.database import UTCDateTime
from aap.demo import PLACES, Place, ascii_slug
from aap.extensions import db
from aap.memory import cycle_collector_paused
from aap.models import (
    AllocationRow,
    AllocationRun,
    Application,
    AuditEvent,
    BudgetLine,
    Call,
    Convention,
    Decision,
    Fund,
    Membership,
    Organisation,
    Payment,
    ReferenceCounter,
    Repayment,
    Report,
    ReportLine,
    Review,
    ReviewScore,
    User,
    UserRole,
)
from aap.services import accounts, aggregation, calls
from aap.services.repayments import pro_rata
from aap.timeutil import PARIS, end_of_day_paris, now, to_paris
from workflows.application import INITIAL, PHASES, TRANSITIONS, triggers_guarded_by

# -- the workflow's rules, read from its definition -------------------------------------

#: (state, trigger) -> the state it leads to.
LEGAL: dict[tuple[str, str], str] = {
    (source, t["trigger"]): t["dest"] for t in TRANSITIONS for source in t["source"]}
#: The role that fires each trigger.
ROLE: dict[str, str] = {t["trigger"]: t["roles"][0] for t in TRANSITIONS}
MOTIVATED = triggers_guarded_by("comment_required")

# -- the call ------------------------------------------------------------------------------

CHUNK = 5_000
JURORS_PER_APPLICATION = 3
REVIEWS_PER_JUROR = 400  # beyond the demo's five jurors, the jury grows with the call
MIN_REQUEST, MAX_REQUEST = 1_000_00, 40_000_00
SINGLE_PAYMENT_UP_TO = 5_000_00
ASKED_PER_BUDGET = 3  # the budget is about a third of what is asked
RULES = {"min_request_cents": MIN_REQUEST, "max_request_cents": MAX_REQUEST,
         "max_share_of_cost": Decimal("0.8")}
SETTINGS = {"scale": 20, "min_total": Decimal(12), "min_reviews": 2, "overflow": "partial",
            "partial_min_share": Decimal("0.5")}
BUREAU = demo.BUREAU
DESCRIPTION = (
    "Appel à projets au fil de l'eau du Fonds d'initiative du Plan métropolitain de "
    "prévention et de lutte contre les discriminations : le jury se réunit toutes les "
    "quatre semaines, chaque session répartit sa part du budget annuel entre les dossiers "
    "évalués, et le Bureau de la Métropole attribue les subventions par enveloppe de "
    "Conseil de Territoire. Subvention de 1 000 € à 40 000 €, dans la limite de 80 % du "
    "coût total du projet ; convention obligatoire au-delà de 23 000 €.")

# When the demo is not loaded: a fund and staff of the big call's own.
OWN_FUND = {**demo.FUND, "name": demo.FUND["name"] + " — jeu de données de charge"}
OWN_STAFF: list[tuple[str, str, str]] = [
    ("instructor", "instruction.est@charge-pmlcd.example.org", "Camille Ferracci"),
    ("instructor", "instruction.ouest@charge-pmlcd.example.org", "Hugo Lambert"),
    ("finance", "finances.est@charge-pmlcd.example.org", "Agnès Paoli"),
    ("finance", "finances.ouest@charge-pmlcd.example.org", "Rémi Castel"),
    *[("juror", f"jure{k}@charge-pmlcd.example.org", f"{first} {last}")
      for k, (first, last) in enumerate([("Martine", "Guérin"), ("Youssef", "Haddou"),
                                          ("Estelle", "Barbier"), ("Kader", "Ziani"),
                                          ("Odile", "Marin")], start=1)],
]

# -- places: the demo's, and more communes and priority neighbourhoods of the Métropole --

MORE_PLACES: list[Place] = [
    Place("Marseille", "13015", "Les Aygalades", "marseille_provence"),
    Place("Marseille", "13015", "Le Plan d'Aou", "marseille_provence"),
    Place("Marseille", "13015", "Kalliste", "marseille_provence"),
    Place("Marseille", "13015", "La Solidarité", "marseille_provence"),
    Place("Marseille", "13014", "Bassens", "marseille_provence"),
    Place("Marseille", "13014", "La Busserine", "marseille_provence"),
    Place("Marseille", "13014", "Les Flamants", "marseille_provence"),
    Place("Marseille", "13003", "Saint-Mauront", "marseille_provence"),
    Place("Marseille", "13013", "La Rose", "marseille_provence"),
    Place("Marseille", "13013", "Les Olives", "marseille_provence"),
    Place("Marseille", "13009", "La Cayolle", "marseille_provence"),
    Place("Marseille", "13010", "La Sauvagère", "marseille_provence"),
    Place("Allauch", "13190", None, "marseille_provence"),
    Place("Plan-de-Cuques", "13380", None, "marseille_provence"),
    Place("Septèmes-les-Vallons", "13240", None, "marseille_provence"),
    Place("Les Pennes-Mirabeau", "13170", None, "marseille_provence"),
    Place("Cassis", "13260", None, "marseille_provence"),
    Place("Châteauneuf-les-Martigues", "13220", None, "marseille_provence"),
    Place("Gignac-la-Nerthe", "13180", None, "marseille_provence"),
    Place("Aix-en-Provence", "13090", "Corsy", "pays_aix"),
    Place("Aix-en-Provence", "13090", "Beisson", "pays_aix"),
    Place("Bouc-Bel-Air", "13320", None, "pays_aix"),
    Place("Venelles", "13770", None, "pays_aix"),
    Place("Trets", "13530", None, "pays_aix"),
    Place("Lambesc", "13410", None, "pays_aix"),
    Place("Salon-de-Provence", "13300", "La Monaque", "pays_salonais"),
    Place("Lançon-Provence", "13680", None, "pays_salonais"),
    Place("Eyguières", "13430", None, "pays_salonais"),
    Place("Rognac", "13340", None, "pays_salonais"),
    Place("Saint-Chamas", "13250", None, "pays_salonais"),
    Place("Gémenos", "13420", None, "pays_aubagne"),
    Place("Roquevaire", "13360", None, "pays_aubagne"),
    Place("La Penne-sur-Huveaune", "13821", None, "pays_aubagne"),
    Place("Istres", "13800", "Les Quatre Vents", "istres_ouest_provence"),
    Place("Grans", "13450", None, "istres_ouest_provence"),
    Place("Martigues", "13500", "Paradis Saint-Roch", "pays_martigues"),
    Place("Saint-Mitre-les-Remparts", "13920", None, "pays_martigues"),
]
# Where the applications come from, by Conseil de Territoire (population and QPV).
TERRITORY_WEIGHTS = {"marseille_provence": 48, "pays_aix": 18, "pays_salonais": 8,
                     "pays_aubagne": 8, "istres_ouest_provence": 9, "pays_martigues": 9}
WEST = demo.WEST


def places_by_territory() -> dict[str, list[Place]]:
    out: dict[str, list[Place]] = {key: [] for key in TERRITORY_WEIGHTS}
    for place in [*PLACES.values(), *MORE_PLACES]:
        out[place.territory].append(place)
    return out


def _article(name: str) -> tuple[str, str]:
    """The name's article and the rest (« La Castellane » -> (« la », « Castellane »))."""
    for article in ("Les ", "Le ", "La "):
        if name.startswith(article):
            return article.strip().lower(), name[len(article):]
    if name.startswith("L'"):
        return "l'", name[2:]
    return "", name


@functools.cache
def phrases(place: Place) -> dict[str, str]:
    return {"of": of(place), "at": at(place)}


def _joined(article: str, rest: str) -> str:
    return f"{article}{rest}" if article.endswith("'") else f"{article} {rest}"


def of(place: Place) -> str:
    """« de Frais Vallon », « du Prépaou », « des Canourgues », « de la Castellane »,
    « d'Aubagne », « de La Ciotat » (a commune keeps its article)."""
    name = place.qpv or place.commune
    article, rest = _article(name)
    if article == "le":
        return f"du {rest}"
    if article == "les":
        return f"des {rest}"
    if article and place.qpv is not None:
        return f"de {_joined(article, rest)}"
    return f"d'{name}" if name[0] in "AEÉIOUYH" else f"de {name}"


def at(place: Place) -> str:
    """« à Frais Vallon », « au Prépaou », « aux Canourgues », « à la Castellane »."""
    name = place.qpv or place.commune
    article, rest = _article(name)
    if article == "le":
        return f"au {rest}"
    if article == "les":
        return f"aux {rest}"
    if article and place.qpv is not None:
        return f"à {_joined(article, rest)}"
    return f"à {name}"


# -- words ---------------------------------------------------------------------------------

ORG_FORMS = [
    "Association", "Collectif", "Comité", "Réseau", "Union", "Amicale", "Maison de quartier",
    "Centre social", "Compagnie", "Club", "Atelier", "Cercle", "Fédération", "Ligue",
    "Espace", "Maison des jeunes et de la culture", "Foyer", "Coordination", "Mouvement",
    "Groupement", "Entraide", "Plateforme", "Conseil citoyen", "Collectif de femmes",
    "Association sportive",
]
ORG_WORDS = [
    "Passerelles", "Horizons", "Trait d'union", "Regards croisés", "Mille visages",
    "Terre d'accueil", "Ensemble", "Parcours", "Tremplin", "Boussole", "Archipel",
    "Mosaïque", "Graines de citoyens", "Pas à pas", "Voix de femmes", "Jeunesse en mouvement",
    "Égalité des chances", "Droits devant", "Main tendue", "Les Bâtisseurs", "Solidarités",
    "Vivre ensemble", "Cultures du monde", "Accès aux droits", "Sport et citoyenneté",
    "Médiation sociale", "Éducation populaire", "Insertion et emploi", "Handi-Cap",
    "Mémoires vives", "Paroles d'habitants", "Sans frontières", "Le Lien", "La Clé",
    "Cap sur l'égalité", "Élan", "Envol", "Les Semeurs", "Agir", "L'Escale", "Le Relais",
    "Femmes en action", "Double vue", "Le Pont", "Nouvel Horizon",
]
NON_ASSOCIATIONS = ["SCIC", "Fondation", "Mutuelle", "Coopérative"]
STREETS = [
    "rue de la République", "avenue Jean Jaurès", "boulevard Charles de Gaulle",
    "rue Victor Hugo", "avenue de la Libération", "chemin des Écoles", "place de la Mairie",
    "rue Pasteur", "boulevard National", "avenue Jules Ferry", "rue Jean Moulin",
    "rue Émile Zola", "avenue du Général Leclerc", "traverse des Tuileries",
    "chemin de la Bastide", "rue des Lilas", "avenue Paul Vaillant-Couturier",
    "boulevard Gambetta", "rue Louis Pasteur", "allée des Pins",
]
DOMAIN_WEIGHTS = {"emploi": 25, "education": 18, "acces_aux_droits": 15, "culture_sport": 14,
                  "citoyennete": 12, "logement": 7, "sante": 5, "services_publics": 2,
                  "loisirs": 2}
GROUND_WEIGHTS = {"origine": 50, "lieu_residence": 35, "sexe": 25, "vulnerabilite_economique": 15,
                  "handicap": 12, "religion": 10, "age": 10, "orientation_sexuelle": 6,
                  "langue": 6, "patronyme": 5, "identite_genre": 4, "etat_sante": 3,
                  "ethnie_nation_race": 3, "situation_famille": 3, "apparence_physique": 2}
TITLES: dict[str, list[str]] = {
    "emploi": [
        "Forum de l'emploi sans discrimination {at}", "Recruter sans discriminer : former "
        "les employeurs {of}", "Parrainage vers l'emploi des jeunes {of}",
        "Job dating inclusif {at}", "Mentorat professionnel des femmes {of}",
        "Lever les freins à l'emploi des habitants {of}"],
    "education": [
        "Stages de 3e : un réseau d'entreprises pour les collégiens {of}",
        "Théâtre-forum contre le harcèlement dans les collèges {of}",
        "Ateliers philo sur l'égalité dans les écoles {of}",
        "Orientation sans stéréotypes pour les lycéens {of}",
        "Accompagnement à la scolarité et égalité des chances {at}"],
    "acces_aux_droits": [
        "Permanence d'accès aux droits {at}", "Écrivain public et médiation administrative {at}",
        "Consultations juridiques gratuites contre les discriminations {at}",
        "Connaître ses droits face aux discriminations {at}",
        "Point d'écoute pour les victimes de discriminations {at}"],
    "culture_sport": [
        "Festival des cultures {of}", "Foot mixte et citoyenneté {at}",
        "Sport pour toutes et tous {at}", "Exposition « Mémoires d'immigrations » {at}",
        "Webradio des jeunes {of} contre les préjugés"],
    "citoyennete": [
        "Conseil de jeunes : enquêter sur les discriminations vécues {at}",
        "Semaine de l'égalité {at}", "Débats citoyens sur la laïcité et le vivre-ensemble {at}",
        "Médiation de voisinage et prévention du racisme {at}"],
    "logement": [
        "Testing de l'accès au logement locatif privé {at}",
        "Accompagner les locataires face aux refus de location {at}",
        "Médiation avec les bailleurs sociaux {at}"],
    "sante": [
        "Refus de soins : informer et accompagner les patients {of}",
        "Santé des femmes et accès aux soins {at}", "Bus santé et accès aux droits {at}"],
    "services_publics": [
        "Former les agents d'accueil à l'accueil sans discrimination {at}",
        "Accompagnement numérique des seniors {of}"],
    "loisirs": [
        "Accueils de loisirs inclusifs {at}", "Séjours mixtes pour les jeunes {of}"],
}
SUMMARIES = [
    "Le projet s'adresse en priorité aux habitants {of}, où les discriminations liées à "
    "l'origine et à l'adresse freinent l'accès à l'emploi, au logement et aux droits.",
    "Des ateliers collectifs, un accompagnement individuel et des rencontres avec les "
    "acteurs du territoire permettent de repérer les discriminations et d'agir.",
    "L'action est menée avec les centres sociaux, les établissements scolaires et les "
    "services de la commune, et restituée aux partenaires en fin d'année.",
    "Une sensibilisation des professionnels complète l'action auprès du public, afin de "
    "changer les pratiques autant que les regards.",
    "Le projet s'appuie sur des bénévoles formés et sur un partenariat avec le Défenseur "
    "des droits pour orienter les situations de discrimination.",
]
PUBLICS: dict[str, list[str]] = {
    "emploi": ["Jeunes de 16 à 25 ans des quartiers prioritaires",
               "Femmes en recherche d'emploi", "Demandeurs d'emploi de plus de 50 ans",
               "Employeurs, recruteurs et demandeurs d'emploi du territoire"],
    "education": ["Collégiens et lycéens et leurs enseignants",
                  "Élèves des écoles et collèges en éducation prioritaire et leurs familles"],
    "acces_aux_droits": ["Habitants des quartiers prioritaires", "Adultes primo-arrivants",
                         "Personnes victimes de discriminations"],
    "culture_sport": ["Jeunes de 10 à 18 ans et leurs familles",
                      "Habitants du quartier, jeunes et seniors"],
    "citoyennete": ["Jeunes de 15 à 25 ans", "Habitants et acteurs associatifs du quartier"],
    "logement": ["Locataires et demandeurs de logement",
                 "Agences immobilières et candidats locataires"],
    "sante": ["Patients et habitants éloignés des soins", "Femmes des quartiers prioritaires"],
    "services_publics": ["Agents d'accueil des services publics", "Seniors isolés"],
    "loisirs": ["Familles et enfants de 6 à 12 ans",
                "Enfants en situation de handicap et leurs familles"],
}
OBJECTIVES = [
    "Accompagner {n} personnes ; organiser {k} ateliers ; restituer le bilan aux partenaires.",
    "Toucher {n} participants ; former {k} professionnels ; mesurer l'évolution des "
    "représentations par un questionnaire avant/après.",
    "Tenir {k} permanences ; accompagner {n} personnes ; orienter les situations vers les "
    "recours adaptés.",
    "Réunir {n} participants lors de {k} rencontres ; produire un guide pratique.",
]
COMPLETION_NOTES = [
    "Merci de joindre les statuts à jour et le dernier rapport d'activité.",
    "Merci de détailler la ligne 64 (charges de personnel) du budget prévisionnel.",
    "Le cofinancement mentionné n'est pas justifié : merci de joindre la notification ou "
    "le courrier de demande.",
    "Merci de joindre les lettres d'engagement des partenaires et un RIB à jour.",
    "Merci de préciser le calendrier et le nombre de bénéficiaires par action.",
]
INELIGIBLE_NOTES = [
    "Le porteur est une société commerciale : le règlement réserve les subventions aux "
    "associations et organismes à but non lucratif.",
    "L'action se déroule hors du territoire de la Métropole Aix-Marseille-Provence.",
    "Le projet relève de l'animation générale, sans objectif de lutte contre les "
    "discriminations.",
    "L'action est déjà réalisée : le règlement exclut les demandes rétroactives.",
]
WITHDRAW_NOTES = [
    "L'intervenante principale n'est plus disponible cette année : nous redéposerons le "
    "projet au prochain appel.",
    "Le lieu prévu n'est plus disponible aux dates de l'action : nous retirons notre "
    "demande.",
    "Le projet est entièrement financé par d'autres partenaires.",
]
BUREAU_REFUSALS = [
    "Le Bureau n'a pas retenu le projet : action déjà financée au titre du contrat de ville.",
    "Le Bureau n'a pas retenu le projet : plan de financement jugé trop fragile.",
]
CANCEL_NOTES = [
    "L'association a cessé son activité (liquidation judiciaire) : le solde non versé est "
    "libéré.",
    "L'action n'a pas pu démarrer (perte du local) : la subvention est annulée à la demande "
    "du porteur.",
    "Conditions de la convention non respectées malgré deux relances : subvention annulée.",
]
REPORT_CHANGES = [
    "La ligne 62 du compte rendu n'est pas justifiée : merci de joindre les factures des "
    "intervenants.",
    "Merci de préciser le nombre de bénéficiaires par action et de joindre les feuilles "
    "d'émargement.",
]
GAP_EXPLANATIONS = [
    "Deux actions sur dix n'ont pas pu être menées (départ d'un intervenant) : les dépenses "
    "réalisées sont inférieures au prévisionnel.",
    "Le lieu a été fermé six semaines pour travaux : des séances ont été annulées et les "
    "vacations réduites d'autant.",
    "La fréquentation a dépassé les prévisions : des séances supplémentaires ont été "
    "organisées.",
]
FORCED_CLOSE = ("Jury réuni en séance plénière : l'évaluation manquante a été remplacée "
                "par l'avis oral du juré.")
STALE_WAITLIST = ("Liste d'attente close : les crédits de la session sont épuisés. Le "
                  "projet peut être redéposé au prochain appel.")
CONFLICT_REASON = ("Je siège au conseil d'administration d'une structure partenaire du "
                   "projet.")


class Weighted:
    """Distinct keys drawn with weights (in the order of the keys)."""

    def __init__(self, weights: dict[str, int]) -> None:
        self.keys = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def one(self, rng: random.Random) -> str:
        return rng.choices(self.keys, cum_weights=self.cumulative)[0]

    def draw(self, rng: random.Random, k: int) -> list[str]:
        chosen = {self.one(rng)}
        while len(chosen) < k:
            chosen.add(self.one(rng))
        return [key for key in self.keys if key in chosen]


DOMAINS, GROUNDS = Weighted(DOMAIN_WEIGHTS), Weighted(GROUND_WEIGHTS)
TERRITORY_DRAW = Weighted(TERRITORY_WEIGHTS)


# -- the calendar --------------------------------------------------------------------------

def business(day: date) -> date:
    """The day itself, or the Monday after when it falls on a weekend."""
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)


@dataclass(frozen=True)
class Year:
    """The call's dates, up to ``as_of`` (now, or mid-December of a past fiscal year):
    it opened 46 weeks before on a Monday and closes three weeks after on a Friday; the
    jury meets every four weeks on a Tuesday, and the Bureau deliberates on the Thursday
    two weeks after each session."""

    as_of: datetime

    @property
    def opens_on(self) -> date:
        day = to_paris(self.as_of).date() - timedelta(weeks=46)
        return day - timedelta(days=day.weekday())

    @property
    def closes_on(self) -> date:
        day = to_paris(self.as_of).date() + timedelta(days=21)
        return day + timedelta(days=(4 - day.weekday()) % 7)

    def sessions(self) -> list[date]:
        """Every session of the call, the ones to come included (until the files of the
        closing are reviewed): every fourth Tuesday, the last one held eight to fourteen
        days ago (its proposals await the Bureau), the first six weeks after the opening."""
        last = to_paris(self.as_of).date() - timedelta(days=8)
        last -= timedelta(days=(last.weekday() - 1) % 7)
        first = last - timedelta(weeks=4 * ((last - self.opens_on).days // 28 - 1))
        end = self.closes_on + timedelta(weeks=8)
        return [first + timedelta(weeks=4 * k) for k in range((end - first).days // 28 + 1)]

    @staticmethod
    def bureau(session: date) -> datetime:
        """The Bureau of the Métropole deliberates on the Thursday two weeks after."""
        return Year.moment(session + timedelta(days=16), 9, 30)

    @staticmethod
    def moment(day: date, hour: int, minute: int = 0) -> datetime:
        """That time of day in Paris, as a UTC datetime: the year's moments are kept in
        UTC, so that adding durations never lands in a daylight-saving gap."""
        return datetime.combine(day, time(hour, minute), tzinfo=PARIS).astimezone(UTC)


class Event(NamedTuple):
    """A transition (``trigger`` set) or an audited action of one application."""

    at: datetime
    actor: int
    trigger: str | None
    action: str
    source: str | None
    dest: str | None
    comment: str | None
    data: dict
    link: tuple[str, int] | None = None  # ("payment" | "repayment", index): its id


@dataclass(slots=True, eq=False)
class Org:
    """An organisation (its id and its applicant member's once written)."""

    place: Place
    name: str
    association: bool
    id: int = 0
    member: int = 0


@dataclass(slots=True, eq=False)
class ReviewPlan:
    """One juror on one application: assigned, recused, saved as a draft or submitted."""

    juror: int
    assigned_at: datetime
    conflict: bool = False
    saved_at: datetime | None = None
    submitted: bool = False
    halves: list[int] | None = None  # the criterion scores, in half points
    total: Decimal | None = None
    comment: str = ""


@dataclass(slots=True, eq=False)
class Dossier:
    """One application as the year leaves it: its file, its state, its trail, its money
    and the rows that go with them (decision, convention, payments, report...)."""

    index: int
    org: Org
    envelope: str
    place: Place
    quality: float
    created_at: datetime
    file: dict[str, Any]
    budget: dict[str, dict[str, int]]
    reference: str | None = None
    submitted_at: datetime | None = None
    completion: tuple[str, datetime] | None = None
    proposed: int = 0
    committed: int = 0
    granted: int = 0
    paid: int = 0
    repaid: int = 0
    score: Decimal | None = None
    scored: bool = False
    reviewed_at: datetime | None = None
    waitlisted_in: int | None = None
    events: list[Event] = field(default_factory=list)
    reviews: list[ReviewPlan] = field(default_factory=list)
    decision: dict | None = None
    convention: dict | None = None
    payments: list[dict] = field(default_factory=list)
    repayments: list[dict] = field(default_factory=list)
    report: dict | None = None

    @property
    def state(self) -> str:
        """Where its trail leaves it: the last transition's destination (never stored,
        so only ``Year.fire``, which checks the transition table, moves it)."""
        return next((e.dest for e in reversed(self.events) if e.trigger), INITIAL)

    @property
    def requested(self) -> int:
        return self.file["requested_cents"]

    @property
    def charges(self) -> int:
        return sum(self.budget.get("charges", {}).values())

    @property
    def updated_at(self) -> datetime:
        return self.events[-1].at if self.events else self.created_at


@dataclass(frozen=True)
class Staff:
    """The fund and the people the call is run by: instructors and finance officers (the
    first for the east, the second for the west, as in the demo) and the core jury."""

    fund_id: int
    instructors: tuple[int, int]
    finance: tuple[int, int]
    jurors: tuple[int, ...]

    def officer(self, role: str, envelope: str) -> int:
        pair = self.instructors if role == "instructor" else self.finance
        return pair[1 if envelope in WEST else 0]


# -- bulk writing --------------------------------------------------------------------------

def chunks(rows: Iterable[dict], size: int = CHUNK) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Insert:
    """A table's Core ``insert`` for the columns of its rows, compiled once for the
    connection's dialect, each value bound by its column's type (``UTCDateTime``, JSON,
    Numeric...) and the chunk run as the driver's ``executemany``: what
    ``Session.execute(insert(table), rows)`` does, without its per-row bookkeeping in
    Python, which triples the time of a million rows."""

    def __init__(self, table: Any, keys: list[str]) -> None:
        connection = db.session.connection()
        dialect = connection.dialect
        compiled = insert(table).compile(dialect=dialect, column_keys=keys)
        self.connection, self.sql = connection, str(compiled)
        names = compiled.positiontup if compiled.positional else keys
        self.keys = [compiled.binds[name].key for name in names]
        self.names = list(names)
        self.positional = compiled.positional
        self.values = operator.itemgetter(*self.keys)
        self.processors = [(i, binder(table.c[key].type, dialect))
                           for i, key in enumerate(self.keys)]
        self.processors = [(i, p) for i, p in self.processors if p is not None]

    def run(self, rows: list[dict]) -> None:
        bound = []
        for row in rows:
            values = list(self.values(row)) if len(self.keys) > 1 else [self.values(row)]
            for i, processor in self.processors:
                values[i] = processor(values[i])
            bound.append(tuple(values) if self.positional
                         else dict(zip(self.names, values, strict=True)))
        self.connection.exec_driver_sql(self.sql, bound)


PROBES = (datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC),
          datetime(2026, 10, 25, 23, 0, tzinfo=UTC), None)


def binder(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """How a column's values are bound: by the column type's own processor, with two
    shortcuts for the million-row tables: a JSON column keeps its text for ``{}`` (most
    trail entries carry no data), and on SQLite a ``UTCDateTime`` is written by
    ``isoformat``, used only if it gives the processor's very text on probe values."""
    processor = kind._cached_bind_processor(dialect)
    if isinstance(kind, JSON):
        empty = processor({})
        return lambda value: empty if value == {} else processor(value)
    if isinstance(kind, UTCDateTime) and dialect.name == "sqlite" and \
            all(utc_text(p) == processor(p) for p in PROBES):
        return utc_text
    return processor


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def write(model: type, rows: Iterable[dict]) -> int:
    """Insert the rows (dicts with the same keys) by chunks; returns how many."""
    count, statement = 0, None
    for batch in chunks(rows):
        statement = statement or Insert(model.__table__, list(batch[0]))
        statement.run(batch)
        count += len(batch)
    return count


def last_id(model: type) -> int:
    return db.session.scalar(select(func.coalesce(func.max(model.id), 0)))


def ids_by(model: type, since: int, *keys: str) -> dict[Any, int]:
    """The ids of the rows inserted after id ``since``, by a key that identifies them
    (one column, or a tuple of several): fetched in bulk after a plain executemany,
    which PostgreSQL runs several times faster than ``INSERT ... RETURNING`` batches."""
    columns = [getattr(model, k) for k in keys]
    rows = db.session.execute(select(model.id, *columns).where(model.id > since))
    if len(keys) == 1:
        return {row[1]: row[0] for row in rows}
    return {tuple(row[1:]): row[0] for row in rows}


def password_hash() -> str:
    """The demo password's hash, computed once for every generated account (the
    password is published: a costly hash protects nothing, see :mod:`aap.demo`)."""
    return generate_password_hash(demo.DEMO_PASSWORD, method=demo.DEMO_HASH_METHOD)


def write_users(people: list[tuple[str, str, datetime]], role: str) -> list[int]:
    """Accounts (email, name, creation) with one role each; their ids in order."""
    digest, since = password_hash(), last_id(User)
    write(User, ({"email": email, "name": name, "password_hash": digest, "active": True,
                  "locale": None, "session_version": 0, "created_at": created}
                 for email, name, created in people))
    by_email = ids_by(User, since, "email")
    ids = [by_email[email] for email, _, _ in people]
    write(UserRole, ({"user_id": i, "role": role} for i in ids))
    return ids


# -- the fund and the staff ----------------------------------------------------------------

def _user_ids(staff: list[tuple[str, str, str]]) -> list[int] | None:
    emails = [email for _, email, _ in staff]
    found = dict(db.session.execute(select(User.email, User.id).where(
        User.email.in_(emails))).all())
    return [found[e] for e in emails] if len(found) == len(emails) else None


def _fund_id(name: str) -> int | None:
    return db.session.scalar(select(Fund.id).where(Fund.name == name).order_by(Fund.id))


def _create_own() -> None:
    """The big call's own fund and staff, through the services."""
    if _fund_id(OWN_FUND["name"]) is None:
        calls.create_fund(OWN_FUND)
    with demo._cheap_hashing():
        for role, email, name in OWN_STAFF:
            if accounts.find_by_email(email) is None:
                accounts.create_user(email, demo.DEMO_PASSWORD, [role], name)
    db.session.commit()


def staff() -> Staff:
    """The demo's fund and staff when the demo is loaded, else the big call's own
    (created the first time)."""
    fund_id, ids = _fund_id(demo.FUND["name"]), _user_ids(demo.STAFF)
    roles = [role for role, _, _ in demo.STAFF]
    if fund_id is None or ids is None:
        _create_own()
        fund_id, ids = _fund_id(OWN_FUND["name"]), _user_ids(OWN_STAFF)
        roles = [role for role, _, _ in OWN_STAFF]
    by_role: dict[str, list[int]] = {}
    for role, user_id in zip(roles, ids or [], strict=True):
        by_role.setdefault(role, []).append(user_id)
    return Staff(fund_id, (by_role["instructor"][0], by_role["instructor"][1]),
                 (by_role["finance"][0], by_role["finance"][1]), tuple(by_role["juror"]))


# -- organisations and their members ------------------------------------------------------

class Identifiers:
    """SIRET (Luhn on the SIREN and on the whole number), RNA and IBAN, never one that the
    database already holds."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sirets = set(db.session.scalars(select(Organisation.siret)))
        self.sirens = {s[:9] for s in self.sirets}
        self.rnas = set(db.session.scalars(select(Organisation.rna).where(
            Organisation.rna.is_not(None))))

    def siret(self) -> str:
        while True:
            body = self.rng.choice("34578") + f"{self.rng.randrange(10**7):07d}"
            siren = body + luhn.calc_check_digit(body)
            if siren in self.sirens or siren == "356000000":  # La Poste's own rule
                continue
            nic = f"{self.rng.choice((1, 1, 1, 2, 3)):04d}"
            siret = siren + nic + luhn.calc_check_digit(siren + nic)
            self.sirens.add(siren)
            self.sirets.add(siret)
            return siret

    def rna(self, postcode: str) -> str:
        while True:
            rna = f"W{postcode[:2]}{self.rng.randrange(10**7):07d}"
            if rna not in self.rnas:
                self.rnas.add(rna)
                return rna


def make_iban(rng: random.Random) -> tuple[str, str]:
    """A French IBAN of a bank of the demo (RIB key, then ISO 7064 mod 97-10 check
    digits, as :func:`aap.demo.make_iban` without python-stdnum's cost) and its BIC."""
    bank, bic = rng.choice(demo.BANKS)
    branch, account = f"{rng.randrange(100_000):05d}", f"{rng.randrange(10**11):011d}"
    bban = bank + branch + account + demo.rib_key(bank, branch, account)
    check = 98 - int(bban + "152700") % 97  # "FR" is 15 27
    return f"FR{check:02d}{bban}", bic


def phone(rng: random.Random, place: Place) -> str:
    """A landline with the area's prefix (as in the demo)."""
    area = "91" if place.commune == "Marseille" else \
        "90" if place.postcode in {"13300", "13330", "84120", "13430"} else "42"
    return f"04 {area} " + " ".join(f"{rng.randrange(100):02d}" for _ in range(3))


class People:
    """The organisations (one applicant member each) and the jurors the call adds to
    the core jury, written before the year is played (their ids are in its trail)."""

    def __init__(self, rng: random.Random, places: dict[str, list[Place]]) -> None:
        self.rng, self.places = rng, places
        self.names: set[str] = set()

    def person(self) -> tuple[str, str]:
        return self.rng.choice(demo.FIRST_NAMES), self.rng.choice(demo.LAST_NAMES)

    def territory(self) -> str:
        return TERRITORY_DRAW.one(self.rng)

    def org(self) -> Org:
        place = self.rng.choice(self.places[self.territory()])
        association = self.rng.random() > 0.08
        for attempt in range(12):
            form = self.rng.choice(ORG_FORMS if association else NON_ASSOCIATIONS)
            name = f"{form} {self.rng.choice(ORG_WORDS)} {of(place)}"
            if attempt == 11:
                name = f"{name} ({len(self.names)})"
            if name not in self.names:
                self.names.add(name)
                return Org(place, name, association)
        raise AssertionError("unreachable")

    def write(self, orgs: list[Org], first_files: dict[int, datetime]) -> None:
        """The organisations and their members, registered some days before their first
        application; their ids are kept on each :class:`Org`."""
        ids = Identifiers(self.rng)
        created = [first_files[id(o)] - timedelta(days=self.rng.uniform(0.05, 40))
                   for o in orgs]
        rows = [self.organisation_row(o, ids, c) for o, c in zip(orgs, created, strict=True)]
        since = last_id(Organisation)
        write(Organisation, rows)
        by_siret = ids_by(Organisation, since, "siret")
        for org, row in zip(orgs, rows, strict=True):
            org.id = by_siret[row["siret"]]
        self.members(orgs, rows)

    def organisation_row(self, org: Org, ids: Identifiers, created: datetime) -> dict:
        iban, bic = make_iban(self.rng)
        first, last = self.person()
        slug = ascii_slug(org.name, "-")[:40].strip("-")
        return {"name": org.name, "siret": ids.siret(), "siret_duplicate": False,
                "rna": ids.rna(org.place.postcode) if org.association else None,
                "address": f"{self.rng.randint(1, 180)} {self.rng.choice(STREETS)}",
                "postcode": org.place.postcode, "city": org.place.commune,
                "legal_representative": f"{first} {last}",
                "email": f"contact@{slug}.example.org", "phone": phone(self.rng, org.place),
                "iban": iban, "bic": bic, "created_at": created}

    def members(self, orgs: list[Org], rows: list[dict]) -> None:
        people = []
        for org, row in zip(orgs, rows, strict=True):
            first, last = self.person()
            domain = row["email"].split("@")[1]
            email = f"{ascii_slug(first)}.{ascii_slug(last)}.{org.id}@{domain}"
            people.append((email, f"{first} {last}", row["created_at"]))
        ids = write_users(people, "applicant")
        write(Membership, ({"user_id": u, "organisation_id": o.id,
                            "created_at": row["created_at"]}
                           for u, o, row in zip(ids, orgs, rows, strict=True)))
        for org, user_id in zip(orgs, ids, strict=True):
            org.member = user_id

    def jurors(self, count: int, created: datetime) -> list[int]:
        """The jurors of the territories' committees beyond the core jury."""
        if count <= 0:
            return []
        base = db.session.scalar(select(func.coalesce(func.max(User.id), 0)))
        people = []
        for k in range(count):
            first, last = self.person()
            email = f"{ascii_slug(first)}.{ascii_slug(last)}.{base + k + 1}@jury-pmlcd.example.org"
            people.append((email, f"{first} {last}", created))
        return write_users(people, "juror")


# -- the applications' files ---------------------------------------------------------------

class Files:
    """What each application asks for and describes: created through the year by the
    organisations (some file several), in their territory (mostly), with a balanced
    CERFA 12156 budget within the call's rules."""

    def __init__(self, rng: random.Random, places: dict[str, list[Place]], year: Year) -> None:
        self.rng, self.places, self.year = rng, places, year

    def dossiers(self, n: int, orgs: list[Org]) -> list[Dossier]:
        start = Year.moment(self.year.opens_on, 9)
        span = (self.year.as_of - start).total_seconds()
        times = sorted(start + timedelta(seconds=self.rng.uniform(0, span)) for _ in range(n))
        for k in range(1, n):  # distinct: with the organisation, a row's key to its id
            times[k] = max(times[k], times[k - 1] + timedelta(microseconds=1))
        return [self.dossier(i, moment, org)
                for i, (moment, org) in enumerate(zip(times, self.owners(n, orgs), strict=True))]

    def owners(self, n: int, orgs: list[Org]) -> list[Org]:
        """Each organisation once, the rest to a few: most file one or two, some many."""
        weights = [self.rng.paretovariate(1.6) for _ in orgs]
        owners = [*orgs, *self.rng.choices(orgs, weights, k=n - len(orgs))]
        self.rng.shuffle(owners)
        return owners

    def dossier(self, index: int, created: datetime, org: Org) -> Dossier:
        rng = self.rng
        territory = org.place.territory if rng.random() < 0.9 else \
            TERRITORY_DRAW.one(rng)
        place = org.place if territory == org.place.territory and rng.random() < 0.6 \
            else rng.choice(self.places[territory])
        requested = self.request()
        return Dossier(index=index, org=org, envelope=territory, place=place,
                       quality=min(max(rng.gauss(12.5, 3.2), 3.0), 19.5), created_at=created,
                       file=self.file(place, territory, requested, created),
                       budget=demo.provisional_budget(rng, requested))

    def request(self) -> int:
        euros = math.exp(self.rng.gauss(math.log(6_000), 0.7))
        cents = round(euros / 500) * 500_00
        return min(max(cents, MIN_REQUEST), MAX_REQUEST)

    def file(self, place: Place, territory: str, requested: int, created: datetime) -> dict:
        rng = self.rng
        domains = DOMAINS.draw(rng, rng.choice((1, 1, 2)))
        grounds = GROUNDS.draw(rng, rng.choice((1, 2, 2, 3)))
        others = [p for p in self.places[territory] if p != place]
        where = [place, *([rng.choice(others)] if others and rng.random() < 0.3 else [])]
        people = int(math.exp(rng.gauss(math.log(120), 0.9))) + 10
        starts = (created + timedelta(days=rng.uniform(40, 100))).date()
        words = phrases(place)
        summary = " ".join(s.format(**words) for s in rng.sample(SUMMARIES, 3))
        return {
            "title": rng.choice(TITLES[domains[0]]).format(**words),
            "summary": summary,
            "objectives": rng.choice(OBJECTIVES).format(n=people, k=rng.randint(4, 40)),
            "target_public": rng.choice(PUBLICS[domains[0]]), "domains": domains,
            "grounds": grounds,
            "territories": [p.label for p in where], "beneficiaries": people,
            "starts_on": starts, "ends_on": starts + timedelta(days=rng.randint(45, 240)),
            "requested_cents": requested,
        }


def unfinished(dossier: Dossier) -> None:
    """A draft saved before its budget and dates (as the demo's partial drafts)."""
    dossier.file.update(objectives="", target_public="", beneficiaries=0, starts_on=None,
                        ends_on=None, requested_cents=0)
    dossier.budget = {}


# -- the money -----------------------------------------------------------------------------

class Purse:
    """What the call and each envelope hold (grants committed, proposals awaiting the
    Bureau) as the year goes: changes dated later (a withdrawal, a cancellation, a
    closing below the grant, a repayment claimed) apply when the year reaches them. A
    grant beyond what the call or its envelope has left raises, as the guard refuses it."""

    def __init__(self, budgets: dict[str, int], sessions: int) -> None:
        self.budgets, self.budget = budgets, sum(budgets.values())
        self.sessions = sessions
        self.held: Counter[str | None] = Counter()
        self.committed: Counter[str | None] = Counter()
        self.pending: list[tuple[datetime, int, str, int, int]] = []
        self.sequence = 0

    def later(self, moment: datetime, envelope: str, held: int, committed: int) -> None:
        self.sequence += 1
        heapq.heappush(self.pending, (moment, self.sequence, envelope, held, committed))

    def settle(self, until: datetime) -> None:
        while self.pending and self.pending[0][0] <= until:
            _, _, envelope, held, committed = heapq.heappop(self.pending)
            self._add(envelope, held, committed)

    def _add(self, envelope: str, held: int, committed: int) -> None:
        for key in (None, envelope):
            self.held[key] += held
            self.committed[key] += committed

    def propose(self, envelope: str, amount: int) -> None:
        self._add(envelope, amount, 0)

    def grant(self, envelope: str, amount: int) -> None:
        if self.committed[None] + amount > self.budget or \
                self.committed[envelope] + amount > self.budgets[envelope]:
            raise RuntimeError(f"grant of {amount} beyond the budget of {envelope}")
        self.committed[None] += amount
        self.committed[envelope] += amount

    def share(self, session: int) -> int:
        """What the runs may have proposed by the end of ``session``: its share of the
        year's sessions."""
        return self.budget * min(session + 1, self.sessions) // self.sessions

    def left(self, session: int) -> int:
        return max(self.share(session) - self.held[None], 0) if session >= 0 else 0

    def rooms(self) -> dict[str, int]:
        return {k: max(v - self.held[k], 0) for k, v in self.budgets.items()}


# -- the year, played by the workflow's rules ------------------------------------------

@dataclass(frozen=True)
class RunPlan:
    """A session's committed allocation run (candidates by dossier index)."""

    session: int
    at: datetime
    actor: int
    params: Parameters
    candidates: list[Candidate]
    result: engine.Result


@dataclass(frozen=True)
class Sitting:
    """A deliberation of the Bureau and the grants it made."""

    at: datetime
    actor: int
    reference: str
    granted: list[tuple[Dossier, int]]


HALF_POINTS = [Decimal(h) / 2 for h in range(0, 201)]
COMPLETION_DAYS = 15
CONVENTION_THRESHOLD = calls.CONVENTION_THRESHOLD_CENTS
GAP_THRESHOLD = calls.REPORT_GAP_THRESHOLD


class Clock:
    """Random moments after a given one: staff work on weekdays in office hours,
    applicants and jurors whenever they like."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.mornings: dict[date, datetime] = {}

    def morning(self, day: date) -> datetime:
        """8:30 in Paris on the working day ``day`` falls on (or the Monday after)."""
        if day not in self.mornings:
            self.mornings[day] = Year.moment(business(day), 8, 30)
        return self.mornings[day]

    def office(self, after: datetime, low: float, high: float) -> datetime:
        later = to_paris(after + timedelta(days=self.rng.uniform(low, high)))
        moment = self.morning(later.date()) + timedelta(minutes=self.rng.randrange(600))
        return moment if moment > after else after + timedelta(minutes=self.rng.randint(5, 90))

    def anytime(self, after: datetime, low: float, high: float) -> datetime:
        return after + timedelta(seconds=self.rng.uniform(low, high) * 86_400)


class Story:
    """The call's year, in memory: each application's transitions are checked against
    the workflow's table (and the guards' conditions) as they are written into its trail;
    the money goes through the :class:`Purse`."""

    def __init__(self, rng: random.Random, year: Year, team: Staff, jury: list[int],
                 names: dict[int, str]) -> None:
        self.rng, self.year, self.team, self.names = rng, year, team, names
        self.clock = Clock(rng)
        self.as_of = year.as_of
        self.sessions = year.sessions()
        self.load = [(0, juror) for juror in sorted(jury)]
        self.bias = {juror: rng.gauss(0, 1.0) for juror in sorted(jury)}
        self.runs: list[RunPlan] = []
        self.sittings: list[Sitting] = []
        self.counters: Counter[str] = Counter()
        self.call_id = 0
        self.fiscal_year = 0
        self.purse = Purse({}, 1)
        self.cancelled_first = False

    # -- the trail -----------------------------------------------------------------------
    def actor(self, dossier: Dossier, role: str) -> int:
        if role == "applicant":
            return dossier.org.member
        return self.team.officer(role, dossier.envelope)

    def fire(self, dossier: Dossier, trigger: str, moment: datetime,
             comment: str | None = None, data: dict | None = None,
             link: tuple[str, int] | None = None, actor: int | None = None) -> None:
        """The transition, if the table allows it from the dossier's state, by ``actor``
        (by default the organisation's member or the territory's officer of the role)."""
        dest = LEGAL.get((dossier.state, trigger))
        if dest is None:
            raise RuntimeError(f"{trigger} is not allowed from {dossier.state}")
        if trigger in MOTIVATED and not comment:
            raise RuntimeError(f"{trigger} needs a motivation")
        actor = actor or self.actor(dossier, ROLE[trigger])
        self.append(dossier, Event(moment, actor, trigger, "transition", dossier.state,
                                   dest, comment, data or {}, link))

    def act(self, dossier: Dossier, action: str, moment: datetime, actor: int,
            comment: str | None = None, data: dict | None = None,
            link: tuple[str, int] | None = None) -> None:
        self.append(dossier, Event(moment, actor, None, action, None, None, comment,
                                   data or {}, link))

    def append(self, dossier: Dossier, event: Event) -> None:
        if (dossier.events and event.at <= dossier.events[-1].at) or event.at > self.as_of:
            raise RuntimeError(f"{event.action} {event.trigger} out of time: {event.at}")
        dossier.events.append(event)

    def next(self, name: str) -> int:
        self.counters[name] += 1
        return self.counters[name]

    # -- before the jury -----------------------------------------------------------------
    def prelude(self, dossier: Dossier) -> None:
        """From the draft to the end of the review (or wherever the year stops it)."""
        submitted = self.clock.anytime(dossier.created_at, 0.02, 25)
        if submitted > self.as_of or self.rng.random() < 0.02:
            if self.rng.random() < 0.4:
                unfinished(dossier)
            return
        self.fire(dossier, "submit", submitted)
        dossier.submitted_at = submitted
        eligible = self.instruct(dossier, submitted)
        if eligible is not None:
            self.review(dossier, eligible)

    def instruct(self, dossier: Dossier, since: datetime) -> datetime | None:
        moment, draw = self.clock.office(since, 2, 12), self.rng.random()
        if draw < 0.01:
            withdrawn = self.clock.anytime(since, 0.5, 10)
            if withdrawn <= self.as_of:
                self.fire(dossier, "withdraw", withdrawn, self.rng.choice(WITHDRAW_NOTES))
            return None
        if moment > self.as_of:
            return None
        if draw < 0.05:
            self.fire(dossier, "declare_ineligible", moment, self.rng.choice(INELIGIBLE_NOTES))
            return None
        if draw < 0.14:
            moment = self.complete(dossier, moment)
            if moment is None:
                return None
        self.fire(dossier, "declare_eligible", moment, "Dossier complet et recevable.")
        return moment

    def complete(self, dossier: Dossier, moment: datetime) -> datetime | None:
        """A request for completion, answered before its deadline or not (yet)."""
        note = self.rng.choice(COMPLETION_NOTES)
        self.fire(dossier, "request_completion", moment, note)
        deadline = end_of_day_paris(to_paris(moment + timedelta(days=COMPLETION_DAYS)).date()
                                    ).astimezone(UTC)
        dossier.completion = (note, deadline)
        answer = self.clock.anytime(moment, 1, 20)
        if answer > deadline or answer > self.as_of:
            return None
        self.fire(dossier, "resubmit", answer, "Dossier complété : pièces transmises.")
        dossier.completion = None
        moment = self.clock.office(answer, 1, 8)
        return moment if moment <= self.as_of else None

    # -- the jury --------------------------------------------------------------------------
    def assign(self) -> list[int]:
        """The least loaded jurors, ties by id (``aap.services.jury``, mode balanced)."""
        picked = [heapq.heappop(self.load) for _ in range(JURORS_PER_APPLICATION)]
        for load, juror in picked:
            heapq.heappush(self.load, (load + 1, juror))
        return sorted(juror for _, juror in picked)

    def review(self, dossier: Dossier, eligible: datetime) -> None:
        opened = self.clock.office(eligible, 1, 10)
        if opened > self.as_of:
            return
        jurors, assigned = self.assign(), opened - timedelta(minutes=3)
        self.act(dossier, "jury_assigned", assigned, self.actor(dossier, "instructor"),
                 data={"mode": "balanced", "juror_ids": jurors})
        self.fire(dossier, "open_review", opened)
        dossier.reviews = [ReviewPlan(juror, assigned) for juror in jurors]
        steps = sorted((self.juror_step(r, opened) for r in dossier.reviews),
                       key=lambda s: s[0] or self.as_of)
        closing, missing = self.closing(opened, steps)
        withdrawn = self.clock.anytime(opened, 2, 20) if self.rng.random() < 0.012 else None
        end = min(m for m in (closing, withdrawn, self.as_of) if m is not None)
        self.jury_work(dossier, steps, end)
        if withdrawn is not None and withdrawn == end:
            self.fire(dossier, "withdraw", withdrawn, self.rng.choice(WITHDRAW_NOTES))
        elif closing is not None and closing == end:
            self.close_review(dossier, closing, missing)

    def juror_step(self, review: ReviewPlan, opened: datetime
                   ) -> tuple[datetime | None, str, ReviewPlan]:
        draw = self.rng.random()
        if draw < 0.02:
            return self.clock.anytime(opened, 0.3, 4), "conflict", review
        if draw < 0.05:
            return None, "missing", review
        return self.clock.anytime(opened, 3, 24), "submit", review

    def closing(self, opened: datetime, steps: list) -> tuple[datetime | None, list[int]]:
        """When the review is closed: once every juror not recused has submitted, or
        forced at the first session four weeks on (the missing jurors named)."""
        missing = [r.juror for _, kind, r in steps if kind == "missing"]
        if missing:
            day = next((s for s in self.sessions
                        if Year.moment(s, 9) >= opened + timedelta(weeks=4)), None)
            return (Year.moment(day, 9) if day else None), missing
        last = max((m for m, kind, _ in steps if kind == "submit"), default=opened)
        return self.clock.office(last, 0.1, 3), []

    def jury_work(self, dossier: Dossier, steps: list, end: datetime) -> None:
        for moment, kind, review in steps:
            if moment is not None and moment < end:
                if kind == "conflict":
                    review.conflict, review.saved_at = True, moment
                    self.act(dossier, "conflict_declared", moment, review.juror)
                else:
                    self.score(dossier, review, moment, submitted=True)
                    self.act(dossier, "review_submitted", moment, review.juror,
                             data={"total": str(review.total)})
            elif kind != "conflict" and self.rng.random() < 0.35:
                draft = end - timedelta(days=self.rng.uniform(0.5, 3))
                if draft > review.assigned_at:
                    self.score(dossier, review, draft, submitted=False)

    def score(self, dossier: Dossier, review: ReviewPlan, moment: datetime,
              submitted: bool) -> None:
        """The juror's criterion scores (half points) around the project's quality as
        the juror sees it, and the weighted total on the call's scale."""
        random_ = self.rng.random
        target = (dossier.quality + self.bias[review.juror] + 2.4 * (random_() + random_() - 1)
                  ) / SETTINGS["scale"]
        halves = [min(max(round(2 * top * (target + 0.2 * (random_() + random_() - 1))), 0),
                      2 * top) for top in GRID_TOPS]
        review.halves, review.saved_at, review.submitted = halves, moment, submitted
        review.total = weighted_total(halves)
        band = "high" if review.total >= 14 else "mid" if review.total >= 10 else "low"
        review.comment = self.rng.choice(demo.REVIEW_COMMENTS[band])

    def close_review(self, dossier: Dossier, moment: datetime, missing: list[int]) -> None:
        if missing:
            self.fire(dossier, "close_review", moment, FORCED_CLOSE, data={
                "force": True, "missing_reviews": [self.names[j] for j in missing]})
        else:
            self.fire(dossier, "close_review", moment)
        dossier.reviewed_at = moment

    # -- the sessions -----------------------------------------------------------------------
    def play(self, dossiers: list[Dossier], purse: Purse) -> None:
        """Every session up to today: the waitlist three sessions old is refused, money
        freed since the last session promotes the waitlist, the run ranks what the jury
        reviewed, and the Bureau grants the proposals two weeks later."""
        self.purse = purse
        queue = sorted((d for d in dossiers if d.reviewed_at is not None),
                       key=lambda d: d.reviewed_at)
        waitlist: list[Dossier] = []
        for number, day in enumerate(self.sessions):
            moment = Year.moment(day, 10)
            if moment > self.as_of:
                return
            purse.settle(moment)
            ready = [d for d in queue if d.reviewed_at < moment]
            queue = queue[len(ready):]
            self.close_waitlist(number, day, waitlist)
            proposed = self.promote(number, day, waitlist, purse)
            proposed += self.run(number, moment, ready, purse, waitlist)
            bureau = Year.bureau(day)
            if proposed and bureau <= self.as_of:
                purse.settle(bureau)
                self.deliberate(bureau, moment, proposed, purse)

    def seed(self, day: date) -> str:
        """The public draw of the Saturday before the session."""
        numbers = sorted(self.rng.sample(range(1, 50), 5))
        drawn = day - timedelta(days=(day.weekday() - 5) % 7)
        return f"Loto {drawn.isoformat()} : {' '.join(map(str, numbers))}"

    def parameters(self, budget: int, seed: str, purse: Purse) -> Parameters:
        """The call's settings (``allocation.parameters_for``), with ``budget`` as the
        run's what-if budget and what is left of each envelope."""
        rooms = purse.rooms()
        return Parameters(
            budget_cents=budget, seed=seed, scale=SETTINGS["scale"],
            envelopes=tuple(engine.Envelope(key, demo.TERRITORIES[key][0], rooms[key])
                            for key in purse.budgets),
            min_total=SETTINGS["min_total"], overflow=SETTINGS["overflow"],
            partial_min_share=SETTINGS["partial_min_share"], aggregation="mean")

    def candidates(self, dossiers: list[Dossier]) -> list[Candidate]:
        """The engine's view of the dossiers, scored as ``scoring.call_aggregates``
        scores them (counted reviews only, at least ``min_reviews``), once each."""
        fresh = [d for d in dossiers if not d.scored]
        totals = {(d.index, r.juror): float(r.total) for d in fresh for r in d.reviews
                  if r.submitted and not r.conflict}
        scores = aggregation.aggregate(
            totals, application_ids=[d.index for d in fresh], method="mean",
            scale=SETTINGS["scale"], min_reviews=SETTINGS["min_reviews"], methods=("mean",))
        for d in fresh:
            d.score, d.scored = scores[d.index].score, True
        return [Candidate(application_id=d.index, reference=d.reference or "",
                          score=d.score, requested_cents=d.requested,
                          organisation_id=d.org.id, project_cost_cents=d.charges,
                          envelope=d.envelope) for d in dossiers]

    def run(self, number: int, moment: datetime, ready: list[Dossier], purse: Purse,
            waitlist: list[Dossier]) -> list[Dossier]:
        """The session's committed run: each row fires propose, waitlist or reject."""
        if not ready:
            return []
        by_index = {d.index: d for d in ready}
        candidates = self.candidates(ready)
        params = self.parameters(purse.left(number), self.seed(to_paris(moment).date()),
                                 purse)
        result = engine.allocate(candidates, params)
        actor = self.team.instructors[0]  # who commits the run fires every row
        self.runs.append(RunPlan(number, moment, actor, params, candidates, result))
        proposed = []
        for row in result.rows:
            dossier = by_index[row.application_id]
            if row.proposed_cents:
                self.propose(dossier, "propose", moment, row.proposed_cents, row.reason, purse)
                proposed.append(dossier)
            elif row.outcome == "waitlisted":
                self.fire(dossier, "waitlist", moment, row.reason, actor=actor)
                dossier.waitlisted_in = number
                waitlist.append(dossier)
            else:
                self.fire(dossier, "reject", moment, row.reason, actor=actor)
        return proposed

    def propose(self, dossier: Dossier, trigger: str, moment: datetime, amount: int,
                comment: str, purse: Purse) -> None:
        if not 0 < amount <= dossier.requested:
            raise RuntimeError(f"{trigger} of {amount} for {dossier.requested} requested")
        self.fire(dossier, trigger, moment, comment, data={"amount_cents": amount},
                  actor=self.team.instructors[0])
        dossier.proposed = amount
        purse.propose(dossier.envelope, amount)

    def close_waitlist(self, number: int, day: date, waitlist: list[Dossier]) -> None:
        moment = Year.moment(day, 9, 30)
        for dossier in [d for d in waitlist if d.waitlisted_in <= number - 3]:
            self.fire(dossier, "reject", moment, STALE_WAITLIST)
            dossier.proposed = 0
            waitlist.remove(dossier)

    def promote(self, number: int, day: date, waitlist: list[Dossier], purse: Purse
                ) -> list[Dossier]:
        """What earlier sessions' shares have left (money freed by withdrawals,
        cancellations and closings below the grant) proposes the best of the waitlist,
        in the ranking's order (the seed of the run in force), at what a run gives."""
        budget = purse.left(number - 1)
        if not waitlist or budget <= 0 or not self.runs:
            return []
        moment = Year.moment(day, 9, 45)
        params = self.parameters(budget, self.runs[-1].params.seed, purse)
        result = engine.allocate(self.candidates(waitlist), params)
        by_index = {d.index: d for d in waitlist}
        promoted = []
        for row in sorted((r for r in result.rows if r.proposed_cents), key=lambda r: r.rank):
            dossier = by_index[row.application_id]
            comment = (f"Crédits libérés sur l'appel (retraits, annulations, soldes "
                       f"inférieurs aux subventions) : {row.reason}")
            self.propose(dossier, "promote", moment, row.proposed_cents, comment, purse)
            waitlist.remove(dossier)
            promoted.append(dossier)
        return promoted

    def deliberate(self, bureau: datetime, session: datetime, proposed: list[Dossier],
                   purse: Purse) -> None:
        """The Bureau grants the proposals at their amounts; a few are withdrawn before
        it meets, a few refused."""
        year = self.fiscal_year % 100
        reference = f"CSOC {100 + len(self.sittings):03d}-{self.rng.randint(1000, 9999)}/{year}/BM"
        decision = {"body": BUREAU, "reference": reference,
                    "date": to_paris(bureau).date().isoformat()}
        actor = self.team.instructors[0]  # who records the deliberation grants them all
        granted = []
        for k, dossier in enumerate(proposed):
            draw, amount = self.rng.random(), dossier.proposed
            if draw < 0.02:
                withdrawn = self.clock.anytime(session, 1, 8)
                self.fire(dossier, "withdraw", withdrawn, self.rng.choice(WITHDRAW_NOTES))
                self.release(dossier, withdrawn, purse)
            elif draw < 0.05:
                refused = bureau + timedelta(hours=3, seconds=k)
                self.fire(dossier, "reject", refused, self.rng.choice(BUREAU_REFUSALS))
                self.release(dossier, refused, purse)
            else:
                moment = bureau + timedelta(hours=2, seconds=k)
                purse.grant(dossier.envelope, amount)
                self.fire(dossier, "grant", moment, actor=actor,
                          data={"amount_cents": amount, "decision": decision})
                self.record_grant(dossier, moment, amount, reference, actor)
                granted.append((dossier, amount))
        recorded = bureau + timedelta(hours=2, seconds=len(proposed) + 1)
        self.sittings.append(Sitting(recorded, actor, reference, granted))
        for dossier, _ in granted:
            self.aftermath(dossier, dossier.events[-1].at)

    def release(self, dossier: Dossier, moment: datetime, purse: Purse) -> None:
        """A proposal withdrawn or refused frees what it held (``clear_proposed``)."""
        purse.later(moment, dossier.envelope, -dossier.proposed, 0)
        dossier.proposed = 0

    def record_grant(self, dossier: Dossier, moment: datetime, amount: int,
                     reference: str, actor: int) -> None:
        dossier.granted = dossier.committed = amount
        dossier.decision = {"body": BUREAU, "reference": reference,
                            "decided_on": to_paris(moment).date(), "amount_cents": amount,
                            "created_by_id": actor, "created_at": moment}

    # -- after the grant ------------------------------------------------------------------
    def aftermath(self, dossier: Dossier, granted: datetime) -> None:
        """Convention, payments, report, balance and closing, as far as the year goes.
        The year's first grant is cancelled within days (as in the demo, the association
        stopped); a few others later."""
        Life(self, dossier, granted, cancelled=not self.cancelled_first).play()
        self.cancelled_first = True


GRID_TOPS = tuple(c["max"] for c in demo.GRID)
GRID_WEIGHTS = tuple(c["weight"] for c in demo.GRID)
GRID_DENOMINATOR = 2 * sum(c["weight"] * c["max"] for c in demo.GRID)


def weighted_total(halves: list[int]) -> Decimal:
    """:func:`aap.services.scoring.weighted_total` on the grid, in integers: the weighted
    sum over the weighted maximum, on the scale, rounded half up to the thousandth."""
    numerator = sum(w * h for w, h in zip(GRID_WEIGHTS, halves, strict=True)) \
        * SETTINGS["scale"] * 1000
    return Decimal((2 * numerator + GRID_DENOMINATOR) // (2 * GRID_DENOMINATOR)).scaleb(-3)


CONTRACTED = next(t["dest"] for t in TRANSITIONS if t["trigger"] == "sign_convention")
LATER_PAYMENTS = frozenset(PHASES["later_payments"])


def schedule(granted: int) -> list[tuple[str, Decimal]]:
    """The convention's payment schedule: in one payment up to 5 000 €, else an 80 %
    advance and the balance on the report, above the threshold in three payments."""
    if granted <= SINGLE_PAYMENT_UP_TO:
        return [("advance", Decimal(1))]
    if granted <= CONVENTION_THRESHOLD:
        return [("advance", Decimal("0.8")), ("balance", Decimal("0.2"))]
    return [("advance", Decimal("0.5")), ("instalment", Decimal("0.3")),
            ("balance", Decimal("0.2"))]


def part(amount: int, share: Decimal) -> int:
    numerator, denominator = share.as_integer_ratio()
    return amount * numerator // denominator


class Life:
    """One grant after the Bureau: a convention (always above the call's threshold),
    the payments of its schedule, the final report (a few sent back for changes), the
    balance of what the report justifies, the closing with a repayment of what was paid
    beyond it; about one grant in thirty is cancelled before its report."""

    def __init__(self, story: Story, dossier: Dossier, granted: datetime,
                 cancelled: bool = False) -> None:
        self.story, self.dossier, self.granted = story, dossier, granted
        self.rng, self.clock, self.as_of = story.rng, story.clock, story.as_of
        amount = dossier.granted
        self.schedule = schedule(amount)
        self.convention = amount > CONVENTION_THRESHOLD or \
            self.rng.random() < (0.8 if amount > SINGLE_PAYMENT_UP_TO else 0.4)
        self.cancel_at = self.clock.office(granted, 5, 9) if cancelled else \
            self.clock.office(granted, 15, 150) if self.rng.random() < 0.04 else None
        draw = self.rng.random()
        self.factor = self.rng.uniform(0.70, 0.86) if draw < 0.15 else \
            self.rng.uniform(0.86, 0.93) if draw < 0.22 else self.rng.uniform(0.93, 1.05)
        self.justified = 0

    def going(self, moment: datetime) -> bool:
        """Whether the step at ``moment`` happens: not after today, and not after a
        cancellation (which happens instead, when its day has come)."""
        if self.cancel_at is not None and self.cancel_at <= moment:
            if self.cancel_at <= self.as_of:
                self.cancel()
            return False
        return moment <= self.as_of

    def play(self) -> None:
        moment = self.granted
        if self.convention:
            moment = self.clock.office(moment, 7, 30)
            if not self.going(moment):
                return
            self.sign(moment)
        moment = self.clock.office(moment, 7, 30)
        if not self.going(moment):
            return
        self.pay(moment, "advance", part(self.dossier.granted, self.schedule[0][1]))
        moment = self.instalment(moment)
        if moment is not None and (moment := self.report(moment)) is not None:
            self.settle(moment)

    # -- steps ------------------------------------------------------------------------
    def sign(self, moment: datetime) -> None:
        story = self.story
        sequence = story.next("convention")
        convention = {
            "reference": f"PMLCD-{story.fiscal_year}-{story.call_id}-{sequence:05d}",
            "signed_on": to_paris(moment).date(),
            "schedule": [{"kind": kind, "share": str(share)} for kind, share in self.schedule]}
        story.fire(self.dossier, "sign_convention", moment, data={"convention": {
            **convention, "signed_on": convention["signed_on"].isoformat()}})
        self.dossier.convention = {**convention, "created_at": moment}

    def pay(self, moment: datetime, kind: str, amount: int) -> None:
        dossier, story = self.dossier, self.story
        if amount <= 0 or dossier.paid + amount > dossier.granted:
            raise RuntimeError(f"payment of {amount} beyond the grant")
        first = not dossier.payments
        if first and dossier.granted > CONVENTION_THRESHOLD and dossier.state != CONTRACTED:
            raise RuntimeError("a convention is required before paying")
        finance = story.actor(dossier, "finance")
        paid_on = to_paris(moment).date()
        mandate = f"MDT-{story.fiscal_year}-{100_000 + story.next('mandate'):06d}"
        link = ("payment", len(dossier.payments))
        dossier.payments.append({"kind": kind, "amount_cents": amount, "paid_on": paid_on,
                                 "mandate": mandate, "created_by_id": finance,
                                 "created_at": moment})
        dossier.paid += amount
        data = {"kind": kind, "amount_cents": amount, "paid_on": paid_on.isoformat(),
                "mandate": mandate}
        if first:
            story.fire(dossier, "pay", moment, data=data, link=link)
        elif dossier.state in LATER_PAYMENTS:
            story.act(dossier, "payment", moment, finance, data=data, link=link)
        else:
            raise RuntimeError(f"no payment in {dossier.state}")

    def instalment(self, moment: datetime) -> datetime | None:
        if len(self.schedule) < 3:
            return moment
        file = self.dossier.file
        middle = file["starts_on"] + (file["ends_on"] - file["starts_on"]) / 2
        when = Year.moment(business(middle), 10)
        if when <= moment:
            when = self.clock.office(moment, 20, 60)
        if not self.going(when):
            return None
        self.pay(when, "instalment", part(self.dossier.granted, self.schedule[1][1]))
        return when

    def report(self, after: datetime) -> datetime | None:
        """The final report after the project's end; sent back for changes now and then;
        approved."""
        ends = max(Year.moment(self.dossier.file["ends_on"], 18), after)
        moment = self.clock.anytime(ends, 5, 50)
        if not self.going(moment):
            return None
        self.cancel_at = None  # a grant is no longer cancelled once reported
        data = self.report_data()
        self.submit(moment, data)
        if self.rng.random() < 0.12:
            moment = self.clock.office(moment, 5, 20)
            if not self.going(moment):
                return None
            self.story.fire(self.dossier, "request_report_changes", moment,
                            self.rng.choice(REPORT_CHANGES))
            moment = self.clock.anytime(moment, 3, 20)
            if not self.going(moment):
                return None
            self.submit(moment, data)
        moment = self.clock.office(moment, 7, 30)
        if not self.going(moment):
            return None
        self.story.fire(self.dossier, "approve_report", moment,
                        "Compte rendu financier conforme ; actions réalisées.")
        return moment

    def report_data(self) -> dict:
        """The CERFA 15059 figures: the charges as spent, the grant justified pro rata
        on the fund's line, the gap explained above the call's threshold."""
        dossier = self.dossier
        planned = dossier.charges
        spent = demo.realised_lines(dossier.budget, self.factor, 0)
        self.justified = pro_rata(dossier.granted, planned, sum(spent["charges"].values()))
        lines = demo.realised_lines(dossier.budget, self.factor, self.justified)
        gap = Decimal(sum(lines["charges"].values()) - planned) / Decimal(planned)
        reached = int(dossier.file["beneficiaries"] * min(self.factor, 1.0)
                      * self.rng.uniform(0.85, 1.15))
        data = {"realised": lines, "beneficiaries_reached": reached,
                "narrative": f"Action menée conformément au projet « {dossier.file['title']} ». "
                             "Bilan qualitatif et feuilles d'émargement joints ; restitution "
                             "faite aux partenaires."}
        if abs(gap) > GAP_THRESHOLD or (abs(gap) > Decimal("0.1") and self.rng.random() < 0.5):
            data["gap_explanation"] = self.rng.choice(GAP_EXPLANATIONS)
        return data

    def submit(self, moment: datetime, data: dict) -> None:
        dossier = self.dossier
        self.story.fire(dossier, "submit_report", moment, data=data)
        dossier.report = {"narrative": data["narrative"],
                          "gap_explanation": data.get("gap_explanation", ""),
                          "beneficiaries_reached": data["beneficiaries_reached"],
                          "submitted_at": moment, "submitted_by_id": dossier.org.member,
                          "lines": data["realised"]}

    def settle(self, approved: datetime) -> None:
        """The balance up to what the report justifies, then the closing (with a
        repayment of what was paid beyond it)."""
        dossier, moment = self.dossier, approved
        due = self.justified - (dossier.paid - dossier.repaid)
        if due > 0:
            moment = self.clock.office(moment, 5, 25)
            if not self.going(moment):
                return
            self.pay(moment, "balance", due)
        moment = self.clock.office(moment, 3, 20)
        if not self.going(moment):
            return
        over = dossier.paid - dossier.repaid - self.justified
        if over > 0:
            claim = self.claim(moment - timedelta(seconds=1), over,
                               "Sous-réalisation : part des sommes versées non justifiée par "
                               "le compte rendu financier.")
            self.story.fire(dossier, "close", moment, "Clôture avec titre de reversement.",
                            data={"repayment": claim})
        else:
            self.story.fire(dossier, "close", moment, "Subvention soldée.")
        self.commit_spent(moment)
        self.received(moment)

    def cancel(self) -> None:
        dossier, moment = self.dossier, self.cancel_at
        self.cancel_at = None
        self.story.fire(dossier, "cancel", moment, self.rng.choice(CANCEL_NOTES))
        self.commit_spent(moment)
        net = dossier.paid - dossier.repaid
        if net > 0 and self.rng.random() < 0.7:
            moment = self.clock.office(moment, 10, 40)
            if moment <= self.as_of:
                self.claim(moment, net, "Subvention annulée : reversement des sommes "
                                        f"versées ({engine.format_eur(net)}).")
                self.commit_spent(moment)
                self.received(moment)

    def claim(self, moment: datetime, amount: int, reason: str) -> dict:
        """A repayment claimed (titre de recette), audited; its claim as ``close`` takes it."""
        dossier, story = self.dossier, self.story
        finance = story.actor(dossier, "finance")
        claimed_on = to_paris(moment).date()
        reference = f"TR-{story.fiscal_year}-{story.call_id}-{story.next('repayment'):05d}"
        link = ("repayment", len(dossier.repayments))
        dossier.repayments.append({"amount_cents": amount, "claimed_on": claimed_on,
                                   "received_on": None, "reference": reference,
                                   "reason": reason, "created_by_id": finance,
                                   "created_at": moment})
        dossier.repaid += amount
        claim = {"amount_cents": amount, "claimed_on": claimed_on.isoformat(),
                 "reference": reference}
        story.act(dossier, "repayment_claimed", moment, finance, reason, dict(claim), link)
        return {**claim, "reason": reason}

    def commit_spent(self, moment: datetime) -> None:
        """A settled grant commits what was paid less what was claimed back."""
        dossier = self.dossier
        spent = max(dossier.paid - dossier.repaid, 0)
        delta, dossier.committed = spent - dossier.committed, spent
        self.story.purse.later(moment, dossier.envelope, delta, delta)

    def received(self, claimed: datetime) -> None:
        dossier = self.dossier
        if not dossier.repayments or self.rng.random() < 0.4:
            return
        repayment = dossier.repayments[-1]
        moment = self.clock.office(claimed, 15, 60)
        if moment > self.as_of:
            return
        repayment["received_on"] = to_paris(moment).date()
        self.story.act(dossier, "repayment_received", moment, self.story.actor(dossier, "finance"),
                       data={"amount_cents": repayment["amount_cents"],
                             "reference": repayment["reference"],
                             "received_on": repayment["received_on"].isoformat()},
                       link=("repayment", len(dossier.repayments) - 1))


# -- writing the year ------------------------------------------------------------------------

class Writer:
    """The rows of the year, table by table, children after their parents."""

    def __init__(self, call: Call, story: Story) -> None:
        self.call, self.story = call, story
        self.envelopes = {e.key: e.id for e in call.envelopes}
        self.ids: dict[int, int] = {}  # dossier index -> application id
        self.links: dict[tuple[int, str, int], int] = {}  # (index, kind, k) -> row id

    def write(self, dossiers: list[Dossier]) -> None:
        self.applications(dossiers)
        write(BudgetLine, self.budget_lines(dossiers))
        self.reviews(dossiers)
        write(Decision, ({"application_id": self.ids[d.index], **d.decision}
                         for d in dossiers if d.decision))
        write(Convention, ({"application_id": self.ids[d.index], **d.convention}
                           for d in dossiers if d.convention))
        self.money(dossiers)
        self.reports(dossiers)
        runs = self.runs()
        write(AuditEvent, self.events(dossiers))
        write(AuditEvent, self.call_events(runs))

    def applications(self, dossiers: list[Dossier]) -> None:
        rows = ({"reference": d.reference, "call_id": self.call.id,
                 "organisation_id": d.org.id, "created_by_id": d.org.member,
                 "envelope_id": self.envelopes[d.envelope], "state": d.state, **d.file,
                 "proposed_cents": d.proposed, "committed_cents": d.committed,
                 "submitted_at": d.submitted_at,
                 "completion_message": d.completion[0] if d.completion else None,
                 "completion_deadline": d.completion[1] if d.completion else None,
                 "created_at": d.created_at, "updated_at": d.updated_at} for d in dossiers)
        since = last_id(Application)
        write(Application, rows)
        by_key = ids_by(Application, since, "organisation_id", "created_at")
        self.ids = {d.index: by_key[(d.org.id, d.created_at)] for d in dossiers}

    def budget_lines(self, dossiers: list[Dossier]) -> Iterator[dict]:
        for d in dossiers:
            app_id = self.ids[d.index]
            for side, lines in d.budget.items():
                for code, cents in lines.items():
                    yield {"application_id": app_id, "side": side, "code": code,
                           "amount_cents": cents}

    def reviews(self, dossiers: list[Dossier]) -> None:
        plans = [(d, r) for d in dossiers for r in d.reviews]
        rows = ({"application_id": self.ids[d.index], "juror_id": r.juror,
                 "conflict": r.conflict,
                 "conflict_reason": CONFLICT_REASON if r.conflict else None,
                 "comment": r.comment, "submitted": r.submitted,
                 "submitted_at": r.saved_at if r.submitted else None, "total": r.total,
                 "created_at": r.assigned_at, "updated_at": r.saved_at or r.assigned_at}
                for d, r in plans)
        since = last_id(Review)
        write(Review, rows)
        by_key = ids_by(Review, since, "application_id", "juror_id")
        ids = [by_key[(self.ids[d.index], r.juror)] for d, r in plans]
        keys = [c["key"] for c in demo.GRID]
        write(ReviewScore, ({"review_id": review_id, "criterion_key": key,
                             "score": HALF_POINTS[h], "comment": ""}
                            for review_id, (_, r) in zip(ids, plans, strict=True)
                            if r.halves for key, h in zip(keys, r.halves, strict=True)))

    def money(self, dossiers: list[Dossier]) -> None:
        for kind, model, rows in (("payment", Payment, "payments"),
                                  ("repayment", Repayment, "repayments")):
            since = last_id(model)
            write(model, ({"application_id": self.ids[d.index], **row}
                          for d in dossiers for row in getattr(d, rows)))
            in_order: dict[int, list[int]] = {}
            for row_id, app_id in db.session.execute(
                    select(model.id, model.application_id).where(model.id > since)
                    .order_by(model.id)):
                in_order.setdefault(app_id, []).append(row_id)
            for d in dossiers:
                for k, row_id in enumerate(in_order.get(self.ids[d.index], [])):
                    self.links[(d.index, kind, k)] = row_id

    def reports(self, dossiers: list[Dossier]) -> None:
        reported = [d for d in dossiers if d.report]
        since = last_id(Report)
        write(Report, ({"application_id": self.ids[d.index],
                        **{k: v for k, v in d.report.items() if k != "lines"}}
                       for d in reported))
        by_app = ids_by(Report, since, "application_id")
        ids = [by_app[self.ids[d.index]] for d in reported]
        write(ReportLine, ({"report_id": report_id, "side": side, "code": code,
                            "amount_cents": cents}
                           for report_id, d in zip(ids, reported, strict=True)
                           for side, lines in d.report["lines"].items()
                           for code, cents in lines.items()))

    def runs(self) -> list[tuple[int, str]]:
        """The committed runs (id, digest), with the applications' ids: the engine is run
        again on them and must give the rows the year was played with."""
        ids, runs = [], self.story.runs
        for k, run in enumerate(runs):
            candidates = [replace(c, application_id=self.ids[c.application_id])
                          for c in run.candidates]
            result = engine.allocate(candidates, run.params)
            if [(r.proposed_cents, r.outcome) for r in result.rows] != \
                    [(r.proposed_cents, r.outcome) for r in run.result.rows]:
                raise RuntimeError(f"run {k} does not replay")
            superseded = runs[k + 1].at if k + 1 < len(runs) else None
            ids.append((self.run(run, candidates, result, superseded), result.digest))
        return ids

    def run(self, run: RunPlan, candidates: list[Candidate], result: engine.Result,
            superseded: datetime | None) -> int:
        params = run.params
        document = engine.canonical_document(candidates, params)
        table = AllocationRun.__table__
        run_id = db.session.execute(insert(table).returning(table.c.id).values({
            "call_id": self.call.id, "created_by_id": run.actor, "created_at": run.at,
            "budget_cents": params.budget_cents, "min_total": params.min_total,
            "aggregation": params.aggregation, "overflow": params.overflow,
            "partial_min_share": params.partial_min_share, "grey_zone": params.grey_zone,
            "seed": params.seed, "committed": True, "committed_at": run.at,
            "total_proposed_cents": result.total_proposed_cents, "digest": result.digest,
            "parameters": document["parameters"], "inputs": document["applications"],
            "superseded_at": superseded})).scalar_one()
        write(AllocationRow, ({"run_id": run_id, "application_id": r.application_id,
                               "position": i, "rank": r.rank, "score": r.score,
                               "requested_cents": r.requested_cents,
                               "proposed_cents": r.proposed_cents, "outcome": r.outcome,
                               "reason": r.reason, "envelope": r.envelope,
                               "pooled_cents": r.pooled_cents, "drawn": r.drawn}
                              for i, r in enumerate(result.rows)))
        return run_id

    def events(self, dossiers: list[Dossier]) -> Iterator[dict]:
        for d in dossiers:
            app_id = self.ids[d.index]
            for e in d.events:
                data = e.data
                if e.link is not None:
                    data = {**data, f"{e.link[0]}_id": self.links[(d.index, *e.link)]}
                yield {"at": e.at, "actor_id": e.actor, "object_type": "application",
                       "object_id": app_id, "application_id": app_id, "action": e.action,
                       "trigger": e.trigger, "from_state": e.source, "to_state": e.dest,
                       "comment": e.comment, "data": data}

    def call_events(self, runs: list[tuple[int, str]]) -> Iterator[dict]:
        """What the allocation and deliberation services audit on the call."""
        call = {"object_type": "call", "object_id": self.call.id, "application_id": None,
                "trigger": None, "from_state": None, "to_state": None, "comment": None}
        for run, (run_id, digest) in zip(self.story.runs, runs, strict=True):
            yield {**call, "at": run.at, "actor_id": run.actor,
                   "action": "allocation_committed",
                   "data": {"run_id": run_id, "digest": digest,
                            "total_proposed_cents": run.result.total_proposed_cents}}
        for sitting in self.story.sittings:
            yield {**call, "at": sitting.at, "actor_id": sitting.actor, "action": "deliberation",
                   "data": {"body": BUREAU, "reference": sitting.reference,
                            "date": to_paris(sitting.at).date().isoformat(),
                            "granted": [{"application_id": self.ids[d.index],
                                         "amount_cents": amount}
                                        for d, amount in sitting.granted],
                            "refused": []}}


# -- the call ------------------------------------------------------------------------------

def as_of(fiscal_year: int) -> datetime:
    """Today, or the middle of December of a past fiscal year."""
    return min(now(), Year.moment(date(fiscal_year, 12, 15), 18))


def budgets(dossiers: list[Dossier]) -> dict[str, int]:
    """Each envelope: about a third of what its applications ask, in thousands of euros."""
    asked: Counter[str] = Counter()
    for d in dossiers:
        if d.submitted_at is not None:
            asked[d.envelope] += d.requested
    return {key: max(asked[key] // ASKED_PER_BUDGET // 1_000_00, 1) * 1_000_00
            for key in TERRITORY_WEIGHTS}


def create_call(team: Staff, fiscal_year: int, year: Year, envelopes: dict[str, int],
                jury: list[int]) -> Call:
    """The call and its jury, through the calls service."""
    call = calls.create_call({
        "fund_id": team.fund_id, "fiscal_year": fiscal_year,
        "budget_cents": sum(envelopes.values()),
        "title": f"Appel à projets {fiscal_year} au fil de l'eau — Fonds d'initiative du PMLCD",
        "description": DESCRIPTION,
        "opens_at": Year.moment(year.opens_on, 9), "closes_at": Year.moment(year.closes_on, 12),
        "envelopes": [{"key": key, "label": demo.TERRITORIES[key][0], "budget_cents": cents}
                      for key, cents in envelopes.items()],
        "rules": RULES, "grid": demo.GRID, **SETTINGS,
        "convention_threshold_cents": CONVENTION_THRESHOLD,
        "report_gap_threshold": GAP_THRESHOLD, "completion_days": COMPLETION_DAYS})
    calls.set_jury(call, jury)
    return call


def number(dossiers: list[Dossier], fiscal_year: int) -> None:
    """The references of the submitted applications, in the order of submission, taken
    as one block of the fiscal year's counter (``aap.services.references``)."""
    submitted = sorted((d for d in dossiers if d.submitted_at is not None),
                       key=lambda d: d.submitted_at)
    if not submitted:
        return
    dialect = db.session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(upsert(ReferenceCounter).values(fiscal_year=fiscal_year, last_value=0)
                       .on_conflict_do_nothing(index_elements=["fiscal_year"]))
    last = db.session.execute(
        update(ReferenceCounter).where(ReferenceCounter.fiscal_year == fiscal_year)
        .values(last_value=ReferenceCounter.last_value + len(submitted))
        .returning(ReferenceCounter.last_value)).scalar_one()
    first = last - len(submitted) + 1
    for k, dossier in enumerate(submitted):
        dossier.reference = f"AAP-{fiscal_year}-{first + k:04d}"


def first_steps(orgs: list[Org], dossiers: list[Dossier]) -> dict[int, datetime]:
    """When each organisation registered: some days before its first application."""
    first: dict[int, datetime] = {}
    for d in dossiers:
        first.setdefault(id(d.org), d.created_at)
    return first


def generate(n: int, *, seed: int = 2026, fiscal_year: int | None = None,
             today: datetime | None = None) -> int:
    """Add a call of ``n`` applications spread over the whole workflow (see the module's
    documentation); returns the call's id. ``today`` is where the year stops (now by
    default; tests fix it to be independent of the day they run)."""
    if n < 1:
        raise ValueError("at least one application")
    with cycle_collector_paused():
        return _generate(n, seed, fiscal_year or demo.FISCAL_YEAR, today)


def _generate(n: int, seed: int, fiscal_year: int, today: datetime | None) -> int:
    rng = random.Random(seed)
    year = Year((today or as_of(fiscal_year)).astimezone(UTC))
    team, places = staff(), places_by_territory()
    people = People(rng, places)
    orgs = [people.org() for _ in range(max(1, round(n / 2.2)))]
    dossiers = Files(rng, places, year).dossiers(n, orgs)
    people.write(orgs, first_steps(orgs, dossiers))
    jury = [*team.jurors, *people.jurors(extra_jurors(n, team), Year.moment(year.opens_on, 9))]
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(jury))).all())
    story = Story(rng, year, team, jury, names)
    for dossier in dossiers:
        story.prelude(dossier)
    envelopes = budgets(dossiers)
    call = create_call(team, fiscal_year, year, envelopes, jury)
    story.call_id, story.fiscal_year = call.id, fiscal_year
    number(dossiers, fiscal_year)
    story.play(dossiers, Purse(envelopes, len(story.sessions)))
    Writer(call, story).write(dossiers)
    db.session.commit()
    return call.id


def extra_jurors(n: int, team: Staff) -> int:
    """Jurors beyond the core jury, so that none reviews much more than 400 files."""
    return max(math.ceil(n * JURORS_PER_APPLICATION / REVIEWS_PER_JUROR) - len(team.jurors), 0)


def load_with_big_call(n: int, reset: bool = True) -> tuple[list[demo.Login], int]:
    """``aap demo --applications N``: the demo (after emptying the database if
    ``reset``; without, only when it is not loaded yet), then a big call of ``n``."""
    logins: list[demo.Login] = []
    if reset or accounts.find_by_email(demo.STAFF[0][1]) is None:
        logins = demo.load_demo(reset=reset)
    else:
        logins = [(role, email, demo.DEMO_PASSWORD) for role, email, _ in demo.STAFF]
    return logins, generate(n)
