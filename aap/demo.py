"""A realistic demo: several authorities on one instance. The Aix-Marseille-Provence
métropole runs the metropolitan anti-discrimination fund (its 2026 call, six envelopes,
one per territorial council, a jury, dozens of associations and applications spread over
the whole workflow); the commune of Vitrolles, below the métropole, runs its own small
call around the 21 March and 17 May events of its plan; the Métropole Européenne de Lille
runs its eight-project call on housing, employment, health and education. Each authority
has its own staff (roles held in it); applicants are platform-wide, and some associations
apply to two authorities' calls.

Everything goes through the services (authorities, accounts, organisations, calls,
applications, reviews, allocation runs, deliberations) and every state change through the
workflow service, so the audit trail and the outbox are exactly what real use would have
written. The jury's proposals come from committed allocation runs seeded by a public draw
(the métropole's second supersedes the first, after two what-if simulations), the grants
from the deliberations at the proposed amounts, and a promotion from the money a
withdrawal freed. The data come from the plans in ``shared/seeds`` (PMLCD
Aix-Marseille-Provence, Vitrolles' PLCDRA, Lille's PTLCD): the six Conseils de Territoire,
their communes and priority neighbourhoods (QPV), the plans' themes and events.

``load_demo()`` is deterministic (``random.Random(2026)``, and one generator per local
call) for a given day: the calls are open *now*, so their dates, decisions and payments
are placed relative to today.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

import click
from flask import current_app
from sqlalchemy import select, update
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.fr import siret as stdnum_siret

from aap.extensions import db
from aap.models import Application, Authority, Call, Fund, Organisation, User
from aap.money import format_eur
from aap.services import (
    accounts,
    allocation,
    applications,
    authorities,
    calls,
    deliberations,
    organisations,
    reviews,
    workflow,
)
from aap.timeutil import PARIS, now, to_paris
from workflows import get_workflow
from workflows.application import PHASES

DEMO_PASSWORD = "Demo-AAP-2026"
DEMO_HASH_METHOD = "pbkdf2:sha256:20000"
SEED = 2026
FISCAL_YEAR = 2026
BUDGET_CENTS = 100_000_00
ADVANCE_SHARE = Decimal("0.8")

Login = tuple[str, str, str]

# -- reference data ----------------------------------------------------------------

FUND = {
    "name": "Fonds d'initiative du Plan métropolitain de lutte contre les discriminations",
    "owner_name": "Métropole Aix-Marseille-Provence",
    "owner_siret": "20005478100022",
    "imputation": {"chapter": "65", "nature": "65748", "function": "552",
                   "subpolicy": "D110"},
    "owner_product_line": "74_epci",
}

# The six Conseils de Territoire: envelope key -> (label, budget in euros).
TERRITORIES: dict[str, tuple[str, int]] = {
    "marseille_provence": ("Conseil de Territoire Marseille Provence", 42_000),
    "pays_aix": ("Conseil de Territoire du Pays d'Aix", 18_000),
    "pays_salonais": ("Conseil de Territoire du Pays Salonais", 10_000),
    "pays_aubagne": ("Conseil de Territoire du Pays d'Aubagne et de l'Étoile", 10_000),
    "istres_ouest_provence": ("Conseil de Territoire Istres-Ouest Provence", 10_000),
    "pays_martigues": ("Conseil de Territoire du Pays de Martigues", 10_000),
}


class AuthoritySpec(NamedTuple):
    key: str
    name: str
    kind: str
    siret: str  # the métropole's is public (the fund's owner); the others are made up
    parent: str | None = None


METROPOLE, VITROLLES, LILLE = "metropole", "vitrolles", "lille"
# The métropole, its six territorial councils (the fund's envelopes: same keys and
# names), the commune of Vitrolles below it, and Lille's métropole on its own.
VITROLLES_SIRET, LILLE_SIRET = "21139117200015", "24590042800013"
COUNCIL_SIRETS = ("24130011000012", "24130012800014", "24130013600017", "24130014400011",
                  "24130015100016", "24130016900018")
AUTHORITIES: list[AuthoritySpec] = [
    AuthoritySpec(METROPOLE, FUND["owner_name"], "metropole", FUND["owner_siret"]),
    *[AuthoritySpec(key, label, "council", siret, METROPOLE)
      for (key, (label, _)), siret in zip(TERRITORIES.items(), COUNCIL_SIRETS, strict=True)],
    AuthoritySpec(VITROLLES, "Ville de Vitrolles", "commune", VITROLLES_SIRET, METROPOLE),
    AuthoritySpec(LILLE, "Métropole Européenne de Lille", "metropole", LILLE_SIRET),
]


class Place(NamedTuple):
    commune: str
    postcode: str
    qpv: str | None
    territory: str

    @property
    def label(self) -> str:
        return f"{self.commune} — QPV {self.qpv}" if self.qpv else self.commune


PLACES: dict[str, Place] = {
    "marseille": Place("Marseille", "13001", None, "marseille_provence"),
    "marseille_6": Place("Marseille", "13006", None, "marseille_provence"),
    "frais_vallon": Place("Marseille", "13013", "Frais Vallon", "marseille_provence"),
    "malpasse": Place("Marseille", "13013", "Malpassé", "marseille_provence"),
    "castellane": Place("Marseille", "13016", "La Castellane", "marseille_provence"),
    "felix_pyat": Place("Marseille", "13003", "Félix Pyat", "marseille_provence"),
    "belle_de_mai": Place("Marseille", "13003", "Belle de Mai", "marseille_provence"),
    "noailles": Place("Marseille", "13001", "Noailles", "marseille_provence"),
    "savine": Place("Marseille", "13015", "La Savine", "marseille_provence"),
    "air_bel": Place("Marseille", "13011", "Air Bel", "marseille_provence"),
    "ciotat": Place("La Ciotat", "13600", "Abeille-Maurelette", "marseille_provence"),
    "marignane": Place("Marignane", "13700", None, "marseille_provence"),
    "aix": Place("Aix-en-Provence", "13100", None, "pays_aix"),
    "jas": Place("Aix-en-Provence", "13090", "Jas de Bouffan", "pays_aix"),
    "encagnane": Place("Aix-en-Provence", "13090", "Encagnane", "pays_aix"),
    "vitrolles_pins": Place("Vitrolles", "13127", "Les Pins", "pays_aix"),
    "vitrolles_liourat": Place("Vitrolles", "13127", "Le Liourat", "pays_aix"),
    "pertuis": Place("Pertuis", "84120", None, "pays_aix"),
    "gardanne": Place("Gardanne", "13120", None, "pays_aix"),
    "canourgues": Place("Salon-de-Provence", "13300", "Les Canourgues", "pays_salonais"),
    "berre": Place("Berre-l'Étang", "13130", None, "pays_salonais"),
    "pelissanne": Place("Pélissanne", "13330", None, "pays_salonais"),
    "charrel": Place("Aubagne", "13400", "Le Charrel", "pays_aubagne"),
    "pin_vert": Place("Aubagne", "13400", "Le Pin Vert", "pays_aubagne"),
    "auriol": Place("Auriol", "13390", None, "pays_aubagne"),
    "istres": Place("Istres", "13800", None, "istres_ouest_provence"),
    "prepaou": Place("Istres", "13800", "Le Prépaou", "istres_ouest_provence"),
    "maille": Place("Miramas", "13140", "La Maille", "istres_ouest_provence"),
    "fos": Place("Fos-sur-Mer", "13270", None, "istres_ouest_provence"),
    "psl": Place("Port-Saint-Louis-du-Rhône", "13230", None, "istres_ouest_provence"),
    "canto": Place("Martigues", "13500", "Canto-Perdrix", "pays_martigues"),
    "ndm": Place("Martigues", "13500", "Notre-Dame-des-Marins", "pays_martigues"),
    "port_de_bouc": Place("Port-de-Bouc", "13110", "Les Aigues Douces", "pays_martigues"),
}

STAFF: list[tuple[str, str, str]] = [
    ("admin", "administration@metropole.example.org", "Thomas Ferrand"),
    ("instructor", "sophie.marchetti@metropole.example.org", "Sophie Marchetti"),
    ("instructor", "karim.belkacem@metropole.example.org", "Karim Belkacem"),
    ("finance", "nathalie.roux@metropole.example.org", "Nathalie Roux"),
    ("finance", "julien.esposito@metropole.example.org", "Julien Esposito"),
    # The jury: Défenseur des droits, préfecture, conseil citoyen, CAF, Métropole.
    ("juror", "f.zerrouki@defenseur.example.org", "Fatima Zerrouki"),
    ("juror", "pa.giraud@prefecture13.example.org", "Pierre-Antoine Giraud"),
    ("juror", "a.mansouri@conseil-citoyen.example.org", "Aïcha Mansouri"),
    ("juror", "l.bernard@caf13.example.org", "Lucie Bernard"),
    ("juror", "o.santini@metropole.example.org", "Olivier Santini"),
    ("manager", "h.castagnoli@metropole.example.org", "Hélène Castagnoli"),
]
# The admin is platform-wide; the métropole's staff hold their roles in the métropole.
PLATFORM_ROLES = frozenset({"admin"})
# The second instructor and finance officer follow the Pays d'Aix and the west.
WEST = {"pays_aix", "istres_ouest_provence", "pays_martigues"}
# How each juror marks, on the /20 scale (some are stricter than others).
JUROR_BIAS = (0.0, -1.2, 0.8, 0.3, -0.5)

GRID = [
    {"key": "pertinence", "weight": 1, "max": 6,
     "label": "Pertinence au regard du Plan métropolitain de lutte contre les discriminations"},
    {"key": "ancrage", "weight": 1, "max": 4,
     "label": "Ancrage territorial et public des quartiers prioritaires (QPV)"},
    {"key": "partenariat", "weight": 1, "max": 3,
     "label": "Qualité du partenariat et mobilisation des acteurs locaux"},
    {"key": "faisabilite", "weight": 1, "max": 4,
     "label": "Faisabilité : calendrier, moyens humains et cohérence du budget"},
    {"key": "evaluation", "weight": 1, "max": 3,
     "label": "Modalités d'évaluation et indicateurs de résultat"},
]

CALL_DESCRIPTION = (
    "Le Fonds d'initiative annuel du Plan métropolitain de prévention et de lutte contre "
    "les discriminations (PMLCD, adopté en 2019) soutient les actions des associations "
    "sur les 92 communes de la Métropole, en priorité dans les quartiers prioritaires de "
    "la politique de la ville et sur les communes sans plan local. Sont attendus des "
    "projets de sensibilisation, d'accès aux droits, de formation des acteurs et de "
    "valorisation des parcours, dans les domaines de l'emploi, du logement, de "
    "l'éducation, de la santé, de la culture et du sport.\n\n"
    "Subvention de 1 000 € à 15 000 €, dans la limite de 80 % du coût total du projet. "
    "Les dossiers sont examinés au fil de l'eau par un jury réuni chaque mois ; les "
    "subventions sont attribuées par le Bureau de la Métropole, par enveloppe de "
    "Conseil de Territoire."
)

BANKS = [  # (bank code, BIC): banks associations of the Bouches-du-Rhône use
    ("42559", "CCOPFRPPXXX"),  # Crédit Coopératif
    ("20041", "PSSTFRPPMAR"),  # La Banque Postale, Marseille
    ("11315", "CEPAFRPP131"),  # Caisse d'Épargne CEPAC
    ("11306", "AGRIFRPP813"),  # Crédit Agricole Alpes Provence
    ("14607", "CCBPFRPPMAR"),  # Banque Populaire Méditerranée
    ("10278", "CMCIFR2A"),  # Crédit Mutuel
    ("30003", "SOGEFRPP"),  # Société Générale
]

FIRST_NAMES = [
    "Mehdi", "Claire", "Julien", "Nadia", "Sébastien", "Fatou", "Rachid", "Élodie",
    "Samia", "Thierry", "Inès", "Moussa", "Céline", "Hakim", "Laura", "Nicolas", "Myriam",
    "Vincent", "Sonia", "Bilal", "Anne-Sophie", "Farid", "Émilie", "Djamel", "Lina",
    "Grégory", "Houria", "Patrick", "Aminata", "Stéphane", "Leïla", "Marc", "Naïma",
    "Jérôme", "Salima", "Christophe", "Zoé", "Ibrahim", "Chloé", "Yacine",
]
LAST_NAMES = [
    "Benali", "Martin", "Rossi", "Diallo", "Ferrari", "Bouzid", "Garcia", "Nguyen",
    "Amrani", "Lopez", "Bianchi", "Traoré", "Mercier", "Khelifi", "Santoni", "Ouali",
    "Fabre", "Cherif", "Giordano", "Mendy", "Roux", "Saïdi", "Bertrand", "Hamidi",
    "Caruso", "Benyahia", "Pellegrin", "Koné", "Arnaud", "Meziane", "Vidal", "Sarr",
    "Blanc", "Touati", "Marchal", "Cissé", "Gauthier", "Laurent", "Agopian", "Papazian",
]


class Org(NamedTuple):
    key: str
    name: str
    place: str
    street: str
    association: bool = True


ORGS: list[Org] = [
    Org("egalite-pluriel", "Égalité Pluriel Marseille Nord", "frais_vallon",
        "Bâtiment C, 4 avenue de Frais Vallon"),
    Org("castellane-avenir", "Castellane Avenir Jeunesse", "castellane",
        "Centre social, place de la Castellane"),
    Org("femmes-felix-pyat", "Femmes solidaires de Félix Pyat", "felix_pyat",
        "18 rue Félix Pyat"),
    Org("regard-autre", "Compagnie Le Regard de l'Autre", "belle_de_mai", "12 rue Jobin"),
    Org("fiertes-med", "Fiertés Méditerranée", "marseille", "27 rue Sénac de Meilhan"),
    Org("handicap-emploi", "Handi'Cap Emploi Provence", "marseille_6", "92 rue Paradis"),
    Org("memoires-croisees", "Mémoires croisées La Ciotat", "ciotat",
        "Maison de quartier de l'Abeille, avenue de la Maurelette"),
    Org("marignane-jeunes", "Marignane Jeunesse et Citoyenneté", "marignane",
        "15 cours Mirabeau"),
    Org("savine-sport", "Savine Sport et Citoyenneté", "savine", "Chemin de la Savine"),
    Org("noailles-droits", "Noailles Solidarités – Point d'accès aux droits", "noailles",
        "9 rue d'Aubagne"),
    Org("sante-air-bel", "Santé partagée Air Bel", "air_bel", "Chemin de la Parette"),
    Org("trans-horizons", "Trans Horizons Provence", "marseille", "6 rue Pavillon"),
    Org("malpasse-connect", "Malpassé Connect", "malpasse", "Maison pour tous de Malpassé"),
    Org("sud-mentorat", "Sud Provence Mentorat", "marseille_6", "40 rue Grignan"),
    Org("dialogue-laicite", "Dialogue et Laïcité en Provence", "marseille",
        "3 rue de la République"),
    Org("cle-pour-tous", "Une Clé pour Tous", "marseille_6", "58 rue Breteuil"),
    Org("diversite-conseil", "Diversité Conseil RH (SAS)", "marseille_6",
        "120 rue de Rome", association=False),
    Org("mediation-jas", "Médiation sociale du Jas", "jas",
        "Avenue de Saint-John Perse"),
    Org("encagnane-scene", "Encagnane en Scène", "encagnane",
        "Place Romée de Villeneuve"),
    Org("ondes-citoyennes", "Ondes citoyennes de Vitrolles", "vitrolles_liourat",
        "Centre social du Liourat"),
    Org("juristes-aix", "Juristes solidaires du Pays d'Aix", "aix",
        "29 avenue Robert Schuman"),
    Org("pins-solidaires", "Les Pins solidaires", "vitrolles_pins", "Maison de quartier des Pins"),
    Org("campus-aix", "Égalité des chances Campus Aix", "aix", "3 avenue Robert Schuman"),
    Org("pertuis-egalite", "Association pertuisienne pour l'égalité", "pertuis",
        "Place Jean Jaurès"),
    Org("gardanne-talents", "Gardanne Talents", "gardanne", "Boulevard Carnot"),
    Org("canourgues-ensemble", "Canourgues Ensemble", "canourgues",
        "Centre social des Canourgues"),
    Org("elles-etang", "Les Elles de l'Étang", "berre", "Avenue de la Libération"),
    Org("seniors-salonais", "Seniors solidaires du Pays salonais", "pelissanne",
        "Cours Frédéric Mistral"),
    Org("charrel-emploi", "Charrel Emploi Jeunes", "charrel", "Centre social du Charrel"),
    Org("pin-vert-partage", "Le Pin Vert en partage", "pin_vert", "Maison de quartier du Pin Vert"),
    Org("huveaune-handicap", "Ruralité et handicap Haute-Huveaune", "auriol",
        "Avenue de la Libération"),
    Org("prepaou-sport", "Prépaou Sport Égalité", "prepaou", "Gymnase du Prépaou"),
    Org("ateliers-maille", "Les Ateliers de la Maille", "maille", "Avenue Jean Mermoz"),
    Org("fos-diversite", "Fos Industrie Diversité", "fos", "Maison de la vie associative"),
    Org("delta-solidarites", "Delta Solidarités", "psl", "Rue Gambetta"),
    Org("voyageurs-citoyens", "Voyageurs et citoyens de l'Étang", "istres",
        "Chemin de Sulauze"),
    Org("canto-citoyen", "Canto-Perdrix Citoyen", "canto", "Centre social de Canto-Perdrix"),
    Org("marins-du-lien", "Les Marins du lien", "ndm", "Maison de quartier Notre-Dame-des-Marins"),
    Org("aigues-douces", "Aigues Douces Initiatives", "port_de_bouc", "Avenue Maurice Thorez"),
]
FEATURED_ORG = "egalite-pluriel"
FEATURED_PEOPLE = ("Yasmina", "Haddad")


class Dossier(NamedTuple):
    """One demo application: its content and the state it is driven to.

    ``jury`` gives each juror's part, in the order of ``STAFF``: S submitted, D draft
    saved, C conflict of interest declared, - nothing yet. ``note`` is the comment of
    the trigger that makes the state (completion, ineligibility, withdrawal...).
    ``amount`` is what the allocation run proposes (or the promotion, for a waitlisted
    application promoted later): the run decides it, the story checks it."""

    org: str
    state: str
    requested: int | None  # euros
    amount: int | None  # euros proposed by the run (or the promotion), then granted
    score: float | None  # the jury's target mean, on /20
    domains: tuple[str, ...]
    grounds: tuple[str, ...]
    title: str
    summary: str
    objectives: str
    public: str
    beneficiaries: int
    places: tuple[str, ...]
    jury: str = "SSSSS"
    flags: tuple[str, ...] = ()
    note: str = ""


DOSSIERS: list[Dossier] = [
    Dossier(
        "egalite-pluriel", "closed", 6000, 6000, 16.4, ("emploi",),
        ("origine", "lieu_residence"),
        "Forum « Mon quartier, mon talent » : recruter sans discriminer",
        "Un forum de l'emploi au cœur de Frais Vallon réunissant des employeurs signataires "
        "d'une charte de recrutement sans discrimination et des demandeurs d'emploi des "
        "quartiers nord, précédé d'ateliers de préparation et d'une formation des "
        "recruteurs au recrutement par les compétences.",
        "Mobiliser 25 employeurs et les former à l'entretien structuré ; accompagner 150 "
        "demandeurs d'emploi ; obtenir 30 entretiens d'embauche dans les trois mois.",
        "Demandeurs d'emploi de 18 à 35 ans des QPV du 13e arrondissement", 150,
        ("frais_vallon", "malpasse")),
    Dossier(
        "egalite-pluriel", "in_review", 4500, None, 14.0, ("emploi", "acces_aux_droits"),
        ("origine", "patronyme", "lieu_residence"),
        "Ateliers « Connaître ses droits face à la discrimination à l'embauche »",
        "Un cycle de six ateliers animés avec une juriste pour repérer une discrimination à "
        "l'embauche, réunir des preuves et saisir le Défenseur des droits, complété par une "
        "permanence d'orientation mensuelle.",
        "Former 80 personnes ; orienter 20 situations vers le Défenseur des droits ou un "
        "avocat ; diffuser un guide pratique dans les centres sociaux du 13e.",
        "Habitantes et habitants de Frais Vallon, du Clos et de La Rose", 80,
        ("frais_vallon",), jury="SSD--"),
    Dossier(
        "egalite-pluriel", "incomplete", 3000, None, None, ("education", "emploi"),
        ("origine", "lieu_residence"),
        "Stages de 3e : un réseau d'entreprises pour les collégiens du 13e",
        "Constituer un vivier d'entreprises et de services publics prêts à accueillir les "
        "élèves de 3e des collèges REP+ du 13e arrondissement pour leur stage "
        "d'observation, et préparer les élèves aux codes professionnels.",
        "Trouver 60 offres de stage ; accompagner 90 collégiens ; réunir 15 entreprises "
        "lors d'un petit-déjeuner de lancement.",
        "Collégiens de 3e des collèges REP+ du 13e arrondissement", 90,
        ("frais_vallon", "malpasse"),
        note="Merci de joindre les lettres d'engagement des deux collèges partenaires et de "
             "détailler la ligne 64 (charges de personnel) du budget prévisionnel."),
    Dossier(
        "egalite-pluriel", "draft", None, None, None, ("acces_aux_droits",),
        ("origine", "vulnerabilite_economique", "lieu_residence"),
        "Permanence mobile d'accès aux droits dans les cités du 13e",
        "Un véhicule aménagé pour une permanence juridique hebdomadaire au pied des "
        "immeubles : accès aux droits, aide aux démarches en ligne, recueil des "
        "signalements de discrimination.",
        "", "", 0, ("frais_vallon",), flags=("partial",)),
    Dossier(
        "castellane-avenir", "contracted", 8000, 8000, 15.8, ("education", "emploi"),
        ("origine", "lieu_residence"),
        "« Dégun sans stage » à la Castellane : parrainage et découverte des métiers",
        "Des étudiants et des salariés bénévoles parrainent des lycéens de la Castellane et "
        "de la Bricarde dans leur recherche de stage et d'alternance ; visites "
        "d'entreprises et rencontres avec des professionnels issus des quartiers.",
        "Former 40 binômes de parrainage ; organiser 8 visites d'entreprises ; 70 % des "
        "jeunes accompagnés en stage ou en alternance.",
        "Lycéens et jeunes de 15 à 21 ans de la Castellane et de la Bricarde", 60,
        ("castellane",)),
    Dossier(
        "femmes-felix-pyat", "in_progress", 4500, 4500, 15.1, ("emploi",),
        ("sexe", "origine", "lieu_residence"),
        "Femmes de Félix Pyat : lever les freins à l'emploi",
        "Un accompagnement collectif et individuel de femmes du Parc Bellevue vers "
        "l'emploi : ateliers sur les stéréotypes de genre dans l'orientation, garde "
        "d'enfants solidaire pendant les ateliers, rencontres avec des employeuses.",
        "Accompagner 35 femmes pendant six mois ; 15 entrées en formation qualifiante ou "
        "en emploi ; un réseau de 10 marraines.",
        "Femmes de 25 à 55 ans du quartier Félix Pyat – Parc Bellevue", 35,
        ("felix_pyat",)),
    Dossier(
        "regard-autre", "report_approved", 8000, 8000, 17.1,
        ("culture_sport", "education"), ("origine", "religion", "orientation_sexuelle"),
        "Théâtre-forum « Et toi, t'en penses quoi ? » dans les collèges",
        "Des représentations de théâtre-forum dans six collèges de Marseille : les élèves "
        "rejouent des scènes de discrimination et de harcèlement (racisme, antisémitisme, "
        "LGBTphobies) et cherchent ensemble des réponses, avec des enseignants formés à la "
        "reprise en classe.",
        "12 représentations ; 900 élèves ; 30 enseignants formés ; un questionnaire "
        "avant/après pour mesurer l'évolution des représentations.",
        "Collégiens de 4e et de 3e et leurs enseignants", 900,
        ("belle_de_mai", "felix_pyat", "savine"), jury="SSCSS"),
    Dossier(
        "fiertes-med", "granted", 6000, 6000, 15.4, ("acces_aux_droits", "sante"),
        ("orientation_sexuelle", "identite_genre"),
        "Accueil et accompagnement des victimes de LGBTphobies",
        "Une permanence d'écoute et d'accompagnement des personnes victimes de violences et "
        "de discriminations LGBTphobes (logement, travail, services publics), en lien avec "
        "les référents des commissariats et le Défenseur des droits.",
        "Accueillir 120 personnes ; accompagner 40 plaintes ou saisines ; former 50 "
        "professionnels de l'accueil.",
        "Personnes LGBT+ victimes de discriminations ; professionnels de l'accueil", 170,
        ("marseille",)),
    Dossier(
        "handicap-emploi", "cancelled", 5000, 5000, 14.6, ("emploi",),
        ("handicap", "etat_sante"),
        "Job dating inclusif et sensibilisation des recruteurs au handicap",
        "Trois job datings réunissant entreprises et candidats en situation de handicap, "
        "précédés d'une demi-journée de sensibilisation des recruteurs aux aménagements "
        "raisonnables et aux biais de l'entretien.",
        "Réunir 40 entreprises et 120 candidats ; 25 recrutements ou périodes de mise en "
        "situation en milieu professionnel.",
        "Demandeurs d'emploi bénéficiaires de la RQTH ; recruteurs du bassin marseillais",
        120, ("marseille",),
        note="L'association a cessé son activité après le premier job dating (liquidation "
             "judiciaire) : l'avance versée couvre les dépenses engagées, le solde non "
             "versé est libéré sur l'enveloppe."),
    Dossier(
        "memoires-croisees", "report_submitted", 3500, 3500, 14.2,
        ("culture_sport", "citoyennete"), ("origine", "ethnie_nation_race"),
        "Exposition « Chantiers navals, mémoires d'immigrations »",
        "Une exposition itinérante et des ateliers intergénérationnels sur l'histoire des "
        "ouvriers des chantiers navals de La Ciotat venus d'Italie, d'Arménie, du Maghreb "
        "et d'Afrique, pour déconstruire les préjugés par l'histoire locale.",
        "Recueillir 20 témoignages ; accueillir 600 visiteurs dont 12 classes ; former 10 "
        "jeunes médiateurs.",
        "Habitants de l'Abeille, de la Maurelette et des Matagots ; scolaires ; seniors",
        600, ("ciotat",)),
    Dossier(
        "marignane-jeunes", "proposed", 3500, 2000, 13.9,
        ("citoyennete", "culture_sport"), ("origine", "religion"),
        "Webradio « Paroles de jeunes » contre les préjugés",
        "Des jeunes de 14 à 20 ans produisent une émission mensuelle sur les préjugés et "
        "les discriminations vécues, avec des invités (Défenseur des droits, sportifs, "
        "chefs d'entreprise) et des reportages dans les quartiers.",
        "Produire 8 émissions ; former 15 jeunes aux techniques radio et à la vérification "
        "de l'information ; 2 000 écoutes.",
        "Jeunes de 14 à 20 ans de Marignane", 15, ("marignane",)),
    Dossier(
        "savine-sport", "waitlisted", 6000, None, 13.1, ("culture_sport",),
        ("sexe", "origine", "lieu_residence"),
        "Foot et citoyenneté : des équipes mixtes à la Savine",
        "Des séances de football mixtes et des temps d'échange sur l'égalité filles-garçons "
        "et le racisme dans le sport, avec un tournoi inter-quartiers en fin de saison.",
        "Faire pratiquer 80 jeunes dont 40 % de filles ; former 6 éducateurs sportifs ; "
        "organiser un tournoi inter-quartiers.",
        "Jeunes de 10 à 17 ans de la Savine et de Notre-Dame-Limite", 80, ("savine",)),
    Dossier(
        "noailles-droits", "reviewed", 5500, None, 14.4, ("logement", "acces_aux_droits"),
        ("origine", "vulnerabilite_economique", "langue"),
        "Habitat indigne et discriminations au logement : accompagner les locataires",
        "Une permanence d'accès aux droits pour les locataires de Noailles et du centre-"
        "ville : refus de location, logements indignes, accompagnement vers la commission "
        "de médiation et la saisine du Défenseur des droits, avec interprétariat.",
        "Accompagner 150 ménages ; 40 dossiers de recours ; deux réunions d'information "
        "par trimestre.",
        "Locataires et demandeurs de logement du 1er arrondissement", 150, ("noailles",)),
    Dossier(
        "sante-air-bel", "rejected", 4000, None, 8.6, ("sante",),
        ("origine", "vulnerabilite_economique", "langue"),
        "Bus santé et refus de soins : enquête auprès des habitants d'Air Bel",
        "Une enquête par questionnaire sur les refus de soins opposés aux bénéficiaires de "
        "la complémentaire santé solidaire, suivie d'une journée santé.",
        "Recueillir 200 questionnaires ; organiser une journée santé.",
        "Habitants d'Air Bel", 200, ("air_bel",)),
    Dossier(
        "trans-horizons", "in_review", 6500, None, 15.0, ("sante", "acces_aux_droits"),
        ("identite_genre",),
        "Parcours de soins et d'accès aux droits des personnes trans",
        "Un accompagnement par des pairs des personnes trans dans leurs démarches (état "
        "civil, santé, emploi) et la formation des équipes d'accueil de trois centres de "
        "santé et de deux agences France Travail.",
        "Accompagner 60 personnes ; former 45 professionnels ; publier un guide des "
        "démarches de changement de prénom et de mention du sexe.",
        "Personnes trans et non binaires ; professionnels de santé et de l'accueil", 105,
        ("marseille",), jury="SSS-C"),
    Dossier(
        "malpasse-connect", "in_review", 3000, None, 12.0,
        ("acces_aux_droits", "services_publics"), ("age", "vulnerabilite_economique",
                                                   "lieu_residence"),
        "E-administration sans exclusion : ateliers numériques à Malpassé",
        "Des ateliers d'initiation et une aide aux démarches en ligne (CAF, impôts, France "
        "Travail) pour les habitants éloignés du numérique, assurés par des jeunes en "
        "service civique formés à l'accueil sans jugement.",
        "Tenir 100 ateliers ; accompagner 250 personnes ; réduire les ruptures de droits.",
        "Seniors et habitants éloignés du numérique de Malpassé et des Lauriers", 250,
        ("malpasse",), jury="-----"),
    Dossier(
        "sud-mentorat", "eligible", 9000, None, None, ("education", "emploi"),
        ("origine", "lieu_residence", "patronyme"),
        "Mentorat d'étudiants des quartiers prioritaires vers l'université et les écoles",
        "Des agents de la Métropole et des cadres d'entreprise mentorent des étudiants "
        "issus des QPV jusqu'au premier emploi : réseau, stages, préparation aux "
        "entretiens, conformément à l'axe « Une métropole exemplaire » du plan.",
        "Constituer 50 binômes ; 35 stages ou premiers emplois ; une journée de "
        "valorisation des mentors.",
        "Étudiants de 2e et 3e cycle résidant en QPV", 50, ("marseille", "frais_vallon"),
        flags=("resubmitted",),
        note="Merci de joindre les conventions de partenariat avec Aix-Marseille Université "
             "et de préciser le calendrier de recrutement des mentors."),
    Dossier(
        "dialogue-laicite", "submitted", 4000, None, None, ("citoyennete", "education"),
        ("religion", "origine"),
        "Laïcité et faits religieux : former les animateurs et éducateurs",
        "Des sessions de formation de deux jours pour les animateurs périscolaires et les "
        "éducateurs sportifs : cadre juridique de la laïcité, prévention des "
        "discriminations religieuses, études de cas.",
        "Former 120 professionnels ; produire 10 fiches-cas ; un suivi à six mois.",
        "Animateurs, éducateurs et responsables associatifs", 120, ("marseille",)),
    Dossier(
        "cle-pour-tous", "submitted", 12000, None, None, ("logement",),
        ("origine", "patronyme", "vulnerabilite_economique"),
        "Testing de l'accès au parc locatif privé et sensibilisation des agences",
        "Une campagne de tests de situation (testing) auprès de 200 annonces de location, "
        "suivie de la restitution des résultats aux agences immobilières et d'une charte "
        "d'engagement, sur le modèle des démarches de Lille et de Nantes.",
        "Tester 200 annonces ; former 30 agents immobiliers ; 15 agences signataires de "
        "la charte.",
        "Agences immobilières et candidats locataires de Marseille", 230,
        ("marseille", "marseille_6")),
    Dossier(
        "diversite-conseil", "ineligible", 15000, None, None, ("emploi",),
        ("origine", "sexe", "age"),
        "Audit diversité et formation des managers",
        "Un audit des processus de recrutement de PME volontaires et la formation de leurs "
        "managers à la non-discrimination.",
        "Auditer 10 PME ; former 80 managers.",
        "Dirigeants et managers de PME", 80, ("marseille_6",),
        note="Le porteur est une société par actions simplifiée : le règlement du Fonds "
             "d'initiative réserve les subventions aux associations et organismes à but "
             "non lucratif."),
    Dossier(
        "mediation-jas", "closed", 4000, 4000, 15.9, ("logement", "citoyennete"),
        ("origine", "religion", "lieu_residence"),
        "Médiation de voisinage et prévention des discriminations au Jas de Bouffan",
        "Des médiateurs interviennent dans les conflits de voisinage où s'expriment des "
        "propos racistes ou des rejets liés à la religion, avec les bailleurs sociaux, et "
        "animent des cafés-débats en pied d'immeuble.",
        "Mener 10 médiations ; 6 cafés-débats ; former 12 gardiens d'immeuble.",
        "Locataires du parc social du Jas de Bouffan ; gardiens d'immeuble", 300, ("jas",),
        flags=("repayment",)),
    Dossier(
        "encagnane-scene", "in_progress", 6000, 6000, 15.2, ("culture_sport",),
        ("origine", "handicap", "apparence_physique"),
        "Festival « Encagnane en scène » : cultures urbaines et inclusion",
        "Un festival de quartier de danse, de slam et de graff porté par les jeunes "
        "d'Encagnane, avec des scènes ouvertes aux artistes en situation de handicap et "
        "des débats sur les préjugés liés à l'apparence.",
        "Réunir 1 500 spectateurs ; impliquer 60 jeunes dans l'organisation ; 30 % "
        "d'artistes en situation de handicap.",
        "Jeunes et familles d'Encagnane et du Jas de Bouffan", 1500, ("encagnane", "jas"),
        flags=("report_changes",),
        note="La ligne 62 du compte rendu (2 400 €) n'est pas justifiée : merci de joindre "
             "les factures des intervenants et le nombre de spectateurs par soirée."),
    Dossier(
        "ondes-citoyennes", "granted", 3500, 3500, 16.0, ("education", "citoyennete"),
        ("origine", "religion", "orientation_sexuelle"),
        "Éducation aux médias : décrypter la haine en ligne",
        "Des ateliers radio et vidéo dans les collèges de Vitrolles pour apprendre à "
        "reconnaître et à signaler les contenus haineux (racisme, antisémitisme, haine "
        "anti-LGBT), en lien avec le plan local de la Ville.",
        "Animer 24 ateliers ; 300 collégiens ; une émission restituée le 21 mars.",
        "Collégiens de Vitrolles", 300, ("vitrolles_liourat", "vitrolles_pins")),
    Dossier(
        "juristes-aix", "proposed", 4500, 4500, 12.9, ("acces_aux_droits",),
        ("origine", "handicap", "age", "vulnerabilite_economique"),
        "Consultations juridiques gratuites : discriminations au travail et au logement",
        "Des avocats et juristes bénévoles tiennent des consultations gratuites dans les "
        "maisons de quartier d'Aix et orientent les victimes de discriminations vers les "
        "recours adaptés.",
        "Tenir 40 permanences ; 200 consultations ; 30 recours engagés.",
        "Habitants des quartiers prioritaires d'Aix-en-Provence", 200,
        ("aix", "jas", "encagnane"), flags=("promoted",)),
    Dossier(
        "pins-solidaires", "reviewed", 3000, None, 13.5, ("education", "loisirs"),
        ("origine", "sexe", "lieu_residence"),
        "Égalité filles-garçons dans les accueils de loisirs des Pins",
        "Former les animateurs aux stéréotypes de genre et aux discriminations, et "
        "construire avec les enfants des activités mixtes, jusqu'à une journée de "
        "restitution avec les familles.",
        "Former 20 animateurs ; 150 enfants touchés ; une journée familles.",
        "Enfants de 6 à 12 ans et animateurs des accueils de loisirs", 170,
        ("vitrolles_pins",), jury="SSS-S",
        note="Jury réuni en séance plénière : l'évaluation manquante a été remplacée par "
             "l'avis oral du juré, absent lors de la saisie."),
    Dossier(
        "campus-aix", "rejected", 2500, None, 9.2, ("education",),
        ("origine", "vulnerabilite_economique", "patronyme"),
        "Campagne d'affichage contre les discriminations sur le campus",
        "Une campagne d'affiches et de réseaux sociaux réalisée par des étudiants pour "
        "sensibiliser aux discriminations dans l'accès aux stages.",
        "Produire 10 visuels ; atteindre 5 000 étudiants.",
        "Étudiants du campus d'Aix", 5000, ("aix",)),
    Dossier(
        "pertuis-egalite", "eligible", 3500, None, None, ("citoyennete", "loisirs"),
        ("origine", "lieu_residence"),
        "Semaine de l'égalité à Pertuis autour du 21 mars",
        "Une semaine d'événements autour de la Journée internationale pour l'élimination "
        "de la discrimination raciale : projections-débats, exposition des écoles, "
        "rencontres sportives et théâtre, dans une commune sans plan local.",
        "Mobiliser 12 associations et 8 classes ; 1 000 participants.",
        "Habitants de Pertuis, scolaires", 1000, ("pertuis",)),
    Dossier(
        "gardanne-talents", "withdrawn", 4000, 4000, 14.5, ("emploi",), ("age", "sexe"),
        "Emploi des plus de 50 ans : valoriser l'expérience",
        "Des ateliers de valorisation des compétences et des rencontres avec des "
        "employeurs pour les demandeurs d'emploi de plus de 50 ans, en particulier les "
        "femmes.",
        "Accompagner 40 personnes ; 15 reprises d'emploi ou de formation.",
        "Demandeurs d'emploi de plus de 50 ans", 40, ("gardanne",), flags=("from_proposal",),
        note="L'intervenante principale n'est plus disponible cette année : nous "
             "redéposerons le projet au prochain appel."),
    Dossier(
        "canourgues-ensemble", "report_approved", 4000, 4000, 16.8,
        ("citoyennete", "culture_sport"), ("origine", "lieu_residence"),
        "Les Canourgues racontées par leurs habitants : changer le regard sur le quartier",
        "Un atelier de photographie et de récits de vie pour produire une exposition "
        "présentée au centre-ville de Salon, afin de combattre l'image stigmatisante du "
        "quartier et les discriminations liées à l'adresse.",
        "30 habitants participants ; une exposition de 40 portraits ; 2 000 visiteurs.",
        "Habitants des Canourgues ; public du centre-ville", 2000, ("canourgues",)),
    Dossier(
        "elles-etang", "contracted", 3500, 3500, 15.0, ("emploi", "citoyennete"),
        ("sexe", "situation_famille"),
        "Femmes et métiers de l'industrie autour de l'étang de Berre",
        "Des visites de sites industriels et des rencontres avec des techniciennes pour "
        "ouvrir aux femmes les métiers de la pétrochimie et de l'aéronautique, avec une "
        "solution de garde pour les mères seules.",
        "Faire découvrir 10 métiers à 40 femmes ; 12 entrées en formation technique.",
        "Femmes en recherche d'emploi, dont mères isolées, de Berre et de Rognac", 40,
        ("berre",)),
    Dossier(
        "seniors-salonais", "proposed", 3000, 2500, 13.7,
        ("acces_aux_droits", "services_publics"), ("age", "perte_autonomie"),
        "Âgisme : accès aux droits et aux services en ligne pour les seniors",
        "Des ateliers dans les villages du Pays salonais pour aider les seniors à faire "
        "valoir leurs droits face à la dématérialisation et prévenir les refus de "
        "services liés à l'âge (banque, assurance, location).",
        "Animer 30 ateliers dans 6 communes ; accompagner 180 seniors.",
        "Personnes de plus de 65 ans du Pays salonais", 180, ("pelissanne", "canourgues")),
    Dossier(
        "canourgues-ensemble", "withdrawn", 2000, None, 11.5, ("culture_sport",),
        ("sexe",), "Tournoi de futsal féminin inter-quartiers",
        "Un tournoi de futsal féminin réunissant les équipes des quartiers de Salon et de "
        "Berre, avec des ateliers sur les stéréotypes dans le sport.",
        "Réunir 12 équipes et 120 joueuses.", "Jeunes filles de 12 à 18 ans", 120,
        ("canourgues",), jury="S----", flags=("from_review",),
        note="Le gymnase n'est plus disponible aux dates prévues : nous retirons notre "
             "demande."),
    Dossier(
        "charrel-emploi", "in_progress", 4000, 4000, 15.5, ("emploi",),
        ("origine", "lieu_residence", "age"),
        "Coaching vers l'emploi des jeunes du Charrel avec les entreprises des Paluds",
        "Un coaching collectif et des immersions en entreprise dans la zone d'activités "
        "des Paluds pour les jeunes du Charrel, avec des chefs d'entreprise engagés "
        "contre les discriminations liées à l'adresse.",
        "Accompagner 30 jeunes ; 20 immersions ; 12 contrats signés.",
        "Jeunes de 16 à 25 ans du Charrel", 30, ("charrel",), flags=("no_convention",)),
    Dossier(
        "pin-vert-partage", "granted", 4500, 4500, 14.9, ("education", "citoyennete"),
        ("origine", "religion"),
        "Ateliers philo et citoyenneté pour les 8-12 ans",
        "Des ateliers de philosophie pour enfants sur l'égalité, la différence et les "
        "préjugés, dans les écoles et l'accueil de loisirs du Pin Vert.",
        "Animer 40 ateliers ; 200 enfants ; une restitution publique.",
        "Enfants de 8 à 12 ans du Pin Vert et du Charrel", 200, ("pin_vert", "charrel")),
    Dossier(
        "huveaune-handicap", "waitlisted", 4000, None, 12.6, ("loisirs", "culture_sport"),
        ("handicap",),
        "Loisirs partagés : accueillir les enfants handicapés en accueil de loisirs",
        "Un accompagnement des accueils de loisirs de la Haute-Huveaune pour accueillir "
        "les enfants en situation de handicap : formation des équipes, matériel adapté, "
        "binômes avec un animateur référent.",
        "Former 25 animateurs ; accueillir 30 enfants en situation de handicap.",
        "Enfants en situation de handicap et leurs familles", 30, ("auriol",)),
    Dossier(
        "charrel-emploi", "incomplete", 2500, None, None, ("emploi",),
        ("vulnerabilite_economique", "lieu_residence"),
        "Permis de conduire solidaire pour l'accès à l'emploi",
        "Un accompagnement au code et à la conduite pour des jeunes sans solution de "
        "mobilité, condition d'accès à l'emploi dans les zones d'activités.",
        "Accompagner 15 jeunes jusqu'à l'examen du permis.",
        "Jeunes de 18 à 25 ans du Charrel et du Pin Vert", 15, ("charrel", "pin_vert"),
        note="Le budget mentionne un cofinancement de la CAF sans justificatif : merci de "
             "joindre la notification ou le courrier de demande, et un RIB à jour."),
    Dossier(
        "prepaou-sport", "report_submitted", 5000, 5000, 16.1,
        ("culture_sport", "education"), ("sexe", "handicap", "origine"),
        "Sport pour toutes et tous au Prépaou : handisport et sport féminin",
        "Des créneaux sportifs mixtes et handisport au gymnase du Prépaou, des "
        "interventions dans les écoles et une fête du sport inclusif.",
        "Ouvrir 4 créneaux hebdomadaires ; 120 pratiquants dont 50 % de filles et 20 "
        "personnes en situation de handicap.",
        "Enfants et jeunes du Prépaou et des Quatre-Vents", 120, ("prepaou",),
        flags=("gap",)),
    Dossier(
        "ateliers-maille", "reviewed", 4500, None, 14.7, ("emploi", "acces_aux_droits"),
        ("origine", "langue", "vulnerabilite_economique"),
        "Français à visée professionnelle et droits face aux discriminations",
        "Des cours de français à visée professionnelle pour des adultes primo-arrivants, "
        "intégrant la connaissance du droit du travail et des recours contre les "
        "discriminations.",
        "Former 45 adultes ; 20 accès à l'emploi ou à la formation.",
        "Adultes primo-arrivants de La Maille", 45, ("maille",),
        flags=("resubmitted",),
        note="Merci de préciser le nombre d'heures de formation par stagiaire."),
    Dossier(
        "fos-diversite", "in_review", 7000, None, 12.2, ("emploi",),
        ("origine", "sexe", "lieu_residence"),
        "Accès des jeunes des quartiers aux emplois de la zone industrialo-portuaire",
        "Un partenariat avec les entreprises de la zone industrialo-portuaire de Fos pour "
        "ouvrir l'alternance aux jeunes des quartiers d'Istres, de Miramas et de "
        "Port-Saint-Louis : visites, job dating, accompagnement des tuteurs.",
        "20 entreprises partenaires ; 60 jeunes ; 25 contrats d'alternance.",
        "Jeunes de 16 à 25 ans des QPV de l'ouest de l'étang de Berre", 60,
        ("fos", "maille", "prepaou")),
    Dossier(
        "delta-solidarites", "submitted", 3000, None, None,
        ("acces_aux_droits", "services_publics"),
        ("vulnerabilite_economique", "langue", "origine"),
        "Écrivain public et médiation administrative à Port-Saint-Louis-du-Rhône",
        "Une permanence d'écrivain public et de médiation avec les administrations, pour "
        "les habitants qui renoncent à leurs droits faute de maîtriser l'écrit ou le "
        "français.",
        "Tenir 80 permanences ; accompagner 300 démarches.",
        "Habitants de Port-Saint-Louis-du-Rhône", 300, ("psl",)),
    Dossier(
        "voyageurs-citoyens", "eligible", 5000, None, None,
        ("education", "acces_aux_droits"), ("origine", "lieu_residence"),
        "Scolarisation et accès aux droits des enfants du voyage",
        "Une médiation entre les familles des aires d'accueil d'Istres et de Miramas et "
        "les écoles, pour prévenir les refus d'inscription et l'absentéisme, et un "
        "accompagnement aux démarches de domiciliation.",
        "Scolariser 40 enfants ; accompagner 25 familles ; former les directeurs d'école.",
        "Familles de gens du voyage et équipes éducatives", 65, ("istres", "maille")),
    Dossier(
        "canto-citoyen", "in_progress", 6000, 6000, 16.3, ("citoyennete", "education"),
        ("origine", "religion", "lieu_residence"),
        "Conseil des jeunes de Canto-Perdrix : enquêter sur les discriminations vécues",
        "Un groupe de jeunes mène une enquête auprès des habitants sur les discriminations "
        "vécues, avec l'appui d'une sociologue, et en présente les résultats aux élus et "
        "aux services de la Ville de Martigues.",
        "Former 15 jeunes enquêteurs ; 200 entretiens ; une restitution publique.",
        "Jeunes de 15 à 25 ans de Canto-Perdrix", 215, ("canto",)),
    Dossier(
        "marins-du-lien", "rejected", 5000, None, 7.9, ("loisirs",), ("origine",),
        "Sorties en mer pour les familles de Notre-Dame-des-Marins",
        "Des sorties en mer et des pique-niques pour les familles du quartier pendant "
        "l'été.",
        "Organiser 10 sorties pour 100 familles.",
        "Familles de Notre-Dame-des-Marins", 100, ("ndm",), flags=("first_session",)),
    Dossier(
        "aigues-douces", "draft", 3500, None, None, ("emploi", "citoyennete"),
        ("origine", "lieu_residence"),
        "Rencontres employeurs – habitants aux Aigues Douces",
        "Des petits-déjeuners mensuels entre employeurs du territoire et habitants des "
        "Aigues Douces pour lever les préjugés liés au quartier.",
        "Organiser 8 rencontres ; 20 employeurs ; 80 habitants.",
        "Habitants des Aigues Douces en recherche d'emploi", 80, ("port_de_bouc",)),
    Dossier(
        "sud-mentorat", "draft", None, None, None, ("education", "emploi"),
        ("origine", "lieu_residence"),
        "Prépa concours de la fonction publique territoriale pour les jeunes des QPV",
        "Une préparation aux concours de catégorie B et C de la fonction publique "
        "territoriale, avec des agents de la Métropole comme tuteurs.",
        "", "", 0, ("marseille",), flags=("partial",)),
    Dossier(
        "delta-solidarites", "ineligible", 2500, None, None, ("acces_aux_droits",),
        ("vulnerabilite_economique", "langue"),
        "Permanence d'accès aux droits à Salin-de-Giraud",
        "Une permanence hebdomadaire d'accès aux droits au hameau de Salin-de-Giraud.",
        "Tenir 40 permanences ; 150 personnes accompagnées.",
        "Habitants de Salin-de-Giraud", 150, ("Arles — Salin-de-Giraud",),
        note="L'action se déroule à Salin-de-Giraud, sur la commune d'Arles, qui "
             "n'appartient pas à la Métropole Aix-Marseille-Provence."),
]

REVIEW_COMMENTS = {
    "high": [
        "Projet solide, bien ancré dans le quartier et porté par une équipe expérimentée.",
        "Partenariats concrets et indicateurs d'évaluation précis : à soutenir.",
        "Action pertinente au regard des axes du plan ; budget cohérent.",
    ],
    "mid": [
        "Intérêt réel, mais les partenariats restent à formaliser.",
        "Bon diagnostic ; les modalités d'évaluation sont trop générales.",
        "Projet pertinent, calendrier ambitieux au regard des moyens humains.",
    ],
    "low": [
        "Le lien avec la lutte contre les discriminations est peu explicite.",
        "Action d'animation générale sans objectif mesurable sur les discriminations.",
        "Budget peu détaillé et public cible mal défini.",
    ],
}

# -- the other authorities' calls ----------------------------------------------------
# Vitrolles' plan (PLCDRA 2019-2021): its own call of about ten projects a year in the
# schools, the neighbourhoods and the cultural venues, around the 21 March (the
# international day for the elimination of racial discrimination, the plan's "temps
# fort") and the 17 May (against anti-LGBT hatred); media literacy, memory (the CM2's
# visit to the Camp des Milles), employment ("Au-delà de l'autoroute", the Cap Commun
# challenge), citizens' cafés. Lille's plan (PTLCD, 2018): eight projects selected, on
# its four priorities (employment, housing, health, education and guidance).

LOCAL_PLACES: dict[str, Place] = {
    "vitrolles": Place("Vitrolles", "13127", None, "pays_aix"),
    "lille": Place("Lille", "59000", None, ""),
    "lille_sud": Place("Lille", "59000", "Lille Sud", ""),
    "roubaix": Place("Roubaix", "59100", "L'Alma", ""),
    "tourcoing": Place("Tourcoing", "59200", "La Bourgogne", ""),
    "mons": Place("Mons-en-Barœul", "59370", "Nouveau Mons", ""),
    "loos": Place("Loos", "59120", "Les Oliveaux", ""),
    "villeneuve": Place("Villeneuve-d'Ascq", "59650", "Pont-de-Bois", ""),
}
ALL_PLACES: dict[str, Place] = {**PLACES, **LOCAL_PLACES}

VITROLLES_ORGS: list[Org] = [
    Org("voix-melees", "Compagnie Les Voix mêlées", "vitrolles", "12 avenue Jean Monnet"),
    Org("cap-commun", "Cap Commun – Sport et emploi à Vitrolles", "vitrolles",
        "Complexe sportif du Liourat"),
    Org("memoire-berre", "Mémoire et transmission Étang de Berre", "vitrolles_liourat",
        "Maison de quartier du Liourat"),
    Org("cafe-possibles", "Le Café des possibles", "vitrolles", "Place de Provence"),
    Org("palette-liourat", "La Palette du Liourat", "vitrolles_liourat",
        "Rue de la Bastide"),
    Org("clic-critique", "Clic & Critique – Éducation aux médias", "vitrolles_pins",
        "Centre social des Pins"),
    Org("conteurs-etang", "Les Conteurs de l'Étang", "vitrolles", "Avenue des Salyens"),
]
LILLE_ORGS: list[Org] = [
    Org("habitat-droits", "Habitat et Droits Roubaix", "roubaix", "24 rue de l'Alma"),
    Org("parrainage-nord", "Parrainage Emploi Nord", "tourcoing",
        "Maison des associations, 100 rue de Lille"),
    Org("alliance-diversite", "Alliance Diversité Métropole Nord", "lille",
        "15 boulevard de la Liberté"),
    Org("ambassadrices-sante", "Les Ambassadrices santé de Lille Sud", "lille_sud",
        "Centre social de Lille Sud, rue de Marquillies"),
    Org("sante-precarite", "Santé Précarité Métropole", "loos",
        "Maison de santé des Oliveaux"),
    Org("cap-orientation", "Cap Orientation Nouveau Mons", "mons", "Avenue Robert Schuman"),
    Org("reussite-bourgogne", "Réussite éducative La Bourgogne", "tourcoing",
        "Centre social de la Bourgogne"),
]
# Associations of the métropole's call that also apply to another authority's call.
SHARED_ORG = "ondes-citoyennes"

VITROLLES_GRID = [
    {"key": "pertinence", "weight": 1, "max": 6,
     "label": "Pertinence au regard du Plan local de lutte contre les discriminations, le "
              "racisme et l'antisémitisme"},
    {"key": "temps_forts", "weight": 1, "max": 4,
     "label": "Inscription dans les temps forts du 21 mars et du 17 mai"},
    {"key": "jeunes", "weight": 1, "max": 4,
     "label": "Publics touchés, en priorité les jeunes Vitrollais"},
    {"key": "partenariat", "weight": 1, "max": 3,
     "label": "Partenariats : écoles, collèges, centres sociaux, médiathèques"},
    {"key": "evaluation", "weight": 1, "max": 3,
     "label": "Faisabilité et modalités d'évaluation"},
]
LILLE_GRID = [
    {"key": "priorites", "weight": 1, "max": 6,
     "label": "Inscription dans les priorités du plan : emploi, logement, santé, "
              "éducation et orientation"},
    {"key": "qpv", "weight": 1, "max": 4,
     "label": "Habitants des quartiers prioritaires de la politique de la ville"},
    {"key": "leviers", "weight": 1, "max": 4,
     "label": "Leviers : sensibilisation et formation, accompagnement des publics, "
              "communication"},
    {"key": "partenariat", "weight": 1, "max": 3,
     "label": "Partenariat et mise en réseau des acteurs"},
    {"key": "evaluation", "weight": 1, "max": 3,
     "label": "Évaluation et contribution à l'observation des discriminations"},
]

VITROLLES_STAFF: list[tuple[str, str, str]] = [
    ("instructor", "m.ricci@ville-vitrolles.example.org", "Mélanie Ricci"),
    ("finance", "s.girard@ville-vitrolles.example.org", "Stéphane Girard"),
    # The jury: the elected referent of the plan and the Défenseur des droits' delegate.
    ("juror", "r.aitali@ville-vitrolles.example.org", "Rachida Aït-Ali"),
    ("juror", "jm.morel@defenseur.example.org", "Jean-Marc Morel"),
    ("manager", "f.lemaire@ville-vitrolles.example.org", "Françoise Lemaire"),
]
LILLE_STAFF: list[tuple[str, str, str]] = [
    ("instructor", "c.delattre@lillemetropole.example.org", "Caroline Delattre"),
    ("finance", "b.vandamme@lillemetropole.example.org", "Benoît Vandamme"),
    # The jury: the IREV Hauts-de-France and the Défenseur des droits' delegate.
    ("juror", "n.lefebvre@irev.example.org", "Nathalie Lefebvre"),
    ("juror", "k.haddouche@defenseur59.example.org", "Karim Haddouche"),
    ("manager", "s.wattebled@lillemetropole.example.org", "Sylvie Wattebled"),
]

VITROLLES_DOSSIERS: list[Dossier] = [
    Dossier(
        "ondes-citoyennes", "in_progress", 3000, 3000, 16.2, ("education", "citoyennete"),
        ("origine", "religion"),
        "Semaine du 21 mars : une radio éphémère dans les collèges REP et REP+",
        "Les élèves des deux collèges de l'éducation prioritaire préparent en ateliers "
        "puis animent en direct, pendant la semaine du 21 mars, une radio éphémère sur "
        "les préjugés, le racisme et l'antisémitisme, avec des invités du territoire.",
        "Former 40 collégiens aux techniques radio ; 15 heures d'antenne ; une "
        "restitution commune avec les autres projets de l'appel.",
        "Collégiens de 4e et de 3e des collèges REP et REP+ de Vitrolles", 40,
        ("vitrolles_liourat", "vitrolles_pins"), jury="SS", flags=("first_session",
                                                                   "march21")),
    Dossier(
        "voix-melees", "in_progress", 4000, 4000, 16.6, ("culture_sport", "education"),
        ("handicap", "origine"),
        "« Tous pareils, tous différents » : théâtre en français et en langue des signes",
        "Une pièce créée avec des élèves de CM2 et des comédiens sourds, jouée en "
        "français et en langue des signes française le 21 mars à la salle des fêtes, "
        "puis dans les écoles, suivie d'un échange sur les stéréotypes.",
        "Trois représentations ; 450 enfants spectateurs ; 25 élèves sur scène ; un "
        "atelier d'initiation à la LSF par classe.",
        "Écoliers de CM1 et de CM2 et leurs familles", 450, ("vitrolles",), jury="SS",
        flags=("first_session", "march21")),
    Dossier(
        "pins-solidaires", "contracted", 2500, 2500, 15.4, ("citoyennete", "loisirs"),
        ("origine", "sexe", "lieu_residence"),
        "Jeu de piste géant contre les discriminations dans le quartier des Pins",
        "Un jeu de piste dans tout le quartier, conçu avec les enfants des accueils de "
        "loisirs : à chaque étape, une situation de discrimination à reconnaître et une "
        "réponse à trouver, avec les commerçants et les services de proximité.",
        "12 étapes ; 200 participants ; 30 enfants concepteurs ; un livret réutilisable "
        "par les écoles.",
        "Enfants de 8 à 12 ans et familles du quartier des Pins", 200,
        ("vitrolles_pins",), jury="SS", flags=("first_session", "march21")),
    Dossier(
        "fiertes-med", "granted", 2000, 2000, 15.0, ("citoyennete", "culture_sport"),
        ("orientation_sexuelle", "identite_genre"),
        "17 mai à Vitrolles : exposition et ciné-débat contre la haine anti-LGBT",
        "Pour la journée mondiale contre l'homophobie et la transphobie, une exposition "
        "de témoignages à la médiathèque et un ciné-débat avec le Défenseur des droits, "
        "précédés d'une intervention auprès des lycéens.",
        "Accueillir 400 visiteurs ; 120 spectateurs au ciné-débat ; 6 classes de lycée "
        "sensibilisées.",
        "Lycéens, agents de la Ville et grand public", 520, ("vitrolles",), jury="SS",
        flags=("first_session", "may17")),
    Dossier(
        "cap-commun", "granted", 3500, 3500, 14.6, ("emploi", "culture_sport"),
        ("origine", "lieu_residence", "age"),
        "Challenge « Cap Commun » : recruteurs et candidats dans la même équipe",
        "Une journée de défis sportifs où recruteurs et demandeurs d'emploi des "
        "quartiers forment des équipes mixtes, pour se rencontrer autrement, dans le "
        "cadre du projet « Au-delà de l'autoroute, cassons les frontières ».",
        "Réunir 15 entreprises et 60 candidats ; 20 entretiens dans le mois qui suit.",
        "Demandeurs d'emploi des quartiers prioritaires ; recruteurs du bassin", 75,
        ("vitrolles_liourat", "vitrolles_pins"), jury="SS",
        flags=("first_session", "may17")),
    Dossier(
        "memoire-berre", "proposed", 2000, 2000, 14.1, ("education", "citoyennete"),
        ("origine", "ethnie_nation_race", "religion"),
        "Préparer la visite du Camp des Milles : ateliers mémoire avec les CM2",
        "Des ateliers en classe avant et après la sortie des CM2 au Camp des Milles : "
        "récits de vie, archives locales, et une exposition des élèves présentée le "
        "21 mars.",
        "Accompagner 8 classes ; 200 élèves ; une exposition itinérante.",
        "Élèves de CM2 et leurs enseignants", 200, ("vitrolles",), jury="SS",
        flags=("first_session", "march21")),
    Dossier(
        "cafe-possibles", "waitlisted", 3000, None, 12.4, ("acces_aux_droits",),
        ("origine", "vulnerabilite_economique", "lieu_residence"),
        "Cafés citoyens : libérer la parole sur les discriminations vécues",
        "Des cafés citoyens mensuels dans les centres sociaux, pour que les habitants "
        "parlent des discriminations vécues et soient orientés vers la permanence du "
        "Défenseur des droits à la Maison du Droit.",
        "Tenir 8 cafés citoyens ; 100 participants ; 15 orientations vers le Défenseur "
        "des droits.",
        "Habitants des quartiers prioritaires de Vitrolles", 100, ("vitrolles",),
        jury="SS", flags=("first_session", "may17")),
    Dossier(
        "palette-liourat", "rejected", 1500, None, 8.4, ("loisirs",), ("origine",),
        "Fresque de printemps au Liourat",
        "Une fresque murale réalisée avec les habitants pendant les vacances de "
        "printemps.",
        "Réaliser une fresque de 20 m².", "Habitants du Liourat", 60,
        ("vitrolles_liourat",), jury="SS", flags=("first_session", "march21")),
    Dossier(
        "clic-critique", "in_review", 2500, None, 14.8, ("education", "citoyennete"),
        ("origine", "religion", "orientation_sexuelle"),
        "Haine en ligne : éducation aux médias et à l'information avant le 17 mai",
        "Des ateliers dans les collèges pour repérer, signaler et ne pas relayer les "
        "contenus haineux, en lien avec les référents de l'Éducation nationale, et une "
        "campagne de messages conçue par les élèves pour le 17 mai.",
        "Animer 20 ateliers ; 500 collégiens ; 10 enseignants formés.",
        "Collégiens et enseignants de Vitrolles", 510, ("vitrolles",), jury="S-",
        flags=("may17",)),
    Dossier(
        "conteurs-etang", "submitted", 1800, None, None, ("culture_sport", "education"),
        ("origine", "sexe", "apparence_physique"),
        "Contes d'ici et d'ailleurs contre les stéréotypes dans les médiathèques",
        "Des veillées contées dans les médiathèques de la Ville pendant le mois de mars, "
        "autour des préjugés et de l'égalité filles-garçons, avec un fonds de livres "
        "dédié.",
        "Six veillées ; 300 enfants et parents.", "Enfants de 4 à 10 ans et familles",
        300, ("vitrolles",), flags=("march21",)),
]

LILLE_DOSSIERS: list[Dossier] = [
    Dossier(
        "cle-pour-tous", "in_progress", 15000, 15000, 16.0, ("logement",),
        ("origine", "patronyme", "vulnerabilite_economique"),
        "Testing de l'accès au parc locatif privé dans la métropole lilloise",
        "Une campagne de tests de situation auprès de 300 annonces de location de la "
        "métropole, la restitution des résultats aux agences et un module de formation "
        "conçu avec l'IREV Hauts-de-France.",
        "Tester 300 annonces ; former 40 agents immobiliers ; 20 agences engagées dans "
        "la charte partenariale du logement.",
        "Agences immobilières et candidats locataires de la métropole", 340,
        ("lille", "roubaix", "tourcoing"), jury="SS", flags=("first_session",)),
    Dossier(
        "habitat-droits", "contracted", 9000, 9000, 15.2, ("logement", "acces_aux_droits"),
        ("origine", "lieu_residence", "vulnerabilite_economique"),
        "Comprendre les attributions de logements sociaux : ateliers pour les demandeurs",
        "Des ateliers d'information sur le circuit de la demande et les critères "
        "d'attribution, et un accompagnement des personnes qui s'estiment "
        "discriminées, avec le guide de la Fondation Abbé Pierre.",
        "Tenir 24 ateliers ; informer 300 demandeurs ; accompagner 40 recours.",
        "Demandeurs de logement social des quartiers prioritaires de Roubaix", 300,
        ("roubaix",), jury="SS", flags=("first_session",)),
    Dossier(
        "parrainage-nord", "in_progress", 12000, 12000, 15.8, ("emploi",),
        ("origine", "lieu_residence", "patronyme"),
        "Parrainage vers l'emploi des jeunes diplômés des quartiers de Tourcoing",
        "Des cadres d'entreprises signataires de la charte entreprises et quartiers "
        "parrainent des jeunes diplômés des QPV jusqu'au premier emploi : réseau, "
        "préparation aux entretiens, découverte des emplois francs.",
        "Constituer 60 binômes ; 40 embauches ou contrats en alternance.",
        "Jeunes diplômés de 20 à 30 ans des QPV de Tourcoing et de Roubaix", 60,
        ("tourcoing", "roubaix"), jury="SS", flags=("first_session",)),
    Dossier(
        "alliance-diversite", "granted", 14000, 14000, 14.4, ("emploi",),
        ("origine", "sexe", "age", "handicap"),
        "Diagnostics RH diversité et recrutement sans discriminer dans les TPE-PME",
        "Un accompagnement de PME et de communes dans un diagnostic RH diversité et "
        "leur plan d'actions, et des formations aux pratiques d'embauche et de "
        "management sans discriminer.",
        "Accompagner 15 structures ; former 120 recruteurs et managers.",
        "Dirigeants, recruteurs et services RH de la métropole", 120, ("lille",),
        jury="SS", flags=("first_session",)),
    Dossier(
        "ambassadrices-sante", "in_progress", 8000, 8000, 16.5, ("sante", "acces_aux_droits"),
        ("origine", "vulnerabilite_economique", "langue"),
        "Ambassadrices santé : l'accès aux soins et les refus de soins à Lille Sud",
        "Des habitantes formées informent leurs voisins sur leurs droits à la santé, "
        "les accompagnent chez les professionnels et recueillent les refus de soins "
        "pour l'observatoire métropolitain des discriminations.",
        "Former 12 ambassadrices ; informer 400 habitants ; recenser les refus de "
        "soins.",
        "Habitants de Lille Sud, en particulier les bénéficiaires de la complémentaire "
        "santé solidaire", 400, ("lille_sud",), jury="SS", flags=("first_session",)),
    Dossier(
        "sante-precarite", "contracted", 10000, 10000, 14.9, ("sante",),
        ("vulnerabilite_economique", "origine", "etat_sante"),
        "Santé et précarité : former les professionnels de santé aux refus de soins",
        "Des sessions de sensibilisation des médecins, dentistes et pharmaciens aux "
        "refus de soins discriminatoires, et une journée d'étude « Santé et précarité » "
        "avec le Défenseur des droits.",
        "Former 80 professionnels de santé ; une journée d'étude de 150 participants.",
        "Professionnels de santé de Loos, Haubourdin et Lille Sud", 230,
        ("loos", "lille_sud"), jury="SS", flags=("first_session",)),
    Dossier(
        "cap-orientation", "granted", 7000, 7000, 14.1, ("education", "emploi"),
        ("origine", "lieu_residence"),
        "Stages de 3e : un réseau d'entreprises pour les collégiens du Nouveau Mons",
        "Un réseau d'entreprises et de services publics qui accueillent les élèves du "
        "cycle 4 en séquence d'observation, et la préparation des élèves aux codes "
        "professionnels, dans le cadre du parcours Avenir.",
        "Trouver 80 offres de stage ; accompagner 120 collégiens.",
        "Collégiens de 4e et de 3e du réseau d'éducation prioritaire de Mons-en-Barœul",
        120, ("mons", "villeneuve"), jury="SS", flags=("first_session",)),
    Dossier(
        "reussite-bourgogne", "granted", 11000, 11000, 13.8, ("education",),
        ("origine", "lieu_residence", "vulnerabilite_economique"),
        "Mixité sociale et orientation : ateliers au collège et avec les familles",
        "Des ateliers d'orientation pour les collégiens de La Bourgogne et leurs parents, "
        "contre l'autocensure et les orientations subies, avec des visites de lycées "
        "généraux et d'établissements d'enseignement supérieur.",
        "Accompagner 150 élèves et 80 familles ; 10 visites d'établissements.",
        "Collégiens et familles du quartier de La Bourgogne à Tourcoing", 230,
        ("tourcoing",), jury="SS", flags=("first_session",)),
]


# States whose grant was decided at the first session (the others at the second).
FIRST_SESSION = {*PHASES["later_payments"], *PHASES["settled"]}
PAST_PROJECT = set(PHASES["report"]) - {"in_progress"}


# -- identifiers -------------------------------------------------------------------

def make_siret(rng: random.Random, taken: set[str]) -> str:
    """A SIRET that passes the Luhn checks of the SIREN and of the whole number."""
    while True:
        body = rng.choice("34578") + "".join(rng.choice("0123456789") for _ in range(7))
        siren = body + luhn.calc_check_digit(body)
        nic = f"000{rng.randint(1, 4)}"
        siret = siren + nic + luhn.calc_check_digit(siren + nic)
        if stdnum_siret.is_valid(siret) and siret not in taken and siren != "356000000":
            taken.add(siret)
            return siret


def make_rna(rng: random.Random, postcode: str) -> str:
    return f"W{postcode[:2]}{rng.randint(1_000_000, 3_999_999):07d}"


def rib_key(bank: str, branch: str, account: str) -> str:
    return f"{97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97:02d}"


def make_iban(rng: random.Random) -> tuple[str, str]:
    """A French IBAN (RIB key and mod-97 check digits computed) and its bank's BIC."""
    bank, bic = rng.choice(BANKS)
    branch = f"{rng.randint(0, 99_999):05d}"
    account = f"{rng.randint(0, 10**11 - 1):011d}"
    bban = bank + branch + account + rib_key(bank, branch, account)
    iban = "FR" + stdnum_iban.calc_check_digits("FR00" + bban) + bban
    assert stdnum_iban.is_valid(iban), iban
    return iban, bic


