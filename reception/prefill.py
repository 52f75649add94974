"""Pre-filled forms (预填单): field definitions, validation, display and masking.

Pure: no ORM and no clock. A form's fields come from a FormVersion's `fields` JSON snapshot
(`snapshot_field` writes one, `fields_from_snapshot` reads them back), so a submission is always
read with the definitions it was filled in against, however the form was edited since.

Answers are stored JSON-ready: text and choice values as strings, numbers as int, amounts as a
string with two decimals ("1234.50"), dates as ISO strings, yes/no as bool; an unanswered
optional field is left out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.names import pick_name

TEXT, NUMBER, AMOUNT, CHOICE, DATE, ID_TYPE, YES_NO = (
    "text",
    "number",
    "amount",
    "choice",
    "date",
    "id_type",
    "yes_no",
)
KINDS = (TEXT, NUMBER, AMOUNT, CHOICE, DATE, ID_TYPE, YES_NO)

TEXT_MAX_LENGTH = 200
# Beyond any count a form asks for, and exact in JSON (below 2**53).
NUMBER_MAX = 10**15
AMOUNT_MAX = Decimal("1000000000000")  # 1e12 CNY
DATE_MIN = date(1900, 1, 1)  # birth dates …
DATE_MAX = date(2100, 12, 31)  # … to the expiry of a long-valid document

# The ID documents a branch accepts (values are stored; labels are shown translated).
ID_TYPES: tuple[tuple[str, object], ...] = (
    ("resident_id", gettext_lazy("Resident identity card")),
    ("passport", gettext_lazy("Passport")),
    ("hk_macao_permit", gettext_lazy("Mainland travel permit for Hong Kong and Macao residents")),
    ("taiwan_permit", gettext_lazy("Mainland travel permit for Taiwan residents")),
    ("foreign_permanent_resident", gettext_lazy("Foreign permanent resident ID card")),
    ("other", gettext_lazy("Other document")),
)
ID_TYPE_VALUES = frozenset(value for value, _label in ID_TYPES)

YES_VALUES = frozenset({"yes", "y", "true", "1", "on"})
NO_VALUES = frozenset({"no", "n", "false", "0", "off"})

_OPTION_VALUE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_INTEGER = re.compile(r"[+-]?\d+")
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SEPARATORS = re.compile(r"[\s,_']")  # thousands separators people type: 1,000 / 1 000 / 1'000


@dataclass(frozen=True)
class Option:
    """One answer of a "choice" field: the stored value and its label in each language."""

    value: str
    label_zh: str
    label_zh_hant: str = ""
    label_en: str = ""


@dataclass(frozen=True)
class FieldDef:
    key: str
    kind: str
    label_zh: str
    label_zh_hant: str = ""
    label_en: str = ""
    required: bool = False
    sensitive: bool = False
    options: tuple[Option, ...] = field(default=())


# --- Snapshots and options ---------------------------------------------------------------------


def parse_options(text: str) -> tuple[list[Option], list[str]]:
    """A "choice" field's options, one a line: "value | 中文 | 中文（繁體） | English" (the
    last two may be left out). Returns the options and one message per bad line."""
    options: list[Option] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        value = parts[0]
        if len(parts) < 2 or len(parts) > 4 or not parts[1]:
            errors.append(
                _('Line %(line)d: write "value | 中文 | 中文（繁體） | English".')
                % {"line": number}
            )
            continue
        if not _OPTION_VALUE.fullmatch(value):
            errors.append(
                _("Line %(line)d: the value may have only letters, digits, - and _ (up to 40).")
                % {"line": number}
            )
            continue
        if value in seen:
            errors.append(
                _("Line %(line)d: the value %(value)s is used twice.")
                % {
                    "line": number,
                    "value": value,
                }
            )
            continue
        seen.add(value)
        parts += [""] * (4 - len(parts))
        options.append(Option(value, parts[1], parts[2], parts[3]))
    return options, errors


def snapshot_field(
    *,
    key: str,
    kind: str,
    label_zh: str,
    label_zh_hant: str = "",
    label_en: str = "",
    required: bool = False,
    sensitive: bool = False,
    choices: str = "",
) -> dict:
    """One field as stored in a FormVersion's `fields` list."""
    options = parse_options(choices)[0] if kind == CHOICE else []
    return {
        "key": key,
        "kind": kind,
        "label_zh": label_zh,
        "label_zh_hant": label_zh_hant,
        "label_en": label_en,
        "required": bool(required),
        "sensitive": bool(sensitive),
        "options": [
            {
                "value": option.value,
                "label_zh": option.label_zh,
                "label_zh_hant": option.label_zh_hant,
                "label_en": option.label_en,
            }
            for option in options
        ],
    }


