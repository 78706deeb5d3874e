"""``GET /receipts/verify``: a receipt's HMAC checked with the issuing counter's key."""

from __future__ import annotations

from counter_app.domain.card_lifecycle import SocialStatus
from counter_app.domain.receipt_code import qr_text, verification_code
from tests.central.helpers import HR, Api, assert_problem, counter_key


def verify(api: Api, code: str) -> dict[str, object]:
    response = api.client.get("/receipts/verify", params={"code": code})
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_a_receipt_of_a_recorded_transaction(api: Api) -> None:
    person = api.person()
    card_id = api.card(person["id"], SocialStatus.ACTIVE)
    number = api.ok("pin_change", {"card": {"card_id": card_id}})["acceptance_number"]
    key = counter_key(api, HR[1], HR[2])
    result = verify(api, qr_text(key, number))
    assert result["valid"] is True and result["recorded"] is True
    assert result["item_label"] == "密码修改" and result["outlet_code"] == HR[1]
    assert verify(api, qr_text(key, number).lower())["valid"] is True


def test_a_genuine_receipt_not_yet_uploaded(api: Api) -> None:
    number = api.acceptance_number(HR)
    result = verify(api, qr_text(counter_key(api, HR[1], HR[2]), number))
    assert result["valid"] is True and result["recorded"] is False and "待上传" in str(result["reason"])


def test_forged_or_foreign_receipts_are_not_valid(api: Api) -> None:
    number = api.acceptance_number(HR)
    other_key = counter_key(api, HR[1], "02")
    forged = verify(api, f"{number}.{verification_code(other_key, number)}")
    assert forged["valid"] is False and "校验码不符" in str(forged["reason"])
    unknown = verify(api, qr_text(bytes(32), "999999999-01-20261127-0001"))
    assert unknown["valid"] is False and "未在中心登记" in str(unknown["reason"])


def test_malformed_codes_are_422(api: Api) -> None:
    for code in ("", "511102001-01-20261127-0001", "abc.def"):
        response = api.client.get("/receipts/verify", params={"code": code})
        assert_problem(response, 422, "invalid/receipt_code")
