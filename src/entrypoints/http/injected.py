"""``Injected[T]``: a handler parameter the app provides by its name, trusted as it is.

The providers hand out objects the app built (use cases, settings, adapters), so Litestar need not
convert them: its validation would parse a dataclass's annotations (some only imported for type
checkers) or call ``isinstance`` on a plain Protocol, and fail with a 500 either way."""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import SkipValidation

T = TypeVar("T")
Injected: TypeAlias = NamedDependency[SkipValidation[T]]