def fields_from_snapshot(data: Iterable[Mapping]) -> list[FieldDef]:
    """A FormVersion's `fields` JSON as definitions; entries of an unknown kind are skipped."""
    fields = []
    for item in data or ():
        kind = item.get("kind")
        if kind not in KINDS or not item.get("key"):
            continue
        fields.append(
            FieldDef(
                key=str(item["key"]),
                kind=kind,
                label_zh=str(item.get("label_zh", "")),
                label_zh_hant=str(item.get("label_zh_hant", "")),
                label_en=str(item.get("label_en", "")),
                required=bool(item.get("required")),
                sensitive=bool(item.get("sensitive")),
                options=tuple(
                    Option(
                        str(option.get("value", "")),
                        str(option.get("label_zh", "")),
                        str(option.get("label_zh_hant", "")),
                        str(option.get("label_en", "")),
                    )
                    for option in item.get("options") or ()
                ),
            )
        )
    return fields


# --- Validation ---------------------------------------------------------------------------------


def _ascii(raw: str) -> str:
    """Full-width digits and signs (a Chinese phone keyboard's) as ASCII."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _clean_text(raw: str) -> str:
    text = raw.strip()
    if len(text) > TEXT_MAX_LENGTH:
        raise ValueError(
            _("At most %(max)d characters (this has %(length)d).")
            % {"max": TEXT_MAX_LENGTH, "length": len(text)}
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise ValueError(_("Remove the control characters."))
    return text


def _clean_number(raw: str) -> int:
    text = _SEPARATORS.sub("", _ascii(raw))
    if not _INTEGER.fullmatch(text):
        raise ValueError(_("Enter a whole number."))
    value = int(text)
    if abs(value) >= NUMBER_MAX:
        raise ValueError(_("This number is too large."))
    return value


def _clean_amount(raw: str) -> str:
    text = _SEPARATORS.sub("", _ascii(raw)).lstrip("¥￥")
    if text.startswith("-"):
        raise ValueError(_("The amount cannot be negative."))
    if not _AMOUNT.fullmatch(text):
        raise ValueError(_("Enter an amount in yuan, e.g. 5000 or 5000.50."))
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern lets only digits through
        raise ValueError(_("Enter an amount in yuan, e.g. 5000 or 5000.50.")) from exc
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("At most two decimal places (fen)."))
    if value > AMOUNT_MAX:
        raise ValueError(_("The amount is too large."))
    return str(value.quantize(Decimal("0.01")))


def _clean_date(raw: str) -> str:
    text = _ascii(raw).strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(_("Enter a date as YYYY-MM-DD."))
    try:
        value = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(_("This date does not exist.")) from exc
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(
            _("Enter a date between %(start)s and %(end)s.")
            % {"start": DATE_MIN.isoformat(), "end": DATE_MAX.isoformat()}
        )
    return value.isoformat()


def _clean_choice(raw: str, definition: FieldDef) -> str:
    value = raw.strip()
    if value not in {option.value for option in definition.options}:
        raise ValueError(_("Choose one of the options."))
    return value


def _clean_id_type(raw: str) -> str:
    value = raw.strip()
    if value not in ID_TYPE_VALUES:
        raise ValueError(_("Choose one of the document types."))
    return value


def _clean_yes_no(raw: str) -> bool:
    value = raw.strip().lower()
    if value in YES_VALUES:
        return True
    if value in NO_VALUES:
        return False
    raise ValueError(_("Answer yes or no."))


def clean_value(definition: FieldDef, raw: str) -> object:
    """One answer, cleaned; ValueError with the message to show at the field."""
    kind = definition.kind
    if kind == TEXT:
        return _clean_text(raw)
    if kind == NUMBER:
        return _clean_number(raw)
    if kind == AMOUNT:
        return _clean_amount(raw)
    if kind == CHOICE:
        return _clean_choice(raw, definition)
    if kind == DATE:
        return _clean_date(raw)
    if kind == ID_TYPE:
        return _clean_id_type(raw)
    if kind == YES_NO:
        return _clean_yes_no(raw)
    raise ValueError(_("This field cannot be filled in."))  # pragma: no cover - KINDS


def validate(
    fields: Sequence[FieldDef], raw: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, list[str]]]:
    """Check every field's answer: (cleaned answers, {key: [messages]}). The form is valid when
    there are no errors; `cleaned` holds the valid answers either way. Keys that are not fields
    of the form are ignored; an empty optional answer is left out."""
    cleaned: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for definition in fields:
        value = raw.get(definition.key)
        if isinstance(value, bool):  # from JSON: yes/no as true/false
            value = "yes" if value else "no"
        text = "" if value is None else str(value)
        if not text.strip():
            if definition.required:
                errors[definition.key] = [_("This field is required.")]
            continue
        try:
            cleaned[definition.key] = clean_value(definition, text)
        except ValueError as exc:
            errors[definition.key] = [str(exc)]
    return cleaned, errors


# --- Display ------------------------------------------------------------------------------------


def label(definition: FieldDef | Option, language: str) -> str:
    """A field's (or an option's) label in the reader's language (accounts.names' order)."""
    return pick_name(
        language,
        zh_hans=definition.label_zh,
        zh_hant=definition.label_zh_hant,
        en=definition.label_en,
    )


def id_type_label(value: str) -> str:
    return next((str(name) for code, name in ID_TYPES if code == value), value)


def display(definition: FieldDef, value: object, language: str) -> str:
    """An answer as a reader sees it: labels for codes, amounts with separators."""
    if value is None or value == "":
        return ""
    kind = definition.kind
    if kind == CHOICE:
        option = next((o for o in definition.options if o.value == value), None)
        return label(option, language) if option else str(value)
    if kind == ID_TYPE:
        return id_type_label(str(value))
    if kind == YES_NO:
        return _("Yes") if value else _("No")
    if kind == AMOUNT:
        try:
            return f"{Decimal(str(value)):,.2f}"
        except InvalidOperation:
            return str(value)
    return str(value)


MASK = "*"
MASK_MAX_STARS = 14  # an 18-character ID number: 14 stars and its last four


def mask(value: object, kind: str) -> str:
    """A sensitive answer as shown on screens that do not need it: an ID or account number
    keeps its last four characters (when it has at least eight), anything else is all stars."""
    if value is None or value == "":
        return ""
    if kind in (TEXT, NUMBER):
        text = str(value)
        visible = 4 if len(text) >= 8 else 0
        stars = MASK * min(len(text) - visible, MASK_MAX_STARS)
        return stars + (text[-visible:] if visible else "")
    if kind == DATE:
        return "****-**-**"
    return MASK * 4


def rows(
    fields: Sequence[FieldDef], data: Mapping[str, object], language: str, *, reveal: bool = False
) -> list[dict]:
    """The answers in form order, for a screen: label, shown value, whether it is masked.
    Sensitive answers are masked unless `reveal`; unanswered fields show empty."""
    result = []
    for definition in fields:
        value = data.get(definition.key)
        answered = value is not None and value != ""
        masked = definition.sensitive and answered and not reveal
        result.append(
            {
                "key": definition.key,
                "kind": definition.kind,
                "label": label(definition, language),
                "value": mask(value, definition.kind)
                if masked
                else display(definition, value, language),
                "answered": answered,
                "sensitive": definition.sensitive,
                "masked": masked,
                "required": definition.required,
            }
        )
    return result


# --- Filling in ---------------------------------------------------------------------------------


def to_raw(value: object) -> str:
    """A stored answer as the text of its input (yes/no as "yes"/"no")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def keep_sensitive(
    fields: Sequence[FieldDef], raw: Mapping[str, object], previous: Mapping[str, object]
) -> dict[str, object]:
    """`raw` with each sensitive answer left empty replaced by the one given before: pages never
    put a sensitive answer back into an input, so an empty one means "unchanged"."""
    merged = dict(raw)
    for definition in fields:
        if not definition.sensitive or definition.key not in previous:
            continue
        given = merged.get(definition.key)
        if given is None or (isinstance(given, str) and not given.strip()):
            merged[definition.key] = to_raw(previous[definition.key])
    return merged