def ascii_slug(text: str, sep: str = ".") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else sep for c in plain.lower()).strip(sep)


# -- money -------------------------------------------------------------------------

def _euros(amount: int | None) -> int:
    return (amount or 0) * 100


def _split(rng: random.Random, total: int, lines: list[str], weights: list[float]
           ) -> dict[str, int]:
    """Split ``total`` cents over lines, in whole euros, the last taking the rest."""
    out: dict[str, int] = {}
    left, weight_left = total, sum(weights)
    for line, weight in zip(lines[:-1], weights[:-1], strict=True):
        share = left * weight / weight_left * rng.uniform(0.85, 1.15)
        out[line] = min(left, int(share) // 100 * 100)
        left, weight_left = left - out[line], weight_left - weight
    out[lines[-1]] = left
    return {k: v for k, v in out.items() if v}


def provisional_budget(rng: random.Random, requested: int, line: str = "74_epci"
                       ) -> dict[str, dict[str, int]]:
    """A balanced CERFA 12156 budget where the request is 35-75 % of the total cost, on
    the product ``line`` of the call's owner (``74_epci`` a métropole, ``74_commune`` a
    commune); two other public bodies and the organisation's own funds make the rest."""
    total = -(-int(requested / rng.uniform(0.35, 0.75)) // 10_000) * 10_000
    volunteering = int(total * rng.uniform(0.04, 0.1)) // 100 * 100
    charges = _split(rng, total - volunteering, ["60", "61", "62", "64"],
                     [0.08, 0.07, 0.25, 0.6])
    public = [("74_epci" if co == line else co) for co in
              ("74_state", "74_commune", "74_department", "74_social", "74_region")]
    cofunders = [*rng.sample(public, 2), "75"]
    products = _split(rng, total - requested - volunteering, cofunders, [0.45, 0.35, 0.2])
    products[line] = requested
    if volunteering:
        charges["86"] = products["87"] = volunteering
    return {"charges": charges, "products": products}


def realised_budget(app: Application, factor: float, epci: int) -> dict[str, dict[str, int]]:
    """The provisional charges scaled by ``factor``, balanced by products: the Métropole
    line holds ``epci``, volunteering stays equal to its charge when it fits, and the
    other co-funders share the rest in their planned proportions."""
    return realised_lines(app.budget(), factor, epci)


def realised_lines(planned: dict[str, dict[str, int]], factor: float, epci: int
                   ) -> dict[str, dict[str, int]]:
    """The realised lines of a planned budget (see :func:`realised_budget`)."""
    charges = {k: int(v * factor) // 100 * 100 for k, v in planned["charges"].items()}
    rest = sum(charges.values()) - epci
    products = {"74_epci": epci}
    if charges.get("86", 0) <= rest:
        products["87"] = charges.get("86", 0)
        rest -= products["87"]
    others = {k: v for k, v in planned["products"].items() if k not in products}
    weight, lines = sum(others.values()), list(others)
    for line in lines[:-1]:
        products[line] = rest * others[line] // weight // 100 * 100
    products[lines[-1]] = rest - sum(products.get(k, 0) for k in lines[:-1])
    return {"charges": charges, "products": {k: v for k, v in products.items() if v}}


# -- the loader --------------------------------------------------------------------

def business_day(day: date) -> date:
    """The day itself, or the Friday before when it falls on a weekend."""
    return day - timedelta(days=max(day.weekday() - 4, 0))


@dataclass
class Calendar:
    """The call's dates, relative to today in Paris (the call is open now): it opened ten
    weeks ago on a Monday and closes in three to four weeks on a Friday at noon. The
    Bureau de la Métropole (a Thursday) decided twice on the jury's proposals."""

    today: date

    @property
    def opens_on(self) -> date:
        day = self.today - timedelta(days=70)
        return day - timedelta(days=day.weekday())

    @property
    def closes_on(self) -> date:
        day = self.today + timedelta(days=21)
        return day + timedelta(days=(4 - day.weekday()) % 7)

    def decided_on(self, first: bool) -> date:
        """A Thursday: four, then eight weeks after the opening."""
        return self.opens_on + timedelta(days=(28 if first else 56) + 3)

    def drawn_on(self, first: bool) -> date:
        """The Saturday before the Bureau: the public draw whose numbers seed the run
        (fixed after the jury froze its list)."""
        return self.decided_on(first) - timedelta(days=5)

    def ago(self, days: int) -> date:
        return business_day(self.today - timedelta(days=days))

    @staticmethod
    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), tzinfo=PARIS)


@dataclass
class Loader:
    """Loads one programme: its staff, the organisations it brings, its fund and calls,
    its applications. The authorities, the applicants and their organisations are
    shared by every programme's loader (applicants are platform-wide)."""

    rng: random.Random
    calendar: Calendar
    programme: Programme
    authorities: dict[str, Authority] = field(default_factory=dict)
    staff: dict[str, list[User]] = field(default_factory=dict)
    members: dict[str, User] = field(default_factory=dict)
    orgs: dict[str, Organisation] = field(default_factory=dict)
    sirets: set[str] = field(default_factory=set)
    call: Call | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, name: str, start: int = 1) -> int:
        self.counters[name] = self.counters.get(name, start - 1) + 1
        return self.counters[name]

    @property
    def authority(self) -> Authority:
        return self.authorities[self.programme.authority]

    # -- people and organisations ----------------------------------------------------
    def create_staff(self) -> None:
        """The programme's staff, their roles held in its authority (the admin's are
        platform-wide)."""
        for role, email, name in self.programme.staff:
            held_in = None if role in PLATFORM_ROLES else self.authority.id
            user = accounts.create_user(email, DEMO_PASSWORD, [role], name,
                                        authority_id=held_in)
            self.staff.setdefault(role, []).append(user)
        db.session.commit()

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)

    def create_organisations(self) -> None:
        for org in self.programme.orgs:
            first, last = FEATURED_PEOPLE if org.key == FEATURED_ORG else self.person()
            email = f"{ascii_slug(first)[0]}.{ascii_slug(last)}@{org.key}.example.org"
            user = accounts.create_user(email, DEMO_PASSWORD, ["applicant"],
                                        f"{first} {last}")
            self.members[org.key] = user
            self.orgs[org.key] = organisations.create_organisation(
                user, self.organisation_data(org))

    def organisation_data(self, org: Org) -> dict:
        place = ALL_PLACES[org.place]
        iban, bic = make_iban(self.rng)
        first, last = self.person()
        return {
            "name": org.name, "siret": make_siret(self.rng, self.sirets),
            "rna": make_rna(self.rng, place.postcode) if org.association else "",
            "address": org.street, "postcode": place.postcode, "city": place.commune,
            "legal_representative": f"{first} {last}",
            "email": f"contact@{org.key}.example.org",
            "phone": self.phone(place),
            "iban": iban, "bic": bic,
        }

    def phone(self, place: Place) -> str:
        """A landline with the area's prefix (04 91 Marseille, 04 90 Salon and Pertuis,
        04 42 elsewhere around the étang de Berre, Aix and Aubagne, 03 20 Lille's)."""
        area = "03 20" if place.postcode.startswith("59") else \
            "04 91" if place.commune == "Marseille" else \
            "04 90" if place.postcode in {"13300", "13330", "84120"} else "04 42"
        digits = " ".join(f"{self.rng.randint(0, 99):02d}" for _ in range(3))
        return f"{area} {digits}"

    # -- fund and calls ------------------------------------------------------------
    def create_calls(self) -> None:
        fund = calls.create_fund({**self.programme.fund, "authority_id": self.authority.id})
        if self.programme.history:
            calls.create_call(self.history_call_data(fund))
        self.call = calls.create_call(self.current_call_data(fund))
        calls.set_jury(self.call, [u.id for u in self.staff["juror"]])

    def history_call_data(self, fund: Fund) -> dict:
        year = FISCAL_YEAR - 1
        return {
            "fund_id": fund.id, "fiscal_year": year, "budget_cents": 60_000_00,
            "title": f"Appel à projets {year} — Fonds d'initiative du PMLCD",
            "description": "Première année du fonds (60 000 €). Les dossiers de cet appel "
                           "ont été instruits hors plateforme, par messagerie et tableur.",
            "opens_at": Calendar.at(date(year, 3, 3), 9),
            "closes_at": Calendar.at(date(year, 5, 30), 12),
            "rules": METROPOLE_RULES, "grid": GRID, "scale": 20, "min_total": Decimal(10),
            "min_reviews": 2, "overflow": "partial",
        }

    def current_call_data(self, fund: Fund) -> dict:
        return {
            "fund_id": fund.id, "fiscal_year": FISCAL_YEAR, **self.programme.call,
            "opens_at": Calendar.at(self.calendar.opens_on, 9),
            "closes_at": Calendar.at(self.calendar.closes_on, 12),
        }

    # -- applications --------------------------------------------------------------
    def create_application(self, dossier: Dossier) -> Application:
        places = [ALL_PLACES.get(p) for p in dossier.places]
        org_place = ALL_PLACES[ORG_PLACES[dossier.org]]
        envelope = (places[0] or org_place).territory if self.call.envelopes else None
        data = {
            "call_id": self.call.id, "organisation_id": self.orgs[dossier.org].id,
            "title": dossier.title, "summary": dossier.summary,
            "objectives": dossier.objectives, "target_public": dossier.public,
            "domains": list(dossier.domains), "grounds": list(dossier.grounds),
            "territories": [p.label if p else raw for p, raw in zip(places, dossier.places,
                                                                     strict=True)],
            "envelope": envelope,
            "beneficiaries": dossier.beneficiaries,
        }
        if "partial" not in dossier.flags:
            data.update(self.schedule(dossier))
            data["requested_cents"] = _euros(dossier.requested)
            data["budget"] = provisional_budget(self.rng, _euros(dossier.requested),
                                                self.programme.fund["owner_product_line"])
        return applications.create(self.members[dossier.org], data)

    def schedule(self, dossier: Dossier) -> dict[str, date]:
        today = self.calendar.today
        if dossier.state in FIRST_SESSION:
            starts = self.calendar.decided_on(True) + timedelta(days=4)
            ends = self.calendar.ago(10) if dossier.state in PAST_PROJECT \
                else business_day(today + timedelta(days=150))
        else:
            starts = today + timedelta(days=self.rng.randint(30, 75))
            ends = starts + timedelta(days=self.rng.randint(120, 300))
        if event := next((EVENTS[f] for f in dossier.flags if f in EVENTS), None):
            ends = next_event(event, after=today + timedelta(days=30)) + timedelta(days=7)
            starts = min(starts, ends - timedelta(days=30))
        return {"starts_on": starts, "ends_on": ends}

    # -- actors --------------------------------------------------------------------
    def actor(self, role: str, app: Application, dossier: Dossier) -> User:
        """The organisation's member, or the officer in charge of the territory."""
        if role == "applicant":
            return self.members[dossier.org]
        west = app.envelope is not None and app.envelope.key in WEST
        return self.staff[role][1 if west else 0]


