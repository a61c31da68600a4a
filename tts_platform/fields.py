"""Strict serializer fields: in JSON a number is not a string and a string is not a
number (docs/api.md "Conventions"). Form and multipart bodies carry only strings, so there
the usual conversion applies."""

from django.http import QueryDict
from rest_framework import serializers


def _from_form(field) -> bool:
    root = field.root
    return isinstance(getattr(root, "initial_data", None), QueryDict)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if not _from_form(self) and (
            isinstance(data, bool) or not isinstance(data, int)
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if not _from_form(self) and (
            isinstance(data, bool) or not isinstance(data, int | float)
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not _from_form(self) and not isinstance(data, bool):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)
