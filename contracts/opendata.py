"""Payloads of the open data portal (Art. 1, fourth application): publishers, datasets under a
licence, resources whose every upload is a version, and the records anyone may query."""

from marshmallow import ValidationError, fields, validate, validates_schema

from contracts.fields import Base64Bytes
from contracts.identity import StrictSchema

PUBLISHER_KINDS = ("commune", "ccas", "metropole")

# Licences homologated for public data (D323-2-1 CRPA), and the commune's own one, approved
# by a délibération of its council (Art. 2 of the agreement).
LICENCE_OUVERTE = "lo-2.0"
ODBL = "odbl-1.0"
COMMUNE_LICENCE = "commune"
LICENCES = {
    LICENCE_OUVERTE: {"title": "Licence Ouverte / Open Licence version 2.0",
                      "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"},
    ODBL: {"title": "Open Database License (ODbL) v1.0",
           "url": "https://opendatacommons.org/licenses/odbl/1-0/"},
}

# The EU's data-theme vocabulary, which DCAT-AP requires for dcat:theme.
THEMES = ("AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST", "OP_DATPRO",
          "REGI", "SOCI", "TECH", "TRAN")

# How often a dataset is to be brought up to date (DCAT's accrualPeriodicity).
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "semiannual", "annual", "irregular",
               "unknown")

MEDIA_TYPES = {"csv": "text/csv", "json": "application/json",
               "geojson": "application/geo+json"}

DRAFT = "draft"
PUBLISHED = "published"

MAX_PAGE = 1000


class LicenceSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.OneOf((*LICENCES, COMMUNE_LICENCE)),
                         metadata={"example": LICENCE_OUVERTE})
    title = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "the commune's own licence: its name"})
    # null where there is none: a commune's licence without a page, a homologated one's
    # délibération (what a dataset's licence says of itself).
    url = fields.Url(allow_none=True, validate=validate.Length(max=500))
    deliberation = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=200),
        metadata={"description": "the commune's own licence: the reference of the council "
                                 "délibération that approved it",
                  "example": "DEL-2024-031 du 14 mars 2024"})

    @validates_schema
    def _commune_licence_is_approved(self, licence, **_):
        if licence.get("code") != COMMUNE_LICENCE:
            return
        missing = {name: ["The commune's own licence needs its " + what + "."]
                   for name, what in (("title", "name"),
                                      ("deliberation", "council délibération"))
                   if not licence.get(name)}
        if missing:
            raise ValidationError(missing)


class ContactSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"example": "Service communication"})
    email = fields.Email(required=True, metadata={"example": "opendata@laverune.fr"})


TITLE = validate.Length(min=3, max=200)
DESCRIPTION = validate.Length(min=1, max=10000)
KEYWORD = validate.Length(min=1, max=50)
KEYWORDS = validate.Length(max=20)
SPATIAL = validate.Length(max=200)


class _CoverageIsAPeriod:
    @validates_schema
    def _coverage_is_a_period(self, dataset, **_):
        start, end = dataset.get("temporal_start"), dataset.get("temporal_end")
        if start and end and end < start:
            raise ValidationError({"temporal_end": ["The coverage ends before it starts."]})


class NewDatasetSchema(_CoverageIsAPeriod, StrictSchema):
    publisher = fields.String(load_default="commune", validate=validate.OneOf(("commune", "ccas")),
                              metadata={"description": "the commune itself or its CCAS"})
    title = fields.String(required=True, validate=TITLE)
    description = fields.String(required=True, validate=DESCRIPTION)
    keywords = fields.List(fields.String(validate=KEYWORD), load_default=list,
                           validate=KEYWORDS)
    theme = fields.String(required=True, validate=validate.OneOf(THEMES),
                          metadata={"description": "EU data theme", "example": "GOVE"})
    licence = fields.Nested(LicenceSchema, allow_none=True, load_default=None,
                            metadata={"description": "required to publish"})
    frequency = fields.String(required=True, validate=validate.OneOf(FREQUENCIES),
                              metadata={"example": "monthly"})
    temporal_start = fields.Date(allow_none=True, load_default=None)
    temporal_end = fields.Date(allow_none=True, load_default=None)
    spatial = fields.String(allow_none=True, load_default=None, validate=SPATIAL,
                            metadata={"description": "the area covered; the publisher's "
                                                     "commune when left out"})
    contact = fields.Nested(ContactSchema, required=True)


class DatasetChangesSchema(_CoverageIsAPeriod, StrictSchema):
    """A change of a dataset's description: only the fields sent change (the coverage's
    two ends are checked against each other once merged with the dataset's)."""

    title = fields.String(validate=TITLE)
    description = fields.String(validate=DESCRIPTION)
    keywords = fields.List(fields.String(validate=KEYWORD), validate=KEYWORDS)
    theme = fields.String(validate=validate.OneOf(THEMES))
    licence = fields.Nested(LicenceSchema, allow_none=True)
    frequency = fields.String(validate=validate.OneOf(FREQUENCIES))
    temporal_start = fields.Date(allow_none=True)
    temporal_end = fields.Date(allow_none=True)
    spatial = fields.String(allow_none=True, validate=SPATIAL)
    contact = fields.Nested(ContactSchema)


class TableSchemaChoiceSchema(StrictSchema):
    """A published schema by name, or a Table Schema descriptor
    (https://specs.frictionlessdata.io/table-schema/)."""

    name = fields.String(metadata={"example": "scdl/deliberations"})
    descriptor = fields.Dict()

    # ``_one_of_the_two``, as the OpenAPI document states it.
    openapi_rules = {"oneOf": [{"required": ["name"]}, {"required": ["descriptor"]}]}

    @validates_schema
    def _one_of_the_two(self, choice, **_):
        if ("name" in choice) == ("descriptor" in choice):
            raise ValidationError("Give a schema's name or its descriptor, not both.",
                                  "name")


class NewResourceSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, load_default=None,
                                validate=validate.Length(max=5000))
    format = fields.String(required=True, validate=validate.OneOf(tuple(MEDIA_TYPES)))
    table_schema = fields.Nested(TableSchemaChoiceSchema, allow_none=True, load_default=None,
                                 metadata={"description": "every row of every upload is "
                                                          "checked against it"})


class UploadSchema(StrictSchema):
    file_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = Base64Bytes(required=True, load_only=True,
                          metadata={"description": "the file, base64; any encoding and "
                                                   "delimiter, stored as UTF-8"})


class VersionSchema(StrictSchema):
    number = fields.Integer(required=True)
    file_name = fields.String(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the stored UTF-8 file"})
    byte_size = fields.Integer(required=True)
    row_count = fields.Integer(required=True)
    encoding = fields.String(required=True, allow_none=True,
                             metadata={"description": "as uploaded"})
    delimiter = fields.String(required=True, allow_none=True)
    uploaded_at = fields.AwareDateTime(required=True)


class ResourceSchema(StrictSchema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    format = fields.String(required=True)
    media_type = fields.String(required=True)
    schema_name = fields.String(required=True, allow_none=True)
    table_schema = fields.Dict(required=True, allow_none=True,
                               metadata={"description": "declared, or inferred from the "
                                                        "current version"})
    current_version = fields.Nested(VersionSchema, required=True, allow_none=True)
    versions = fields.List(fields.Nested(VersionSchema), required=True)


class PublisherRefSchema(StrictSchema):
    id = fields.String(required=True, metadata={"example": "commune-34134"})
    kind = fields.String(required=True, validate=validate.OneOf(PUBLISHER_KINDS))
    name = fields.String(required=True)


class DatasetSchema(StrictSchema):
    id = fields.UUID(required=True)
    publisher = fields.Nested(PublisherRefSchema, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    keywords = fields.List(fields.String(), required=True)
    theme = fields.String(required=True)
    licence = fields.Nested(LicenceSchema, required=True, allow_none=True)
    frequency = fields.String(required=True)
    temporal_start = fields.Date(required=True, allow_none=True)
    temporal_end = fields.Date(required=True, allow_none=True)
    spatial = fields.String(required=True, allow_none=True)
    contact = fields.Nested(ContactSchema, required=True)
    state = fields.String(required=True, validate=validate.OneOf((DRAFT, PUBLISHED)))
    maintained_by = fields.String(required=True, allow_none=True,
                                  metadata={"description": "set when the platform keeps it "
                                                           "up to date itself (decp)"})
    created_at = fields.AwareDateTime(required=True)
    published_at = fields.AwareDateTime(required=True, allow_none=True)
    updated_at = fields.AwareDateTime(required=True, allow_none=True,
                                      metadata={"description": "its latest upload"})
    update_due_on = fields.Date(required=True, allow_none=True,
                                metadata={"description": "by its update frequency"})
    overdue = fields.Boolean(required=True)
    resources = fields.List(fields.Nested(ResourceSchema), required=True)


class PublisherSummarySchema(PublisherRefSchema):
    """A publisher as the portal lists them, without its datasets."""

    insee = fields.String(required=True, allow_none=True)
    siren = fields.String(required=True, allow_none=True)
    dataset_count = fields.Integer(required=True, metadata={"description": "published"})


class PublisherSchema(PublisherSummarySchema):
    datasets = fields.List(fields.Nested(DatasetSchema), required=True)


class DatasetSearchSchema(StrictSchema):
    q = fields.String(validate=validate.Length(min=1, max=200),
                      metadata={"description": "words of the title, description or keywords"})
    theme = fields.String(validate=validate.OneOf(THEMES))
    publisher = fields.String(validate=validate.Length(min=1, max=40))
    licence = fields.String(validate=validate.OneOf((*LICENCES, COMMUNE_LICENCE)))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class DatasetPageSchema(StrictSchema):
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Nested(DatasetSchema), required=True)


FILTER_SYNTAX = ("field=value, field!=value, field<value, field<=value, field>value, "
                 "field>=value, or field~text (contains, ignoring case)")


class ExportQuerySchema(StrictSchema):
    filter = fields.List(fields.String(validate=validate.Length(min=2, max=500)),
                         load_default=list,
                         metadata={"description": "repeatable: " + FILTER_SYNTAX,
                                   "example": "montant>=1000"})
    sort = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "a field, '-' before it for descending",
                                   "example": "-montant"})
    fields_ = fields.String(data_key="fields", attribute="fields",
                            validate=validate.Length(min=1, max=2000),
                            metadata={"description": "the fields to return, comma-separated"})


class RecordsQuerySchema(ExportQuerySchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))
    cursor = fields.String(validate=validate.Length(min=1, max=2000),
                           metadata={"description": "next_cursor of the previous page"})


class RecordPageSchema(StrictSchema):
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields",
                          required=True)
    total_count = fields.Integer(required=True)
    results = fields.List(fields.Dict(), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class OverdueDatasetSchema(StrictSchema):
    id = fields.UUID(required=True)
    publisher = fields.String(required=True)
    title = fields.String(required=True)
    frequency = fields.String(required=True)
    updated_at = fields.AwareDateTime(required=True, allow_none=True)
    update_due_on = fields.Date(required=True)