# The events a project leads up to (Dossier flags): the 21 March and the 17 May.
EVENTS: dict[str, tuple[int, int]] = {"march21": (3, 21), "may17": (5, 17)}


def next_event(month_day: tuple[int, int], after: date) -> date:
    """The first ``month_day`` after ``after``: the next edition of the event."""
    month, day = month_day
    this_year = date(after.year, month, day)
    return this_year if this_year > after else date(after.year + 1, month, day)


# -- the paths ---------------------------------------------------------------------

def path_for(dossier: Dossier) -> list[str]:
    """The triggers and the ``@`` steps (reviews, the allocation run, the promotion, the
    deliberation, later payments) that lead to the state."""
    flags = dossier.flags
    completion = ["request_completion", "resubmit"] if "resubmitted" in flags else []
    eligible = ["submit", *completion, "declare_eligible"]
    review = [*eligible, "open_review", "@reviews"]
    reviewed = [*review, "close_review"]
    allocated = [*reviewed, "@run"]
    proposed = [*allocated, *(["@promote"] if "promoted" in flags else [])]
    granted = [*proposed, "@deliberation"]
    paid = [*granted, *([] if "no_convention" in flags else ["sign_convention"]), "pay"]
    reported = [*paid, "submit_report"]
    approved = [*reported, "approve_report"]
    withdrawn_from = allocated if "from_proposal" in flags else \
        review if "from_review" in flags else ["submit"]
    return {
        "draft": [], "submitted": ["submit"],
        "incomplete": ["submit", "request_completion"],
        "ineligible": ["submit", "declare_ineligible"],
        "eligible": eligible, "in_review": review, "reviewed": reviewed,
        "proposed": proposed, "waitlisted": allocated, "rejected": allocated,
        "granted": granted, "contracted": [*granted, "sign_convention"],
        "in_progress": [*paid, *(["submit_report", "request_report_changes"]
                                 if "report_changes" in flags else [])],
        "report_submitted": reported, "report_approved": approved,
        "closed": [*approved, *([] if "repayment" in flags else ["@balance"]), "close"],
        "withdrawn": [*withdrawn_from, "withdraw"],
        "cancelled": [*paid, "cancel"],
    }[dossier.state]


