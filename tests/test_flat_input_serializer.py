"""accounts.api.FlatInputSerializer: fields built once per class, each serializer its own copies."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework import serializers

from accounts.api import FlatInputSerializer
from reception.api.desk import CompleteServiceInputSerializer


class Body(FlatInputSerializer):
    name = serializers.CharField(max_length=5)
    keys = serializers.ListField(child=serializers.SlugField(max_length=3), required=False)
    kind = serializers.ChoiceField(choices=["a", "b"], default="a")


def test_each_serializer_gets_its_own_fields_bound_to_itself():
    first, second = Body(data={"name": "x"}), Body(data={"name": "y"})
    for name in ("name", "keys", "kind"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name


def test_validation_is_the_same_as_drf_gives_and_keeps_nothing_between_requests():
    refused = Body(data={"name": "too long", "keys": ["ok", "not a slug"], "kind": "c"})
    assert not refused.is_valid()
    assert set(refused.errors) == {"name", "keys", "kind"}
    accepted = Body(data={"name": "ok", "keys": ["ab"]})
    assert accepted.is_valid(), accepted.errors
    assert accepted.validated_data == {"name": "ok", "keys": ["ab"], "kind": "a"}
    # The first serializer's errors are still its own.
    assert set(refused.errors) == {"name", "keys", "kind"}


def test_threads_validating_at_once_each_get_their_own_answer():
    def check(i: int):
        body = Body(data={"name": f"n{i % 100}" if i % 2 else "much too long"})
        return i, body.is_valid(), dict(body.validated_data) if i % 2 else dict(body.errors)

    with ThreadPoolExecutor(8) as pool:
        for i, valid, answer in pool.map(check, range(400)):
            assert valid == bool(i % 2)
            assert answer == {"name": f"n{i % 100}", "kind": "a"} if valid else "name" in answer


def test_the_finish_body_validates_as_before():
    body = CompleteServiceInputSerializer(
        data={"outcome": "bogus", "checked_points": ["a b"], "follow_up_on": "x"}
    )
    assert not body.is_valid()
    assert set(body.errors) == {"outcome", "checked_points", "follow_up_on"}
    body = CompleteServiceInputSerializer(data={"outcome": "completed", "checked_points": ["x"]})
    assert body.is_valid(), body.errors
    assert body.validated_data["checked_points"] == ["x"]
    assert body.validated_data["identity_verified"] is False


def test_a_nested_serializer_is_refused():
    class Inner(serializers.Serializer):
        value = serializers.IntegerField()

    class Nested(FlatInputSerializer):
        inner = Inner()

    with pytest.raises(TypeError, match="not flat"):
        Nested(data={}).fields  # noqa: B018
