"""A route's OpenAPI description from its use case's docstring, so its rules are written once."""

from __future__ import annotations

import inspect


def rules_of(use_case: type, http: str = "") -> str:
    """What the route adds over HTTP (``http``, if anything), then the business rules its use case states."""
    rules = inspect.getdoc(use_case) or ""
    return f"{http}\n\n{rules}" if http else rules
