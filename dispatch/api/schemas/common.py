"""Shared schema building blocks."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate


NOT_BLANK = validate.Regexp(r"[\s\S]*\S", error="must not be blank")
"""Some text besides white space (an ECMA-262 pattern, as the OpenAPI document requires)."""


class FastDumpSchema(Schema):
    """A schema that dumps objects with marshmallow's own rules and fields, minus its layers of
    lookup: a field that reads a plain attribute (no dotted path, no custom ``get_value`` or
    ``serialize``) reads it with one ``getattr``, through a plan built once per schema instance.
    Objects that are mappings (or anything with ``__getitem__``), and every other field, go
    marshmallow's way. Issue 18: on a page of 100 jobs the lookups were half of the dump."""

    def _dump_plan(self) -> list[tuple[str, str, Any, str | None]]:
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = []
            for name, field in self.dump_fields.items():
                attribute = field.attribute if field.attribute is not None else name
                plain = (field._CHECK_ATTRIBUTE and "." not in attribute
                         and type(field).get_value is fields.Field.get_value
                         and type(field).serialize is fields.Field.serialize)
                plan.append((field.data_key if field.data_key is not None else name, name, field,
                             attribute if plain else None))
            self.__dict__["_plan"] = plan
        return plan

    def _serialize(self, obj: Any, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if hasattr(obj, "__getitem__") or type(self).get_attribute is not Schema.get_attribute:
            return super()._serialize(obj)
        out = self.dict_class()
        for key, name, field, attribute in self._dump_plan():
            if attribute is None:
                value = field.serialize(name, obj, accessor=self.get_attribute)
            else:
                value = getattr(obj, attribute, missing)
                if value is missing:
                    default = field.dump_default
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                value = field._serialize(value, name, obj)
            if value is not missing:
                out[key] = value
        return out


class LocationSchema(FastDumpSchema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class PointFilterSchema(Schema):
    service_point_id = fields.UUID()


class Quantity(fields.Integer):
    """How many parts: a JSON integer and nothing else. ``1.5`` is not silently cut to 1, and
    ``"1"``, ``true`` and ``1.0`` are refused (422) like any other non-integer: every field
    that takes a count of parts or stock is this one."""

    default_error_messages = {"invalid": "Not a whole number: give a JSON integer, e.g. 2."}

    def __init__(self, *, minimum: int = 1, maximum: int, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool):  # bool is an int to Python, not a count to anyone
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class EnumValue(fields.Enum):
    """An enum dumped by value from a column that stores the plain value (a JSON list of strings,
    say): documented as the enum's named component like any other :class:`fields.Enum`."""

    def __init__(self, enum, **kwargs) -> None:
        super().__init__(enum, by_value=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(self.enum(value), attr, obj, **kwargs)


class TaggedUnion(fields.Field):
    """One of several object shapes told apart by a tag property (``kind``, ``type``...).

    Documented as an OpenAPI ``oneOf`` with a ``discriminator`` (see
    :func:`dispatch.api.tagged_unions`). Loading checks the tag and hands the object to
    :meth:`load_variant`; by default an invalid variant fails the request like any field, a
    subclass may instead keep the errors with the item (a sync batch rejects one mutation, not
    the batch).
    """

    def __init__(self, tag: str, variants: dict[str, type[Schema]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tag, self.variants = tag, dict(variants)
        self._schemas: dict[str, Schema] = {}  # one instance per variant, built on first use

    def schema(self, tag: str) -> Schema:
        """The variant's schema, built once (building costs more than loading one object)."""
        schema = self._schemas.get(tag)
        if schema is None:
            schema = self._schemas[tag] = self.variants[tag]()
        return schema

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object")
        tag = value.get(self.tag)
        if tag not in self.variants:
            raise ValidationError({self.tag: [f"must be one of: {', '.join(self.variants)}"]})
        return self.load_variant(tag, value)

    def load_variant(self, tag: str, value: dict[str, Any]) -> Any:
        return self.schema(tag).load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return self.schema(value[self.tag]).dump(value)
