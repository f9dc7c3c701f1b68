"""SOP templates and their versions: what an admin sends, what everyone reads."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from dispatch.network.enums import JobType, ProductCategory
from dispatch.sop.enums import VersionStatus
from dispatch.sop.rules import OutOfRange, StepKind

_KEY = validate.Regexp(r"^[a-z][a-z0-9_]{0,63}$", error="lowercase letters, digits and _ (start with a letter)")


class StepInputSchema(Schema):
    key = fields.String(required=True, validate=_KEY,
                        metadata={"description": "stable across versions; results and audit findings refer to it"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    instructions = fields.String(load_default="", validate=validate.Length(max=4000))
    kind = fields.Enum(StepKind, by_value=True, required=True)
    required = fields.Boolean(load_default=True)
    out_of_range = fields.Enum(OutOfRange, by_value=True, load_default=OutOfRange.BLOCK, metadata={
        "description": "block: an out-of-range value fails the step and holds up completion; flag: it is only "
                       "flagged for review"})
    after = fields.List(fields.String(validate=_KEY), load_default=None, allow_none=True, metadata={
        "description": "earlier steps this one needs; omitted/null = every earlier required step (in order); "
                       "[] = any time"})
    unit = fields.String(validate=validate.Length(min=1, max=16), metadata={"description": "number steps"})
    min = fields.Float(metadata={"description": "number steps: lowest value in range"})
    max = fields.Float(metadata={"description": "number steps: highest value in range"})
    decimals = fields.Integer(metadata={"description": "number steps: most decimal places accepted"})
    options = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=50),
                          metadata={"description": "choice steps"})
    min_count = fields.Integer(metadata={"description": "fewest attachments (photo default 1, signature 1)"})
    max_count = fields.Integer(metadata={"description": "most attachments (photo default 10, signature 1, else 5)"})
    lt_step = fields.String(validate=_KEY, metadata={"description": "number steps: must be lower than this earlier "
                                                                    "number step (else out of range)"})
    gt_step = fields.String(validate=_KEY, metadata={"description": "number steps: must be higher than this earlier "
                                                                    "number step (else out of range)"})


class StepSchema(Schema):
    position = fields.Integer()
    key = fields.String()
    title = fields.String()
    instructions = fields.String()
    kind = fields.Enum(StepKind, by_value=True)
    required = fields.Boolean()
    out_of_range = fields.Enum(OutOfRange, by_value=True)
    after = fields.List(fields.String(), allow_none=True)
    unit = fields.String(attribute="params.unit")
    min = fields.Float(attribute="params.min")
    max = fields.Float(attribute="params.max")
    decimals = fields.Integer(attribute="params.decimals")
    options = fields.List(fields.String(), attribute="params.options")
    min_count = fields.Integer(attribute="params.min_count")
    max_count = fields.Integer(attribute="params.max_count")
    lt_step = fields.String(attribute="params.lt_step")
    gt_step = fields.String(attribute="params.gt_step")


class TemplateCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9][A-Z0-9-]{1,63}$",
                                                                 error="uppercase letters, digits and -"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    job_type = fields.Enum(JobType, by_value=True, required=True)
    category = fields.Enum(ProductCategory, by_value=True, required=True)
    product_sku = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "only for this model (beats a template for the category)"})
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    steps = fields.List(fields.Nested(StepInputSchema), load_default=list, validate=validate.Length(max=100))


class TemplateSchema(Schema):
    id = fields.UUID()
    code = fields.String()
    title = fields.String()
    job_type = fields.Enum(JobType, by_value=True)
    category = fields.Enum(ProductCategory, by_value=True)
    product_sku = fields.String(attribute="product.sku", allow_none=True)
    published_version = fields.Integer(allow_none=True, metadata={"description": "the version in force"})
    draft_version = fields.Integer(allow_none=True, metadata={"description": "the draft being edited (HQ)"})
    created_at = fields.DateTime()


class TemplateFilterSchema(Schema):
    job_type = fields.Enum(JobType, by_value=True)
    category = fields.Enum(ProductCategory, by_value=True)


class VersionEditSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    steps = fields.List(fields.Nested(StepInputSchema), required=True, validate=validate.Length(max=100))


class VersionSummarySchema(Schema):
    id = fields.UUID()
    number = fields.Integer()
    status = fields.Enum(VersionStatus, by_value=True)
    title = fields.String()
    published_at = fields.DateTime(allow_none=True)
    published_by = fields.UUID(allow_none=True)
    content_sha256 = fields.String(allow_none=True, metadata={"description": "hash of the content as published"})
    created_at = fields.DateTime()


class VersionSchema(VersionSummarySchema):
    template_id = fields.UUID()
    template_code = fields.String(attribute="template.code")
    description = fields.String()
    steps = fields.List(fields.Nested(StepSchema))


class ApplicableQuerySchema(Schema):
    job_type = fields.Enum(JobType, by_value=True, required=True)
    product_sku = fields.String(required=True, validate=validate.Length(min=1, max=64))
