"""The two base classes of every wire model: lenient for answers, strict for requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ResponseModel(BaseModel):
    """A body the API sent: unknown fields are kept, so a newer server does not break the SDK."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, use_attribute_docstrings=True)


class RequestModel(BaseModel):
    """A body the SDK sends: unknown fields are refused here, as the API would refuse them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


class CamelResponseModel(ResponseModel):
    """A v3 body: camelCase on the wire, snake_case attributes in Python."""

    model_config = ConfigDict(alias_generator=to_camel)