def session_of(dossier: Dossier) -> int:
    """When the jury closes the dossier's review: 1 and 2 are the two sessions whose
    allocation runs were committed (the first one's grants are paid and reported by now),
    3 the next session (reviewed, not allocated yet), 0 never (before the review)."""
    path = path_for(dossier)
    if "@run" in path:
        return 1 if dossier.state in FIRST_SESSION or "first_session" in dossier.flags else 2
    return 3 if "close_review" in path else 0


def run_outcome(dossier: Dossier) -> str:
    """The state the allocation run must give the dossier for its story to go on."""
    if "promoted" in dossier.flags:
        return "waitlisted"
    if dossier.state == "rejected" or dossier.state == "waitlisted":
        return dossier.state
    return "proposed"


class Driver:
    """Drives one application along its path through the workflow service; the
    collective steps (the allocation run, the promotion, the deliberation) are the
    story's, and the driver stops before them."""

    COLLECTIVE = frozenset({"@run", "@promote", "@deliberation"})

    def __init__(self, loader: Loader, dossier: Dossier, app: Application) -> None:
        self.loader, self.dossier, self.app = loader, dossier, app
        self.rng, self.calendar = loader.rng, loader.calendar
        self.session = session_of(dossier)
        self.first_session = self.session == 1
        self.steps = path_for(dossier)
        self.position = 0

    @property
    def next_step(self) -> str | None:
        return self.steps[self.position] if self.position < len(self.steps) else None

    def advance(self, until: str | None = None) -> Driver:
        """Take the steps up to ``until`` (excluded) or the next collective step."""
        while (step := self.next_step) is not None and step != until \
                and step not in self.COLLECTIVE:
            if step.startswith("@"):
                getattr(self, f"step_{step[1:]}")()
            else:
                self.fire(step)
            self.position += 1
        if self.next_step is None and self.app.state != self.dossier.state:
            raise RuntimeError(f"{self.app!r} should be {self.dossier.state}")
        return self

    def done(self, step: str, state: str, amount: int | None = None) -> None:
        """The story took the collective ``step``: check what it gave this dossier."""
        if self.next_step != step:
            raise RuntimeError(f"{self.app!r}: {step} out of its path")
        db.session.refresh(self.app)
        if self.app.state != state or (amount is not None
                                       and self.app.proposed_cents != amount):
            raise RuntimeError(
                f"{self.app!r} ({self.dossier.org}) after {step}: {self.app.state}, "
                f"{format_eur(self.app.proposed_cents or 0)} proposed; the story needs "
                f"{state}" + (f", {format_eur(amount)}" if amount is not None else ""))
        self.position += 1

    def fire(self, trigger: str) -> None:
        spec = next(s for s in get_workflow().specs if s.trigger == trigger)
        actor = self.loader.actor(spec.roles[0], self.app, self.dossier)
        data = getattr(self, f"data_{trigger}", dict)()
        self.app = workflow.fire(self.app, trigger, actor, data)

    # -- @ steps -------------------------------------------------------------------
    def step_reviews(self) -> None:
        jurors = self.loader.staff["juror"]
        for index, part in enumerate(self.dossier.jury):
            if part == "C":
                reviews.save_review(jurors[index], self.app, {
                    "conflict": True, "comment": "Je siège au conseil d'administration "
                                                 "d'une structure partenaire du projet."})
            elif part in "SD":
                reviews.save_review(jurors[index], self.app, self.review_data(index, part))

    def review_data(self, juror: int, part: str) -> dict:
        target = (self.dossier.score or 12) + JUROR_BIAS[juror]
        scores = {}
        for criterion in self.loader.programme.call["grid"]:
            high = criterion["max"]
            raw = self.rng.gauss(target / 20 * high, 0.1 * high)
            scores[criterion["key"]] = Decimal(str(min(max(round(raw * 2) / 2, 0), high)))
        band = "high" if target >= 14 else "mid" if target >= 10 else "low"
        return {"scores": scores, "comment": self.rng.choice(REVIEW_COMMENTS[band]),
                "submit": part == "S"}

    def step_balance(self) -> None:
        app = self.app
        finance = self.loader.actor("finance", app, self.dossier)
        self.app = workflow.record_payment(app, finance, {
            "kind": "balance", "amount_cents": app.granted_cents - app.paid_cents,
            "paid_on": self.calendar.ago(3).isoformat(),
            "mandate": self.mandate()})

    # -- trigger data --------------------------------------------------------------
    def mandate(self) -> str:
        return f"MDT-{FISCAL_YEAR}-{self.loader.next('mandate', 4817):05d}"

    def data_request_completion(self) -> dict:
        return {"comment": self.dossier.note}

    def data_resubmit(self) -> dict:
        return {"comment": "Dossier complété : lettres d'engagement des partenaires et "
                           "calendrier détaillé transmis."}

    def data_declare_ineligible(self) -> dict:
        return {"comment": self.dossier.note}

    def data_declare_eligible(self) -> dict:
        return {"comment": "Dossier complet et recevable."}

    def data_close_review(self) -> dict:
        if "-" in self.dossier.jury or "D" in self.dossier.jury:
            return {"force": True, "comment": self.dossier.note}
        return {}


    def data_sign_convention(self) -> dict:
        signed = self.calendar.decided_on(self.first_session) + timedelta(days=7)
        return {"convention": {
            "reference": f"{self.loader.programme.convention_prefix}-{FISCAL_YEAR}-"
                         f"{self.loader.next('convention'):03d}",
            "signed_on": signed.isoformat(),
            "schedule": [{"kind": "advance", "share": str(ADVANCE_SHARE)},
                         {"kind": "balance", "share": str(1 - ADVANCE_SHARE)}]}}

    def advance_cents(self) -> int:
        return int(self.app.granted_cents * ADVANCE_SHARE)

    def data_pay(self) -> dict:
        paid_on = self.calendar.decided_on(self.first_session) + timedelta(days=15)  # Fri
        return {"kind": "advance", "amount_cents": self.advance_cents(),
                "paid_on": paid_on.isoformat(), "mandate": self.mandate()}

    def data_submit_report(self) -> dict:
        flags, granted = self.dossier.flags, self.app.granted_cents
        factor = 0.78 if "gap" in flags else 0.82 if "repayment" in flags \
            else self.rng.uniform(0.93, 1.04)
        epci = self.advance_cents() - self.repayment_cents() if "repayment" in flags \
            else granted
        data = {"realised": realised_budget(self.app, factor, epci),
                "beneficiaries_reached": int(self.dossier.beneficiaries * min(factor, 1.0)),
                "narrative": self.narrative()}
        if abs(1 - factor) > 0.15:
            data["gap_explanation"] = self.gap_explanation()
        return data

    def narrative(self) -> str:
        return (f"Action menée conformément au projet « {self.dossier.title} ». "
                f"{self.dossier.objectives} Bilan qualitatif et feuilles d'émargement "
                "joints ; restitution faite aux partenaires et au Conseil de Territoire.")

    def gap_explanation(self) -> str:
        if "repayment" in self.dossier.flags:
            return ("Trois médiations sur dix n'ont pas pu être menées (départ d'un "
                    "médiateur) : les dépenses réalisées sont inférieures au prévisionnel "
                    "et la part non utilisée de l'avance sera reversée.")
        return ("Le gymnase a été fermé six semaines pour travaux : deux créneaux ont été "
                "annulés et les vacations d'éducateurs réduites d'autant.")

    def data_request_report_changes(self) -> dict:
        return {"comment": self.dossier.note}

    def data_approve_report(self) -> dict:
        return {"comment": "Compte rendu financier conforme ; actions réalisées."}

    def repayment_cents(self) -> int:
        return 400_00

    def data_close(self) -> dict:
        if "repayment" not in self.dossier.flags:
            return {"comment": "Subvention soldée."}
        return {"comment": "Clôture avec titre de reversement.", "repayment": {
            "amount_cents": self.repayment_cents(),
            "claimed_on": self.calendar.ago(2).isoformat(),
            "reference": f"TR-{FISCAL_YEAR}-0{self.rng.randint(100, 999)}",
            "reason": "Actions non réalisées : part de l'avance non utilisée."}}

    def data_withdraw(self) -> dict:
        return {"comment": self.dossier.note}

    def data_cancel(self) -> dict:
        return {"comment": self.dossier.note}


