"""Controlled vocabularies: CERFA 12156 budget lines, domains, discrimination grounds.

Keys are stable codes (stored and used by the API); labels are French, for display, and
translated in the web UI (the budget lines through ``N_``, the others lazily).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


def N_(message: str) -> str:
    """Babel's no-op marker: the label is extracted for translation but stays a plain
    string here (it is translated on display)."""
    return message


CHARGE_LINES: dict[str, str] = {
    "60": N_("60 – Achats"),
    "61": N_("61 – Services extérieurs"),
    "62": N_("62 – Autres services extérieurs"),
    "63": N_("63 – Impôts et taxes"),
    "64": N_("64 – Charges de personnel"),
    "65": N_("65 – Autres charges de gestion courante"),
    "66": N_("66 – Charges financières"),
    "67": N_("67 – Charges exceptionnelles"),
    "68": N_("68 – Dotations aux amortissements, provisions, charges indirectes"),
    "86": N_("86 – Emplois des contributions volontaires en nature"),
}

PRODUCT_LINES: dict[str, str] = {
    "70": N_("70 – Ventes de produits finis, prestations de services"),
    "73": N_("73 – Dotations et produits de tarification"),
    "74_state": N_("74 – Subvention État"),
    "74_region": N_("74 – Subvention Région(s)"),
    "74_department": N_("74 – Subvention Département(s)"),
    "74_epci": N_("74 – Subvention Intercommunalité(s) / EPCI"),
    "74_commune": N_("74 – Subvention Commune(s)"),
    "74_social": N_("74 – Organismes sociaux"),
    "74_eu": N_("74 – Fonds européens"),
    "74_asp": N_("74 – Agence de services et de paiement (emplois aidés)"),
    "74_other_public": N_("74 – Autres établissements publics"),
    "74_private": N_("74 – Aides privées"),
    "75": N_("75 – Autres produits de gestion courante (cotisations, dons, mécénat)"),
    "76": N_("76 – Produits financiers"),
    "77": N_("77 – Produits exceptionnels"),
    "78": N_("78 – Reprises sur amortissements et provisions"),
    "87": N_("87 – Contributions volontaires en nature"),
}

BUDGET_LINES = {"charges": CHARGE_LINES, "products": PRODUCT_LINES}

DOMAINS: dict[str, object] = {
    "emploi": _l("Emploi"),
    "logement": _l("Logement"),
    "education": _l("Éducation"),
    "sante": _l("Santé"),
    "culture_sport": _l("Culture et sport"),
    "acces_aux_droits": _l("Accès aux droits"),
    "citoyennete": _l("Citoyenneté"),
    "services_publics": _l("Accès aux services publics"),
    "loisirs": _l("Loisirs et vie associative"),
}

# The grounds of discrimination of article 225-1 of the code pénal (the legal list).
GROUNDS: dict[str, object] = {
    "origine": _l("Origine"),
    "sexe": _l("Sexe"),
    "situation_famille": _l("Situation de famille"),
    "grossesse": _l("Grossesse"),
    "apparence_physique": _l("Apparence physique"),
    "vulnerabilite_economique": _l("Particulière vulnérabilité économique"),
    "patronyme": _l("Patronyme"),
    "lieu_residence": _l("Lieu de résidence"),
    "etat_sante": _l("État de santé"),
    "perte_autonomie": _l("Perte d'autonomie"),
    "handicap": _l("Handicap"),
    "caracteristiques_genetiques": _l("Caractéristiques génétiques"),
    "moeurs": _l("Mœurs"),
    "orientation_sexuelle": _l("Orientation sexuelle"),
    "identite_genre": _l("Identité de genre"),
    "age": _l("Âge"),
    "opinions_politiques": _l("Opinions politiques"),
    "activites_syndicales": _l("Activités syndicales"),
    "lanceur_alerte": _l("Qualité de lanceur d'alerte"),
    "langue": _l("Capacité à s'exprimer dans une autre langue que le français"),
    "ethnie_nation_race": _l(
        "Appartenance vraie ou supposée à une ethnie, une nation, une prétendue race"),
    "religion": _l("Religion"),
    "domiciliation_bancaire": _l("Domiciliation bancaire"),
}

ATTACHMENT_KINDS: dict[str, object] = {
    "statutes": _l("Statuts"),
    "rib": _l("RIB"),
    "accounts": _l("Derniers comptes approuvés"),
    "activity_report": _l("Rapport d'activité"),
    "other": _l("Autre pièce"),
}
