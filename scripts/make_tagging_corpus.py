"""Writes rtorch's small named-entity tagging corpus (data/tagging/{train,test}.conll).

The sentences are made here from templates and word lists of our own, with a fixed
seed, so the corpus is reproducible and free to redistribute. The format is CoNLL-2003's
(`-DOCSTART-` line, one token per line as `token POS chunk tag`, a blank line between
sentences; POS and chunk columns are placeholders), so the tagger example reads the
real CoNLL-2003 files the same way.

    python scripts/make_tagging_corpus.py
"""

from __future__ import annotations

import random
from pathlib import Path

FIRST = [
    "Anna",
    "Boris",
    "Chen",
    "Dara",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Jordan",
    "Georgia",
    "Paris",
    "Florence",
]
LAST = [
    "Novak",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Ivanova",
    "Haddad",
    "Kowalski",
    "Silva",
    "Brennan",
    "Castillo",
    "Weber",
    "Adeyemi",
    "Larsen",
]
PLACES = [
    ["Paris"],
    ["Lagos"],
    ["Oslo"],
    ["Jordan"],
    ["Georgia"],
    ["Lima"],
    ["Kyoto"],
    ["New", "York"],
    ["San", "Francisco"],
    ["Buenos", "Aires"],
    ["Cape", "Town"],
    ["Florence"],
    ["Quebec"],
    ["Nairobi"],
    ["Hanoi"],
]
ORGS = [
    ["Acme", "Corp"],
    ["Globex"],
    ["United", "Nations"],
    ["Red", "Cross"],
    ["Initech"],
    ["Northwind", "Traders"],
    ["Umbrella", "Labs"],
    ["World", "Bank"],
    ["Stark", "Industries"],
    ["Hooli"],
    ["Tyrell", "Corporation"],
    ["Vandelay", "Industries"],
]
DAYS = ["Monday", "Tuesday", "Friday", "Sunday"]
NOUNS = ["report", "market", "festival", "election", "bridge", "museum", "team", "project"]
ADJS = ["new", "old", "busy", "quiet", "large", "small", "famous", "local"]
VERBS = ["visited", "left", "praised", "criticised", "joined", "thanked", "called"]

TEMPLATES = [
    "PER VERB LOC on DAY .",
    "ORG hired PER last year .",
    "PER works for ORG in LOC .",
    "The ADJ NOUN in LOC was ADJ .",
    "PER and PER met at the ORG office .",
    "ORG opened a ADJ NOUN in LOC .",
    "In LOC , PER VERB the ORG NOUN .",
    "PER said the NOUN would open on DAY .",
    "A ADJ NOUN from ORG VERB LOC .",
    "PER flew from LOC to LOC .",
]


# The last quarter of each entity list appears only in the test file: tagging those
# names needs the context, not a memorised word.
def _train_part(names: list) -> list:
    return names[: len(names) - len(names) // 4]


TRAIN_NAMES = {
    "FIRST": _train_part(FIRST),
    "LAST": _train_part(LAST),
    "LOC": _train_part(PLACES),
    "ORG": _train_part(ORGS),
}
TEST_NAMES = {"FIRST": FIRST, "LAST": LAST, "LOC": PLACES, "ORG": ORGS}


def person(rng: random.Random, names: dict) -> list[str]:
    first = [rng.choice(names["FIRST"])]
    return first + ([rng.choice(names["LAST"])] if rng.random() < 0.7 else [])


def sentence(rng: random.Random, names: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for slot in rng.choice(TEMPLATES).split():
        if slot in ("PER", "LOC", "ORG"):
            if slot == "PER":
                words = person(rng, names)
            else:
                words = rng.choice(names[slot])
            out += [(w, ("B-" if i == 0 else "I-") + slot) for i, w in enumerate(words)]
        else:
            pools = {"DAY": DAYS, "NOUN": NOUNS, "ADJ": ADJS, "VERB": VERBS}
            out.append((rng.choice(pools[slot]) if slot in pools else slot, "O"))
    return out


def write(path: Path, sentences: list[list[tuple[str, str]]]) -> None:
    lines = ["-DOCSTART- -X- -X- O", ""]
    for s in sentences:
        lines += [f"{word} X X {tag}" for word, tag in s] + [""]
    path.write_text("\n".join(lines))


def main() -> None:
    rng = random.Random(2003)
    folder = Path(__file__).resolve().parent.parent / "data" / "tagging"
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "train.conll", [sentence(rng, TRAIN_NAMES) for _ in range(2000)])
    write(folder / "test.conll", [sentence(rng, TEST_NAMES) for _ in range(400)])
    print(f"wrote {folder}/train.conll and test.conll")


if __name__ == "__main__":
    main()