# -- the story of the call ---------------------------------------------------------

# The public numbers that seed the two committed runs (ties and grey zone): a draw made
# after the jury froze its list, that anyone can look up and replay.
DRAWS = {True: "7 12 25 33 41", False: "3 9 18 27 44"}
BUREAU = "Bureau de la Métropole Aix-Marseille-Provence"
# What-if runs of the second session, left as simulations for the runs page.
WHAT_IFS = ({"overflow": "skip"}, {"budget_cents": 25_000_00})


@dataclass(frozen=True)
class Programme:
    """One authority's fund and current call as the demo tells them: its staff, the
    organisations it brings (others apply too), the dossiers, and how its year went (the
    jury's sessions, the body that deliberates and its references, the public draws)."""

    authority: str
    staff: list[tuple[str, str, str]]
    orgs: list[Org]
    fund: dict
    call: dict  # the current call's settings, but its fund, year and dates
    dossiers: list[Dossier]
    body: str
    references: tuple[str, str]  # the deliberations of the first and second sessions
    convention_prefix: str
    seed: int
    sessions: tuple[int, ...] = (1, 2)
    draws: dict[bool, str] = field(default_factory=lambda: DRAWS)
    what_ifs: tuple[dict, ...] = WHAT_IFS
    history: bool = False  # last year's call, instructed outside the platform


