"""reception.prefill: pure definitions, validation per kind, masking and labels of pre-filled forms."""

from datetime import date

import pytest
from django.utils import translation

from reception import prefill
from reception.prefill import FieldDef, Option


def field(kind, key="f", required=False, sensitive=False, options=(), **labels):
    labels = {"label_zh": "字段", **labels}
    return FieldDef(
        key=key, kind=kind, required=required, sensitive=sensitive, options=options, **labels
    )


COLOURS = (Option("red", "红", "紅", "Red"), Option("blue", "蓝", "", ""))


def check(definition, raw):
    """(cleaned value or None, first error or None) of one answer."""
    cleaned, errors = prefill.validate([definition], {definition.key: raw})
    return cleaned.get(definition.key), (errors.get(definition.key) or [None])[0]


# --- Text ------------------------------------------------------------------------------------------


def test_text_is_stripped_and_kept():
    assert check(field("text"), "  张三  ") == ("张三", None)


def test_text_of_200_characters_passes_and_201_is_refused():
    assert check(field("text"), "字" * 200)[0] == "字" * 200
    value, error = check(field("text"), "字" * 201)
    assert value is None and "200" in error and "201" in error


def test_text_with_control_characters_is_refused():
    assert check(field("text"), "a\x00b")[1] == "Remove the control characters."
    assert check(field("text"), "a\u202eb")[1] == "Remove the control characters."


# --- Number ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("42", 42), ("-3", -3), ("+7", 7), ("1,000", 1000), ("４２", 42), (" 5 ", 5), ("0", 0)],
)
def test_numbers_are_whole_numbers_written_any_usual_way(raw, expected):
    assert check(field("number"), raw) == (expected, None)


@pytest.mark.parametrize("raw", ["4.5", "abc", "1e3", "--1", "NaN", "0x10", "١٢a"])
def test_anything_but_a_whole_number_is_refused(raw):
    assert check(field("number"), raw) == (None, "Enter a whole number.")


def test_a_number_too_large_for_json_is_refused():
    assert check(field("number"), str(10**15))[1] == "This number is too large."
    assert check(field("number"), str(10**15 - 1))[0] == 10**15 - 1


# --- Amount ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5000", "5000.00"),
        ("5000.5", "5000.50"),
        ("5,000.55", "5000.55"),
        ("¥200", "200.00"),
        ("０.０１", "0.01"),
        ("0", "0.00"),
        ("1000000000000", "1000000000000.00"),
    ],
)
def test_amounts_are_kept_with_two_decimals(raw, expected):
    assert check(field("amount"), raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-1", "The amount cannot be negative."),
        ("1.234", "At most two decimal places (fen)."),
        ("1000000000000.01", "The amount is too large."),
        ("1e5", "Enter an amount in yuan, e.g. 5000 or 5000.50."),
        ("Infinity", "Enter an amount in yuan, e.g. 5000 or 5000.50."),
        ("NaN", "Enter an amount in yuan, e.g. 5000 or 5000.50."),
        ("12.", "Enter an amount in yuan, e.g. 5000 or 5000.50."),
        ("ten", "Enter an amount in yuan, e.g. 5000 or 5000.50."),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(raw, message):
    assert check(field("amount"), raw) == (None, message)


def test_a_trailing_zero_third_decimal_is_still_two_places():
    assert check(field("amount"), "1.230")[0] == "1.23"


# --- Choice, ID type, yes/no -----------------------------------------------------------------------


def test_a_choice_must_be_one_of_the_options():
    colours = field("choice", options=COLOURS)
    assert check(colours, "blue") == ("blue", None)
    assert check(colours, "green") == (None, "Choose one of the options.")
    assert check(colours, "Red") == (None, "Choose one of the options.")  # values, not labels


def test_a_choice_without_options_accepts_nothing():
    assert check(field("choice"), "x")[1] == "Choose one of the options."


@pytest.mark.parametrize(
    "value",
    [
        "resident_id",
        "passport",
        "hk_macao_permit",
        "taiwan_permit",
        "foreign_permanent_resident",
        "other",
    ],
)
def test_every_document_type_of_the_list_is_accepted(value):
    assert check(field("id_type"), value) == (value, None)


def test_an_unknown_document_type_is_refused():
    assert check(field("id_type"), "driving_licence")[1] == "Choose one of the document types."


def test_document_type_labels_are_translated():
    with translation.override("en"):
        english = prefill.id_type_label("passport")
    with translation.override("zh-hans"):
        chinese = prefill.id_type_label("passport")
    assert english == "Passport"
    assert chinese  # translated by the lead's catalogue; never empty
    assert prefill.id_type_label("unknown") == "unknown"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", True), ("no", False), ("YES", True), ("1", True), ("0", False), (True, True)],
)
def test_yes_no(raw, expected):
    assert check(field("yes_no"), raw) == (expected, None)


