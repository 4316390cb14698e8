"""Write the French catalogue of the plural messages only.

The msgids are French, so French needs no translation, except for plurals: without a
catalogue, gettext falls back to the English rule (singular for 1 only) and shows
« 0 dossiers proposés ». French takes the singular for 0 and 1. This catalogue holds
each plural message with its French forms, the msgids themselves, under French's
plural rule; every other message falls back to its msgid.

    python scripts/french_plurals.py TEMPLATE.pot OUTPUT.po
"""

from __future__ import annotations

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def french_plurals(template: Catalog) -> Catalog:
    catalog = Catalog(locale="fr", project="AAP", copyright_holder="AAP contributors",
                      creation_date=template.creation_date, fuzzy=False)
    for message in template:
        if message.id and isinstance(message.id, tuple | list):
            singular, plural = message.id
            # CLDR's French: one (0 and 1), many (whole millions), other
            forms = (singular, *[plural] * (catalog.num_plurals - 1))
            catalog.add(message.id, string=forms, context=message.context,
                        flags=message.flags)
    return catalog


def main(template_path: str, output_path: str) -> None:
    with open(template_path, "rb") as source:
        template = read_po(source)
    catalog = french_plurals(template)
    with open(output_path, "wb") as out:
        write_po(out, catalog, width=0, omit_header=False, no_location=True,
                 sort_output=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
