"""Pure arithmetic of the feedback loop and the branch head's feedback page (no ORM, no I/O).

* `follow_up_reason`: whether an answer is bad enough that someone must call back, and why.
* `response_rate`, `csat`, `nps`: the page's figures, from plain numbers.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

LOW_RATING = 2  # a 1–5 rating at or below this is a bad answer
LOW_NPS = 6  # 0–10: 0–6 detractors, 7–8 passives, 9–10 promoters
PROMOTER_FROM = 9
SATISFIED_FROM = 4  # CSAT: the share of 4–5 answers
PAD_DISSATISFIED = "dissatisfied"


def follow_up_reason(
    *,
    satisfaction: int | None = None,
    recommend: int | None = None,
    answers: Mapping[str, object] | None = None,
    rating_keys: Iterable[str] = (),
    nps_keys: Iterable[str] = (),
    pad_rating: str = "",
) -> str:
    """A short machine reason ("satisfaction:2", "nps:5", "rating:waiting:1", "pad") if the
    answer opens a follow-up, else ""."""
    if pad_rating == PAD_DISSATISFIED:
        return "pad"
    if satisfaction is not None and satisfaction <= LOW_RATING:
        return f"satisfaction:{satisfaction}"
    if recommend is not None and recommend <= LOW_NPS:
        return f"nps:{recommend}"
    answers = answers or {}
    for key in rating_keys:
        value = as_int(answers.get(key))
        if value is not None and 1 <= value <= LOW_RATING:
            return f"rating:{key}:{value}"
    for key in nps_keys:
        value = as_int(answers.get(key))
        if value is not None and 0 <= value <= LOW_NPS:
            return f"nps:{key}:{value}"
    return ""


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide (never a made-up 0 %)."""
    return part / whole if whole else None


def response_rate(*, answered: int, sent: int) -> float | None:
    return ratio(answered, sent)


@dataclass(frozen=True, slots=True)
class Csat:
    answers: int
    satisfied: int

    @property
    def share(self) -> float | None:
        return ratio(self.satisfied, self.answers)


def csat(scores: Iterable[int | None]) -> Csat:
    """Share of 4–5 among the 1–5 answers given (empty answers do not count)."""
    valid = [s for s in scores if s is not None and 1 <= s <= 5]
    return Csat(answers=len(valid), satisfied=sum(1 for s in valid if s >= SATISFIED_FROM))


@dataclass(frozen=True, slots=True)
class Nps:
    answers: int
    promoters: int
    detractors: int

    @property
    def score(self) -> float | None:
        """Promoters − detractors, in percentage points (−100 … 100)."""
        if not self.answers:
            return None
        return 100 * (self.promoters - self.detractors) / self.answers


def nps(scores: Iterable[int | None]) -> Nps:
    valid = [s for s in scores if s is not None and 0 <= s <= 10]
    return Nps(
        answers=len(valid),
        promoters=sum(1 for s in valid if s >= PROMOTER_FROM),
        detractors=sum(1 for s in valid if s <= LOW_NPS),
    )


def question_keys(questions: Iterable[Mapping[str, object]], kind: str) -> list[str]:
    """The keys of a version snapshot's questions of one kind ("rating", "nps")."""
    return [str(q.get("key")) for q in questions if q.get("kind") == kind and q.get("key")]
