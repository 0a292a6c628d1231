"""How ``/openapi.json`` describes the embedded storage's S3 endpoints.

They speak S3, not our JSON API: a form or a pre-signed query string in, bytes or S3's XML
out, so their operations are written out here rather than derived from models.
"""

from __future__ import annotations

from typing import Any

_XML_ERROR: dict[str, Any] = {
    "description": "S3's error document: `<Error><Code>…</Code><Message>…</Message>…</Error>`",
    "content": {"application/xml": {"schema": {"type": "string"}}},
}
# Declared on the route too: FastAPI then documents no 422 (these endpoints never answer one).
XML_ERRORS: dict[int | str, dict[str, Any]] = {"4XX": _XML_ERROR, "5XX": _XML_ERROR}
_PRESIGNED_QUERY = [
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Credential", "`<access key>/<date>/<region>/s3/aws4_request`"),
    ("X-Amz-Date", "`YYYYMMDDTHHMMSSZ`"),
    ("X-Amz-Expires", "Seconds the URL is valid, 1..604800"),
    ("X-Amz-SignedHeaders", "`host`"),
    ("X-Amz-Signature", "Hex HMAC-SHA256 signature"),
]

POST_OBJECT: dict[str, Any] = {
    "description": (
        "S3 POST Object with an AWS Signature V4 POST policy, as the Files API's create "
        "answers it (`uploadUrl` and `fields`): every entry of `fields`, then `file`."
    ),
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["key", "Policy", "X-Amz-Signature", "file"],
                    "properties": {
                        "key": {"type": "string"},
                        "Content-Type": {"type": "string"},
                        "Policy": {"type": "string"},
                        "X-Amz-Algorithm": {"type": "string"},
                        "X-Amz-Credential": {"type": "string"},
                        "X-Amz-Date": {"type": "string"},
                        "X-Amz-Signature": {"type": "string"},
                        "success_action_status": {"type": "string", "enum": ["200", "201", "204"]},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    },
    "responses": {
        "204": {"description": "Stored (the default `success_action_status`)"},
        "200": {"description": "Stored (`success_action_status=200`)"},
        "201": {
            "description": "Stored (`success_action_status=201`): S3's `<PostResponse>`",
            "content": {"application/xml": {"schema": {"type": "string"}}},
        },
        "4XX": _XML_ERROR,
        "5XX": _XML_ERROR,
    },
}

GET_OBJECT: dict[str, Any] = {
    "description": "A file's bytes, for the holder of a pre-signed URL (SigV4 query string).",
    "parameters": [
        {
            "name": name,
            "in": "query",
            "required": True,
            "description": description,
            "schema": {"type": "string"},
        }
        for name, description in _PRESIGNED_QUERY
    ]
    + [
        {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
        {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    "responses": {
        "200": {
            "description": "The whole file",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        "206": {
            "description": "The requested range",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        "304": {"description": "Not modified (`If-None-Match`)"},
        "4XX": _XML_ERROR,
        "5XX": _XML_ERROR,
    },
}
