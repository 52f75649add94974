"""Knowledge-base search: pure text helpers, no ORM.

The index is one column (KnowledgeEntry.search_text): every searchable field folded once per
save (NFKC, case-folded, whitespace collapsed). A query is split on whitespace into terms; an
entry matches when its text contains every term (so Chinese needs no tokenizer: "挂失" is a
substring of "银行卡挂失怎么办", and a two-character query works), and the matches are ranked
here by how many terms the question holds and how early (docs/decisions.md).
"""

import re
import unicodedata
from collections.abc import Iterable

MAX_TERMS = 6
MAX_TERM_LENGTH = 40
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Comparable form: full-width to half-width (NFKC), case-folded, single spaces."""
    # NUL cannot reach PostgreSQL (a query parameter with it is an error, not "no match").
    text = unicodedata.normalize("NFKC", (text or "").replace("\x00", ""))
    return _SPACE.sub(" ", text.casefold()).strip()


def build_search_text(parts: Iterable[str]) -> str:
    """The search column's content from an entry's fields (empty parts skipped)."""
    return " \n".join(folded for folded in (fold(part) for part in parts) if folded)


def parse_query(query: str) -> list[str]:
    """The terms of a query, folded, each once, at most MAX_TERMS of at most
    MAX_TERM_LENGTH characters (a pasted essay must not become a hundred LIKEs)."""
    terms: list[str] = []
    for term in fold(query).split(" "):
        term = term[:MAX_TERM_LENGTH]
        if term and term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


def rank(question: str, text: str, terms: list[str]) -> tuple[int, int, int]:
    """Sort key (smaller first): terms missing from the question, position of the first term
    in the question (a question that starts with it comes first), length of the question."""
    folded_question = fold(question)
    in_question = [folded_question.find(term) for term in terms]
    missing = sum(1 for position in in_question if position < 0)
    found = [position for position in in_question if position >= 0]
    first = (
        min(found) if found else len(folded_question) + fold(text).find(terms[0] if terms else "")
    )
    return (missing, first, len(folded_question))
