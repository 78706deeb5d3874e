"""``/auth``: operator sign-in at an enrolled counter, who am I, sign-out (工号登录).

Sign-in needs the counter's credential (``X-Counter-Key``; ``admin`` may sign in without one for the
back office) and answers a short-lived token bound to that counter. These requests change only the
session table and are not taken under ``Idempotency-Key`` (a repeated sign-in gives a new token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from central.api.deps import AccessDep, CounterKeyDep
from central.api.problem_docs import LOOKUP_ERRORS, SIGN_IN_ERRORS
from central.schemas import MeOut, SignInIn, SignInOut
from central.services.auth import Authenticator, sha256_hex

router = APIRouter(prefix="/auth", tags=["登录"])


@router.post("/sign-in", response_model=SignInOut, summary="工号登录", responses=SIGN_IN_ERRORS)
def sign_in(body: SignInIn, request: Request, counter_key: CounterKeyDep) -> dict[str, Any]:
    """Check the counter, the limits (per address and counter) and the password; a token for this counter."""
    auth: Authenticator = request.app.state.auth
    client = request.client.host if request.client is not None else "unknown"
    return auth.sign_in(
        counter_key=counter_key, client=client, operator_number=body.operator_number, password=body.password
    )


@router.get("/me", response_model=MeOut, summary="当前登录工号", responses=LOOKUP_ERRORS)
def me(access: AccessDep) -> dict[str, Any]:
    principal = access.require(counter=False)
    return {
        "operator_number": principal.operator_number,
        "role": principal.role.value,
        "outlet_code": principal.outlet_code,
        "counter_number": principal.counter_number,
        "expires_at": principal.expires_at,
    }


@router.post("/sign-out", status_code=204, summary="退出登录（令牌作废）", responses=LOOKUP_ERRORS)
def sign_out(access: AccessDep) -> Response:
    principal = access.require(counter=False)
    token = (access.authorization or "").partition(" ")[2].strip()
    access.authenticator.sign_out(principal, sha256_hex(token))
    return Response(status_code=204)
