"""Common and easily guessed passwords (ASVS 2.1.7), offline.

zxcvbn estimates how many guesses a password takes against its frequency lists (leaked
passwords, English words, names, TV and Wikipedia words), keyboard runs, sequences,
repeats, dates and leet spellings. It knows no French: the words below, very common in
French passwords, and the person's own e-mail and name are given to it as extra
dictionary words. Nothing leaves the server.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from math import isqrt, prod

from zxcvbn import matching, zxcvbn

#: zxcvbn's score runs from 0 to 4: 0 under 10³ guesses, 1 under 10⁶, 2 under 10⁸, 3
#: under 10¹⁰. 3 and above pass. Measured: every bad password of the tests scores 0 to 2
#: (at most 10^7.0, "Password-2026", "Motdepasse-2026": a word, a separator, a year),
#: every password the repository uses 4 (the lowest 10^10.3). A common word with a year
#: and symbols ("Azerty-2026!") reaches 10^8 and passes: 4 would refuse it, and strain
#: real passphrases of two or three words.
MIN_SCORE = 3
#: zxcvbn's time grows with the square of the length (and it refuses over 72 characters
#: unless told otherwise): the first 100 characters are scored, no common password is
#: longer.
CHECKED_LENGTH = 100
#: zxcvbn tries every reading of the leet symbols (4 or @ for a, 1 for i or l, ...), one
#: pass over the text each: 100 characters full of distinct symbols have hundreds of
#: readings and took 14 s. The text scored is cut so that (readings + 2) × length² stays
#: within this budget, the cost of 100 characters without leet symbols.
COST_BUDGET = 2 * CHECKED_LENGTH**2
#: A text that would be cut shorter than this is not scored: its first 12 characters
#: hold so many distinct leet symbols that it is no common password.
MIN_SCORED_LENGTH = 12

#: Very common in French passwords, plus AZERTY keyboard rows (zxcvbn knows QWERTY's).
FRENCH_WORDS = (
    "motdepasse", "mdp", "azerty", "azertyuiop", "qsdfghjklm", "wxcvbn", "soleil",
    "bonjour", "bonsoir", "salut", "coucou", "bienvenue", "marseille", "paris", "lyon",
    "toulouse", "nice", "nantes", "bordeaux", "lille", "france", "chouchou", "doudou",
    "loulou", "nounours", "bisous", "bisounours", "amour", "jetaime", "monamour",
    "mamour", "cheri", "cherie", "princesse", "poussin", "chaton", "minou", "lapin",
    "chocolat", "bebe", "maman", "papa", "famille", "enfants", "vacances", "printemps",
    "liberte", "olympique", "allezlom", "nicolas", "camille", "julien", "thomas",
    "sebastien", "stephane", "christophe", "aurelie", "celine", "nathalie", "sandrine",
    "isabelle", "manon", "chloe", "utilisateur", "connexion", "secret", "ordinateur",
)
#: The product's own words, the first a visitor of the site would try.
PRODUCT_WORDS = ("aap", "appel", "appels", "projet", "projets", "appelaprojets",
                 "appelsaprojets")

#: zxcvbn keeps the extra words in a module-wide dictionary between two calls: one check
#: at a time, else a thread could score with another person's words (gunicorn gthread).
_lock = threading.Lock()
_LEET_SYMBOLS = frozenset(s for subs in matching.L33T_TABLE.values() for s in subs)
_AMBIGUOUS_SYMBOLS = frozenset(s for s in _LEET_SYMBOLS if sum(
    s in subs for subs in matching.L33T_TABLE.values()) > 1)


def is_guessable(password: str, personal: Iterable[str] = ()) -> bool:
    """True when zxcvbn scores ``password`` under MIN_SCORE, with the French and product
    words and the words of ``personal`` (the e-mail, the name) as known words."""
    text = scored_text(password)
    if not text:
        return False
    words = [*FRENCH_WORDS, *PRODUCT_WORDS, *personal_words(personal)]
    with _lock:
        result = zxcvbn(text, user_inputs=words, max_length=CHECKED_LENGTH)
    return result["score"] < MIN_SCORE


def scored_text(password: str) -> str:
    """The first CHECKED_LENGTH characters, cut further so that zxcvbn's leet readings
    keep the check fast (COST_BUDGET); empty when under MIN_SCORED_LENGTH."""
    text = password[:CHECKED_LENGTH]
    while (weight := _leet_readings(text) + 2) * len(text) ** 2 > COST_BUDGET:
        length = isqrt(COST_BUDGET // weight)
        if length < MIN_SCORED_LENGTH:
            return ""
        text = text[:length]
    return text


def _leet_readings(text: str) -> int:
    """At least as many leet readings as zxcvbn will try on ``text`` (checked against its
    enumeration, at most 7 times as many), in microseconds where enumerating takes up to
    150 ms: the product, letter by letter, of its symbols present, doubled for each
    present symbol of two letters (1, | and 7)."""
    present = set(text) & _LEET_SYMBOLS
    if not present:
        return 0
    readings = prod(max(1, len(present.intersection(subs)))
                    for subs in matching.L33T_TABLE.values())
    return readings * 2 ** len(present & _AMBIGUOUS_SYMBOLS)


def personal_words(values: Iterable[str]) -> list[str]:
    """Each value (an e-mail's local part, a name), whole and cut into its words of 3
    characters or more, with and without accents: "jean-hélène.dupont" gives itself,
    "jean", "hélène", "dupont", then the same with "helene"."""
    words: list[str] = []
    for value in values:
        text = (value or "").split("@")[0].lower().strip()
        if len(text) >= 3:
            words.append(text)
        words.extend(w for w in re.split(r"[\W_]+", text) if len(w) >= 3)
    return words + [plain for word in words if (plain := _unaccented(word)) != word]


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word)
                   if not unicodedata.combining(c))