METROPOLE_RULES = {"min_request_cents": 1_000_00, "max_request_cents": 15_000_00,
                   "max_share_of_cost": Decimal("0.8")}
METROPOLE_PROGRAMME = Programme(
    authority=METROPOLE, staff=STAFF, orgs=ORGS, fund=FUND,
    call={"title": f"Appel à projets {FISCAL_YEAR} — Fonds d'initiative du PMLCD",
          "description": CALL_DESCRIPTION, "budget_cents": BUDGET_CENTS,
          "envelopes": [{"key": key, "label": label, "budget_cents": _euros(amount)}
                        for key, (label, amount) in TERRITORIES.items()],
          "rules": METROPOLE_RULES, "grid": GRID, "scale": 20, "min_total": Decimal(10),
          "min_reviews": 2, "overflow": "partial", "partial_min_share": Decimal("0.5")},
    dossiers=DOSSIERS, body=BUREAU,
    references=(f"CSOC 004-3127/{FISCAL_YEAR % 100}/BM", f"CSOC 009-3388/{FISCAL_YEAR % 100}/BM"),
    convention_prefix="PMLCD", seed=SEED, history=True)

VITROLLES_PROGRAMME = Programme(
    authority=VITROLLES, staff=VITROLLES_STAFF, orgs=VITROLLES_ORGS,
    fund={"name": "Appel à projets du Plan local de lutte contre les discriminations, le "
                  "racisme et l'antisémitisme (PLCDRA)",
          "owner_name": "Ville de Vitrolles", "owner_siret": VITROLLES_SIRET,
          "imputation": {"chapter": "65", "nature": "6574", "function": "025",
                         "subpolicy": "PLCDRA"},
          "owner_product_line": "74_commune"},
    call={"title": f"Appel à projets {FISCAL_YEAR} — Temps forts du 21 mars et du 17 mai "
                   "contre les discriminations",
          "description": (
              "L'appel à projets du Plan local de lutte contre les discriminations, le "
              "racisme et l'antisémitisme de la Ville de Vitrolles soutient une dizaine "
              "d'actions par an dans les écoles, les collèges, les quartiers et les lieux "
              "culturels, autour de deux temps forts : le 21 mars, Journée internationale "
              "pour l'élimination de la discrimination raciale, et le 17 mai, journée "
              "mondiale contre l'homophobie et la transphobie. Les jeunes Vitrollais sont "
              "le public prioritaire ; l'éducation aux médias et la lutte contre la haine "
              "en ligne sont encouragées.\n\n"
              "Subvention de 500 € à 5 000 €, dans la limite de 80 % du coût du projet ; "
              "les subventions sont votées par le Conseil municipal."),
          "budget_cents": 18_000_00,
          "rules": {"min_request_cents": 500_00, "max_request_cents": 5_000_00,
                    "max_share_of_cost": Decimal("0.8")},
          "grid": VITROLLES_GRID, "scale": 20, "min_total": Decimal(10), "min_reviews": 2,
          "overflow": "partial", "partial_min_share": Decimal("0.5")},
    dossiers=VITROLLES_DOSSIERS, body="Conseil municipal de Vitrolles",
    references=(f"DEL-{FISCAL_YEAR}-0147", f"DEL-{FISCAL_YEAR}-0212"),
    convention_prefix="VIT-PLCDRA", seed=SEED + 1, sessions=(1,),
    draws={True: "5 14 22 31 47", False: ""})

