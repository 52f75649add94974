"""Key control points (关键控制点) of a service: pure logic, no ORM, no clock.

A service's points are frozen as a version (a list of snapshots, see `snapshot_point`); the
counter checks a finish against the version and keeps the ticked keys with the visit. The three
points the counter enforced before points were configurable keep their keys, so the API's
legacy booleans (identity_verified, documents_signed, funds_handed_over) map onto them.
"""

from collections.abc import Iterable, Mapping

from accounts.names import pick_name

IDENTITY = "identity_verified"
DOCUMENTS = "documents_signed"
FUNDS = "funds_handed_over"
LEGACY_KEYS = (IDENTITY, DOCUMENTS, FUNDS)

# What every service gets until its branch configures its own (data migration, seed, and the
# first finish of a service created later): only the identity check is required, as before.
DEFAULT_POINTS: tuple[dict, ...] = (
    {
        "key": IDENTITY,
        "label_zh": "核实客户身份",
        "label_zh_hant": "核實客戶身份",
        "label_en": "Identity verified",
        "required": True,
    },
    {
        "key": DOCUMENTS,
        "label_zh": "单据已签字",
        "label_zh_hant": "單據已簽字",
        "label_en": "Documents signed",
        "required": False,
    },
    {
        "key": FUNDS,
        "label_zh": "款项已交付",
        "label_zh_hant": "款項已交付",
        "label_en": "Funds handed over",
        "required": False,
    },
)


def snapshot_point(
    *,
    key: str,
    label_zh: str,
    label_zh_hant: str = "",
    label_en: str = "",
    required: bool,
    clause_ref: str = "",
) -> dict:
    """One point as a version keeps it (JSON). The standard's clause only when the point names
    one, so versions frozen before clauses existed compare equal to today's points."""
    point = {
        "key": key,
        "label_zh": label_zh,
        "label_zh_hant": label_zh_hant or "",
        "label_en": label_en or "",
        "required": bool(required),
    }
    if clause_ref:
        point["clause_ref"] = clause_ref
    return point


def point_label(point: Mapping, language: str) -> str:
    return pick_name(
        language,
        zh_hans=point.get("label_zh", ""),
        zh_hant=point.get("label_zh_hant", ""),
        en=point.get("label_en", ""),
    ) or str(point.get("key", ""))


def ticked_keys(checked: Iterable[str] = (), legacy: Mapping[str, bool] | None = None) -> list[str]:
    """The keys ticked: the list given plus every legacy boolean that is true, each once, in
    the order given."""
    keys: list[str] = []
    for key in [*checked, *(name for name, on in (legacy or {}).items() if on)]:
        if key and key not in keys:
            keys.append(key)
    return keys


def unknown_keys(points: Iterable[Mapping], checked: Iterable[str]) -> list[str]:
    """Ticked keys the version does not have (a legacy key is never unknown: a service
    without that point simply ignores it)."""
    known = {point["key"] for point in points}
    return [key for key in checked if key not in known and key not in LEGACY_KEYS]


def missing_required(points: Iterable[Mapping], checked: Iterable[str]) -> list[dict]:
    """The required points not ticked, in the version's order."""
    ticked = set(checked)
    return [dict(point) for point in points if point.get("required") and point["key"] not in ticked]


def refused(points: Iterable[Mapping], checked: Iterable[str], *, completed: bool) -> bool:
    """Whether a finish with these keys ticked is refused against this version: an unknown key,
    or (outcome "completed") a required point not ticked. reception.services.desk says why."""
    checked = list(checked)
    return bool(unknown_keys(points, checked)) or (
        completed and bool(missing_required(points, checked))
    )


def missed_optional(points: Iterable[Mapping], checked: Iterable[str]) -> list[dict]:
    """The optional points not ticked (the report of missed optional points)."""
    ticked = set(checked)
    return [
        dict(point) for point in points if not point.get("required") and point["key"] not in ticked
    ]


def kept_keys(points: Iterable[Mapping], checked: Iterable[str]) -> list[str]:
    """What a visit keeps: the ticked keys the version has, in its order."""
    ticked = set(checked)
    return [point["key"] for point in points if point["key"] in ticked]