def test_yes_no_refuses_anything_else():
    assert check(field("yes_no"), "maybe") == (None, "Answer yes or no.")


def test_a_required_yes_no_answered_no_is_answered():
    assert check(field("yes_no", required=True), "no") == (False, None)


# --- Date ------------------------------------------------------------------------------------------


def test_dates_are_iso():
    assert check(field("date"), "2030-02-28") == ("2030-02-28", None)
    assert check(field("date"), "２０３０-０２-２８")[0] == "2030-02-28"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("28/02/2030", "Enter a date as YYYY-MM-DD."),
        ("2030-2-3", "Enter a date as YYYY-MM-DD."),
        ("2030-02-30", "This date does not exist."),
        ("1899-12-31", "Enter a date between 1900-01-01 and 2100-12-31."),
        ("2101-01-01", "Enter a date between 1900-01-01 and 2100-12-31."),
    ],
)
def test_bad_dates_are_refused(raw, message):
    assert check(field("date"), raw) == (None, message)


def test_the_date_range_ends_are_accepted():
    assert check(field("date"), prefill.DATE_MIN.isoformat())[0] == "1900-01-01"
    assert check(field("date"), prefill.DATE_MAX.isoformat())[0] == "2100-12-31"
    assert date(2099, 1, 1) < prefill.DATE_MAX


# --- The whole form --------------------------------------------------------------------------------


def test_required_fields_unknown_keys_and_empty_optional_answers():
    fields = [
        field("text", key="name", required=True),
        field("number", key="count"),
        field("amount", key="sum", required=True),
    ]
    cleaned, errors = prefill.validate(fields, {"name": " ", "count": "", "evil": "x"})
    assert errors == {"name": ["This field is required."], "sum": ["This field is required."]}
    assert cleaned == {}
    cleaned, errors = prefill.validate(fields, {"name": "王", "sum": "10", "evil": "x"})
    assert (cleaned, errors) == ({"name": "王", "sum": "10.00"}, {})  # "count" left out


def test_valid_answers_are_returned_beside_the_errors():
    fields = [field("text", key="a"), field("number", key="b")]
    cleaned, errors = prefill.validate(fields, {"a": "ok", "b": "x"})
    assert cleaned == {"a": "ok"} and list(errors) == ["b"]


def test_none_counts_as_empty():
    _cleaned, errors = prefill.validate([field("text", key="a", required=True)], {"a": None})
    assert errors == {"a": ["This field is required."]}


# --- Options ---------------------------------------------------------------------------------------


def test_options_are_read_one_a_line():
    options, errors = prefill.parse_options("a | 甲 | 甲 | A\n\nb|乙\n")
    assert errors == []
    assert options == [Option("a", "甲", "甲", "A"), Option("b", "乙", "", "")]


def test_bad_option_lines_are_named_by_number():
    text = "a | 甲\njust text\nb c | 乙\na | again\nx | 1 | 2 | 3 | 4"
    options, errors = prefill.parse_options(text)
    assert [o.value for o in options] == ["a"]
    assert len(errors) == 4
    assert [e.split(":")[0] for e in errors] == ["Line 2", "Line 3", "Line 4", "Line 5"]
    assert "used twice" in errors[2]


# --- Snapshots -------------------------------------------------------------------------------------


def test_a_snapshot_reads_back_as_the_same_definition():
    data = [
        prefill.snapshot_field(
            key="colour",
            kind="choice",
            label_zh="颜色",
            label_en="Colour",
            required=True,
            sensitive=True,
            choices="red | 红 | 紅 | Red\nblue | 蓝",
        ),
        {"key": "gone", "kind": "signature", "label_zh": "签名"},  # a kind this code lacks
        {"kind": "text"},  # no key
    ]
    fields = prefill.fields_from_snapshot(data)
    assert fields == [
        FieldDef(
            key="colour",
            kind="choice",
            label_zh="颜色",
            label_en="Colour",
            required=True,
            sensitive=True,
            options=(Option("red", "红", "紅", "Red"), Option("blue", "蓝", "", "")),
        )
    ]


def test_options_of_a_non_choice_field_are_not_kept():
    assert (
        prefill.snapshot_field(key="a", kind="text", label_zh="甲", choices="x | y")["options"]
        == []
    )