LILLE_PROGRAMME = Programme(
    authority=LILLE, staff=LILLE_STAFF, orgs=LILLE_ORGS,
    fund={"name": "Appel à projets Prévention et lutte contre les discriminations (PTLCD)",
          "owner_name": "Métropole Européenne de Lille", "owner_siret": LILLE_SIRET,
          "imputation": {"chapter": "65", "nature": "65748", "function": "552",
                         "subpolicy": "PTLCD"},
          "owner_product_line": "74_epci"},
    call={"title": f"Appel à projets {FISCAL_YEAR} — Lutte contre les discriminations : "
                   "emploi, logement, santé, éducation",
          "description": (
              "Dans le cadre de son Plan territorial de prévention et de lutte contre les "
              "discriminations, la Métropole Européenne de Lille soutient les projets des "
              "associations sur ses quatre priorités : l'emploi, le logement, la santé, "
              "l'éducation et l'orientation, en priorité au bénéfice des habitants des 26 "
              "quartiers prioritaires. Sont attendues des actions de sensibilisation et "
              "de formation des acteurs, d'accompagnement des publics et de "
              "communication.\n\n"
              "Subvention de 3 000 € à 20 000 €, dans la limite de 80 % du coût du "
              "projet ; les subventions sont attribuées par le Bureau métropolitain."),
          "budget_cents": 100_000_00,
          "rules": {"min_request_cents": 3_000_00, "max_request_cents": 20_000_00,
                    "max_share_of_cost": Decimal("0.8")},
          "grid": LILLE_GRID, "scale": 20, "min_total": Decimal(10), "min_reviews": 2,
          "overflow": "partial", "partial_min_share": Decimal("0.5")},
    dossiers=LILLE_DOSSIERS, body="Bureau de la Métropole Européenne de Lille",
    references=(f"{FISCAL_YEAR % 100} B 0418", f"{FISCAL_YEAR % 100} B 0533"),
    convention_prefix="MEL-PTLCD", seed=SEED + 2, sessions=(1,),
    draws={True: "2 11 19 36 40", False: ""})

