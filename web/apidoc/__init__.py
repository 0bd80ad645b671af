"""OpenAPI parts of feature areas, merged by web.openapi.openapi_document (listed in PART_MODULES there).

A part module imports the schema helpers of web.openapi (_op, _ok, _errors, _ref, _object, _body, _param, _p,
_json, _list_of, _nullable) and defines PATHS, and optionally SCHEMAS, PARAMETERS and TAGS."""