def choices_for(definition: FieldDef, language: str) -> list[tuple[str, str]]:
    """(value, label) of a choice, document-type or yes/no field's answers."""
    if definition.kind == CHOICE:
        return [(option.value, label(option, language)) for option in definition.options]
    if definition.kind == ID_TYPE:
        return [(value, str(name)) for value, name in ID_TYPES]
    if definition.kind == YES_NO:
        return [("yes", _("Yes")), ("no", _("No"))]
    return []


def input_rows(
    fields: Sequence[FieldDef],
    *,
    values: Mapping[str, object],
    errors: Mapping[str, Sequence[str]],
    language: str,
    kept: Mapping[str, object] | None = None,
    typed: bool = False,
) -> list[dict]:
    """What a page needs to draw each input: label, kind, the text to put back, choices and the
    field's errors. `values`: what was just typed (`typed`) or the stored answers; a stored
    sensitive answer is never put back into an input, only hinted at, masked (`kept`: the
    stored answers)."""
    kept = kept or {}
    result = []
    for definition in fields:
        value = to_raw(values.get(definition.key))
        if definition.sensitive and not typed:
            value = ""
        stored = kept.get(definition.key) if definition.sensitive else None
        result.append(
            {
                "key": definition.key,
                "name": f"f_{definition.key}",
                "kind": definition.kind,
                "label": label(definition, language),
                "required": definition.required,
                "sensitive": definition.sensitive,
                "value": value,
                "kept_mask": mask(stored, definition.kind) if stored is not None else "",
                "choices": choices_for(definition, language),
                "errors": list(errors.get(definition.key, ())),
                "max_length": TEXT_MAX_LENGTH,
            }
        )
    return result