PROGRAMMES = (METROPOLE_PROGRAMME, VITROLLES_PROGRAMME, LILLE_PROGRAMME)
ORG_PLACES = {o.key: o.place for o in [*ORGS, *VITROLLES_ORGS, *LILLE_ORGS]}


@dataclass
class Story:
    """The call's year as the instructors lived it: the dossiers before review go their
    way; the jury's first session is allocated by a committed run, granted by the
    Bureau, then convened, paid, reported and closed (one grant cancelled); the second
    session is simulated twice, allocated by a committed run that supersedes the first,
    a proposed dossier is withdrawn and the money it frees promotes a waitlisted one, the
    Bureau grants part of the proposals; the next session's dossiers are reviewed. The
    local calls (Vitrolles, Lille) have one session: a committed run, one deliberation
    of their own body, then conventions and advances."""

    loader: Loader
    drivers: list[Driver] = field(default_factory=list)

    @property
    def instructor(self) -> User:
        return self.loader.staff["instructor"][0]

    def play(self) -> None:
        for dossier in self.loader.programme.dossiers:
            driver = Driver(self.loader, dossier, self.loader.create_application(dossier))
            self.drivers.append(driver.advance(until="close_review"))
        for session in self.loader.programme.sessions:
            self.session(session)
        for driver in self.wave(3):
            driver.advance()

    def wave(self, session: int) -> list[Driver]:
        return [d for d in self.drivers if d.session == session]

    def session(self, number: int) -> None:
        first = number == 1
        drivers = self.wave(number)
        for driver in drivers:
            driver.advance()  # close the review: reviewed, ready for the run
        if not first:
            for overrides in self.loader.programme.what_ifs:
                allocation.simulate(self.loader.call, self.instructor, overrides,
                                    seed=self.seed(first))
        allocation.commit(self.loader.call, self.instructor, seed=self.seed(first))
        for driver in drivers:
            expected = run_outcome(driver.dossier)
            driver.done("@run", expected, _euros(driver.dossier.amount)
                        if expected == "proposed" else None)
        for driver in sorted(drivers, key=lambda d: d.next_step != "withdraw"):
            driver.advance()  # a withdrawal first: the money it frees promotes
        for driver in drivers:
            if driver.next_step == "@promote":
                self.promote(driver)
                driver.advance()
        self.deliberate(first, [d for d in drivers if d.next_step == "@deliberation"])
        for driver in drivers:
            driver.advance()

    def seed(self, first: bool) -> str:
        draw = self.loader.programme.draws[first]
        return f"Loto {self.loader.calendar.drawn_on(first).isoformat()} : {draw}"

    def promote(self, driver: Driver) -> None:
        """The first waitlisted application the freed money can fund, at what fits."""
        candidate = deliberations.promotion_candidate(self.loader.call)
        if candidate is None or candidate.application.id != driver.app.id:
            raise RuntimeError(f"{driver.app!r} should be the one to promote: {candidate}")
        freed = next(d for d in self.drivers if "from_proposal" in d.dossier.flags)
        envelope = driver.app.envelope.label if driver.app.envelope else "l'appel"
        driver.app = workflow.fire(driver.app, "promote", self.instructor, {
            "amount_cents": candidate.amount_cents,
            "comment": f"Retrait du dossier {freed.app.reference} : le reliquat de "
                       f"l'enveloppe {envelope} finance le premier dossier de la liste "
                       f"d'attente, {format_eur(candidate.amount_cents)} proposés."})
        driver.done("@promote", "proposed", _euros(driver.dossier.amount))

    def deliberate(self, first: bool, drivers: list[Driver]) -> None:
        """The Bureau grants the proposals at their proposed amounts, in one
        deliberation."""
        if not drivers:
            return
        calendar = self.loader.calendar
        outcome = deliberations.grant(self.loader.call, self.instructor, {
            "body": self.loader.programme.body,
            "reference": self.loader.programme.references[0 if first else 1],
            "date": calendar.decided_on(first).isoformat()}, [d.app.id for d in drivers])
        if outcome.refused:
            raise RuntimeError(f"the Bureau refused {outcome.refused}")
        for driver in drivers:
            driver.done("@deliberation", "granted")


# -- entry points ------------------------------------------------------------------

def empty_database() -> None:
    """Delete every row, children before parents (SQL DELETE: the audit trail refuses
    ORM deletes by design). Authorities first lose their parents: SQLite checks the
    self-reference row by row."""
    db.session.rollback()
    db.session.execute(update(Authority).values(parent_id=None))
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def _check_not_loaded() -> None:
    if accounts.find_by_email(STAFF[0][1]) is not None:
        raise click.ClickException(
            "La démonstration est déjà chargée : relancez « aap demo » sans --no-reset "
            "pour la recharger.")


def create_authorities() -> dict[str, Authority]:
    """The authorities, parents first, through the service (as the operator)."""
    created: dict[str, Authority] = {}
    for spec in AUTHORITIES:
        created[spec.key] = authorities.create_authority(None, {
            "name": spec.name, "kind": spec.kind, "siret": spec.siret,
            "parent_id": created[spec.parent].id if spec.parent else None})
    return created


def _logins(loaders: list[Loader]) -> list[Login]:
    """One login per role and authority: the platform's (the admin; two applicants, the
    second's association applying to two authorities' calls), then each authority's
    staff, the métropole's first."""
    platform = [(role, email, DEMO_PASSWORD) for role, email, _ in STAFF
                if role in PLATFORM_ROLES]
    members = loaders[0].members
    applicants = [("applicant", members[key].email, DEMO_PASSWORD)
                  for key in (FEATURED_ORG, SHARED_ORG)]
    staff = []
    for loader in loaders:
        first_of_role = {role: email for role, email, _ in reversed(loader.programme.staff)}
        staff += [(role, email, DEMO_PASSWORD) for role, email in first_of_role.items()
                  if role not in PLATFORM_ROLES]
    return [*platform, *applicants, *sorted(staff, key=_by_authority_then_role(loaders))]


def _by_authority_then_role(loaders: list[Loader]) -> Callable[[Login], tuple[int, int]]:
    order = {email: i for i, loader in enumerate(loaders)
             for _, email, _ in loader.programme.staff}
    roles = ["instructor", "finance", "juror", "manager"]
    return lambda login: (order[login[1]], roles.index(login[0]))


def login_table(logins: list[Login]) -> str:
    """The logins as ``aap demo`` prints them: grouped by the authority each role is
    held in (read from the database), platform-wide ones first."""
    groups: dict[int | None, list[str]] = {}
    for role, email, password in logins:
        user = accounts.find_by_email(email)
        held = min(user.role_authorities(role), key=lambda a: (a is not None, a or 0))
        groups.setdefault(held, []).append(f"  {role:<11} {email:<46} {password}")
    lines = ["Demo loaded. One login per role and authority:"]
    for authority_id, rows in groups.items():
        lines += ["", _heading(authority_id), *rows]
    return "\n".join(lines)


def _heading(authority_id: int | None) -> str:
    if authority_id is None:
        return "Platform-wide (administration, applicants)"
    authority = db.session.get(Authority, authority_id)
    parent = f", under {authority.parent.name}" if authority.parent else ""
    return f"{authority.name} ({authority.kind}, SIRET {authority.siret}{parent})"


@contextmanager
def _cheap_hashing() -> Iterator[None]:
    """The demo password is printed for everyone, so a costly hash protects nothing
    here, and scrypt (~0.2 s a hash) would take a third of the load for 49 accounts.
    Passwords changed later are hashed with the configured method again."""
    config = current_app.config
    previous = config.get("PASSWORD_HASH_METHOD")
    config["PASSWORD_HASH_METHOD"] = DEMO_HASH_METHOD
    try:
        yield
    finally:
        if previous is None:
            config.pop("PASSWORD_HASH_METHOD")
        else:
            config["PASSWORD_HASH_METHOD"] = previous


def load_demo(reset: bool = True) -> list[Login]:
    """Load the demo (after emptying the database if ``reset``); return one login per
    role and authority as (role, email, password) (see :func:`login_table`)."""
    if reset:
        empty_database()
    else:
        _check_not_loaded()
    calendar = Calendar(to_paris(now()).date())
    shared = {"authorities": create_authorities(), "members": {}, "orgs": {},
              "sirets": set()}
    loaders = [Loader(random.Random(p.seed), calendar, p, **shared) for p in PROGRAMMES]
    with _cheap_hashing():
        for loader in loaders:
            loader.create_staff()
            loader.create_organisations()
    for loader in loaders:
        loader.create_calls()
        Story(loader).play()
    db.session.commit()
    return _logins(loaders)


def demo_call(programme: Programme = METROPOLE_PROGRAMME) -> Call | None:
    """A programme's current call, the métropole's by default (for tests and scripts)."""
    return db.session.scalar(
        select(Call).join(Fund, Call.fund_id == Fund.id)
        .where(Call.fiscal_year == FISCAL_YEAR, Fund.name == programme.fund["name"])
        .order_by(Call.id.desc()))
