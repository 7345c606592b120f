"""remove.bg's JSON shapes for ``/v1.0``: the cut-out, the account, and the error list."""

from __future__ import annotations

import msgspec

from domain.cutouts import CutoutResult


class ForegroundResult(msgspec.Struct):
    result_b64: str
    foreground_top: int | None
    foreground_left: int | None
    foreground_width: int | None
    foreground_height: int | None


class CutoutAnswer(msgspec.Struct):
    data: ForegroundResult

    @classmethod
    def of(cls, result: CutoutResult, result_b64: str) -> CutoutAnswer:
        box = result.image.foreground
        if box is None:
            return cls(ForegroundResult(result_b64, None, None, None, None))
        return cls(ForegroundResult(result_b64, box.top, box.left, box.width, box.height))


class Credits(msgspec.Struct):
    total: int
    subscription: int
    payg: int
    enterprise: int


class ApiCalls(msgspec.Struct):
    free_calls: int
    sizes: str = "all"


class AccountAttributes(msgspec.Struct):
    credits: Credits
    api: ApiCalls


class AccountData(msgspec.Struct):
    attributes: AccountAttributes


class AccountAnswer(msgspec.Struct):
    data: AccountData

    @classmethod
    def of(cls, balance: int, free_calls: int) -> AccountAnswer:
        """All of Cutout's credits count as pay-as-you-go; there are no subscriptions."""
        credits = Credits(total=balance, subscription=0, payg=balance, enterprise=0)
        return cls(AccountData(AccountAttributes(credits, ApiCalls(free_calls))))


class Problem(msgspec.Struct):
    title: str
    code: str
    detail: str


class ErrorList(msgspec.Struct):
    errors: list[Problem]