# --- Labels and display ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "labels", "expected"),
    [
        ("en", {"label_zh": "金额", "label_zh_hant": "金額", "label_en": "Amount"}, "Amount"),
        ("en", {"label_zh": "金额", "label_zh_hant": "金額"}, "金额"),
        ("zh-hant", {"label_zh": "金额", "label_zh_hant": "金額", "label_en": "A"}, "金額"),
        ("zh-hant", {"label_zh": "金额", "label_en": "Amount"}, "金额"),
        ("zh-hans", {"label_zh": "金额", "label_zh_hant": "金額", "label_en": "A"}, "金额"),
        ("fr", {"label_zh": "金额", "label_en": "Amount"}, "金额"),
        ("zh-hans", {"label_zh": "", "label_zh_hant": "", "label_en": "Amount"}, "Amount"),
    ],
)
def test_labels_follow_pick_names_order(language, labels, expected):
    assert prefill.label(field("text", **labels), language) == expected


def test_answers_are_displayed_with_labels():
    with translation.override("en"):
        assert prefill.display(field("choice", options=COLOURS), "red", "en") == "Red"
        assert prefill.display(field("choice", options=COLOURS), "blue", "en") == "蓝"
        assert prefill.display(field("choice", options=COLOURS), "gone", "en") == "gone"
        assert prefill.display(field("yes_no"), True, "en") == "Yes"
        assert prefill.display(field("yes_no"), False, "en") == "No"
        assert prefill.display(field("amount"), "1234567.50", "en") == "1,234,567.50"
        assert prefill.display(field("id_type"), "passport", "en") == "Passport"
        assert prefill.display(field("text"), None, "en") == ""


# --- Masking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("110101199003074512", "text", "**************4512"),
        ("6222020200112233", "text", "************2233"),
        ("1234567", "text", "*******"),
        ("ab", "text", "**"),
        (12345678, "number", "****5678"),
        ("5000.00", "amount", "****"),
        ("1990-03-07", "date", "****-**-**"),
        ("passport", "id_type", "****"),
        (True, "yes_no", "****"),
        ("red", "choice", "****"),
        ("", "text", ""),
        (None, "text", ""),
    ],
)
def test_mask(value, kind, expected):
    assert prefill.mask(value, kind) == expected


def test_a_long_text_is_masked_to_a_bounded_length():
    masked = prefill.mask("x" * 200 + "9876", "text")
    assert masked == "*" * prefill.MASK_MAX_STARS + "9876"


def test_rows_mask_sensitive_answers_unless_revealed():
    fields = [
        field("text", key="id", sensitive=True, label_en="ID number"),
        field("text", key="name", label_en="Name"),
        field("text", key="note", label_en="Note"),
    ]
    data = {"id": "110101199003074512", "name": "王五"}
    rows = prefill.rows(fields, data, "en")
    assert [(r["label"], r["value"], r["masked"], r["answered"]) for r in rows] == [
        ("ID number", "**************4512", True, True),
        ("Name", "王五", False, True),
        ("Note", "", False, False),
    ]
    assert prefill.rows(fields, data, "en", reveal=True)[0]["value"] == "110101199003074512"


# --- Filling in ------------------------------------------------------------------------------------


def test_an_empty_sensitive_answer_keeps_the_one_given_before():
    fields = [field("text", key="id", sensitive=True), field("text", key="name")]
    merged = prefill.keep_sensitive(fields, {"id": " ", "name": ""}, {"id": "X1", "name": "A"})
    assert merged == {"id": "X1", "name": ""}  # only sensitive answers are kept
    assert prefill.keep_sensitive(fields, {"id": "X2"}, {"id": "X1"}) == {"id": "X2"}
    assert prefill.keep_sensitive(fields, {}, {"id": True}) == {"id": "yes"}


def test_inputs_never_put_a_stored_sensitive_answer_back():
    fields = [field("text", key="id", sensitive=True), field("yes_no", key="ok")]
    stored = {"id": "110101199003074512", "ok": False}
    rows = prefill.input_rows(fields, values=stored, errors={}, language="en", kept=stored)
    assert rows[0]["value"] == "" and rows[0]["kept_mask"] == "**************4512"
    assert rows[1]["value"] == "no" and rows[1]["choices"][0][0] == "yes"
    typed = prefill.input_rows(
        fields, values={"id": "typed"}, errors={"id": ["bad"]}, language="en", typed=True
    )
    assert typed[0]["value"] == "typed" and typed[0]["errors"] == ["bad"]
    assert typed[0]["name"] == "f_id"
