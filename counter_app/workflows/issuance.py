"""即时制卡 — instant issuance on a 预制卡, and 激活 with the holder's new PIN.

Instant issuance runs (申领 at a quick-issuance outlet, 补换卡 at the issuing bank's outlet, and the
HR window personalising a 预制卡 the citizen brought):

0. ``take_out_card`` (补换卡 with the old card read at the start): the clerk is told to take the old
   card out of the reader, and the step waits until the reader is empty (`card_moves`).
1. ``prefab``: the clerk is told to insert the blank 预制卡 into the same reader and the step waits for
   it; a card that is not blank (the old card put back by mistake) is asked out again; then its
   卡识别码 and 规范版本 are read; the name must fit the chip (DOMAIN §5: otherwise chip
   personalisation is refused, nothing else).
2. ``issue``: the server commands (``apply`` + ``instant_issue``, or ``replace`` with ``instant``, or
   ``instant_issue``), each with an idempotency key ``<flow id>:<command>[:<卡识别码>]``, the chip's
   卡识别码 reported with it; the answer holds the new 卡号 and dates. The server checks that the
   卡识别码 belongs to no other card, so one prefab is one card.
3. ``write_card``: `SocialSecurityCard.personalise_prefab` with a checkpoint callback that saves the
   `PendingWrite` into the flow's checkpoint before and after every UPDATE; an UNCERTAIN end (card
   pulled, power lost) or a crash resumes with `resolve_uncertain` on the same card (another card
   is refused as 卡片不符), so a write is never lost, never done twice and never done on another card.
   With a wizard (a `CardWait` in the context) a pulled card is asked back ("请将同一张卡插回") and the
   write goes on when it is in the reader again, with no key pressed; another card is asked out.
4. ``activate_choice`` / ``set_pin`` / ``activate``: the holder sets the new PIN on the pad (the
   initial PIN may not stay) and the server activates the functions this outlet may activate.

Why the server is told before the chip is written: the 卡号 and dates to write come from the
server (the province assigns the 卡号 when the card is issued), and the server refuses a 卡识别码 it
already knows before anything is written. Either order needs a resumable write; this one needs no
"reserve" command and leaves nothing on a chip that the server does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counter_app.card import PendingWrite, PrefabData, ReadScope
from counter_app.card.errors import CardMismatch, PinIncorrect
from counter_app.card.records import has_name_extension
from counter_app.domain.errors import DomainError
from counter_app.domain.identity import chip_name_fit
from counter_app.domain.operators import may_activate_financial, may_activate_social
from counter_app.workflows import people, pins
from counter_app.workflows.base import (
    Choice,
    InputInvalid,
    Page,
    Problem,
    StepDef,
    StepFailed,
    StepKind,
    refusal,
)
from counter_app.workflows.card_moves import await_card, can_wait, card_present
from counter_app.workflows.common import ServiceFlow
from counter_app.workflows.people import Record, text
from counter_app.workflows.ports import TransportError

TAKE_OUT = "请从读卡器取出持卡人的原卡"
INSERT_PREFAB = "请将空白预制卡插入读卡器"
PUT_BACK = "写卡中断：请将同一张卡插回读卡器，系统将核对已写入的内容并补写"

ACTIVATE_NOW = Choice("now", "现在激活（持卡人在密码键盘设置新密码）")
ACTIVATE_LATER = Choice("later", "暂不激活（持卡人以后持卡办理激活）")


def check_name_fits(name: str, *, has_extension: bool = True) -> None:
    """Refuse chip personalisation for a name the chip cannot hold (生僻字 or too long)."""
    fit = chip_name_fit(name, has_extension=has_extension)
    if not fit.fits:
        raise refusal(
            "name_not_writable",
            fit.message + "，不能当场制卡。",
            "姓名在系统中照常保存；请改为普通申领（制卡完成后领卡），或联系社保卡管理中心处理芯片姓名。",
        )


class CardIssuing(ServiceFlow):
    """Steps of instant issuance and of activation, shared by 申领, 补换卡 and 激活."""

    # -- hooks ----------------------------------------------------------------------------

    def issue(self, prefab_card_id: str, spec_version: str) -> Record | None:
        """Send the server command(s) that issue the card on this prefab; the new card, or None
        when the flow gives up instant issuance (it then records what was done)."""
        raise NotImplementedError

    def issuing(self) -> bool:
        """Whether this flow issues a card on a prefab now (the variant decides)."""
        return False

    # -- data -----------------------------------------------------------------------------

    @property
    def new_card(self) -> Record | None:
        value = self.data.get("new_card")
        return value if isinstance(value, Mapping) else None

    def activation_card(self) -> Record | None:
        """The card activation acts on: the new card, else the card of the flow."""
        return self.new_card or self.card

    def form_card(self) -> Record | None:
        return self.new_card or self.card

    def ready_for_activation(self) -> bool:
        """The holder has the card in hand now (written on the spot, or handed over)."""
        return bool(self.data.get("written"))

    def prefab_data(self) -> PrefabData:
        """制卡数据: the new card's 卡号 and dates from the server, the holder's items from the person."""
        person, card = self.person or {}, self.new_card or {}
        ssn = text(person, "social_security_number") or text(person, "id_number")
        issued, expires = people.as_date(card.get("issued_on")), people.as_date(card.get("expires_on"))
        born = people.birth_date(person, self.ctx.today())
        if not text(card, "card_number") or issued is None or expires is None or born is None:
            raise StepFailed("issue_data_missing", "中心系统返回的制卡数据不完整", "请联系社保卡管理中心")
        birthplace = text(person, "birthplace") or ssn[:6]
        return PrefabData(
            card_number=text(card, "card_number"),
            issue_date=issued,
            expiry_date=expires,
            ssn=ssn,
            name=text(person, "name"),
            sex=text(person, "sex") or "9",
            ethnicity=text(person, "ethnicity") or "01",
            birthplace=birthplace,
            birth_date=born,
        )

    # -- 0. the old card out of the reader --------------------------------------------------

    def take_out_step(self) -> StepDef:
        """取出原卡: the holder's card read at the start leaves the reader before the 预制卡 goes in."""

        def page() -> Page:
            return self.page(
                "取出原卡",
                prompt="请从读卡器取出持卡人的原卡，随后将空白预制卡插入同一读卡器",
                progress=TAKE_OUT,
            )

        def handle(answer: Mapping[str, Any]) -> None:
            await_card(self, present=False, say=TAKE_OUT)

        return StepDef(
            "take_out_card",
            StepKind.PORT,
            page,
            handle,
            when=lambda: self.issuing() and self.card_read is not None and self.new_card is None,
        )

    # -- 1. the prefab ----------------------------------------------------------------------

    def prefab_prompt(self) -> str:
        """What the clerk puts in the reader now (the HR window: the 预制卡 the citizen brought)."""
        return INSERT_PREFAB

    def prefab_step(self) -> StepDef:
        def page() -> Page:
            return self.page("插入预制卡", prompt=self.prefab_prompt(), progress=self.prefab_prompt())

        def handle(answer: Mapping[str, Any]) -> None:
            await_card(self, present=True, say=self.prefab_prompt())
            while True:
                try:
                    with self.device("读取预制卡"):
                        info = self.ctx.card().read_basic_info(ReadScope.BASIC)
                except TransportError:
                    if not can_wait(self) or card_present(self):
                        raise
                    await_card(self, present=True, say=self.prefab_prompt())
                    continue
                if info.is_blank:
                    break
                old = self.card_read or {}
                if info.card_number and info.card_number == old.get("card_number"):
                    what = f"持卡人的原卡（卡号 {info.card_number}）"
                else:
                    what = f"一张已制成的卡（卡号 {info.card_number or '未知'}）"
                await_card(self, present=False, say=f"读卡器中是{what}，不是空白预制卡：请取出此卡")
                await_card(self, present=True, say=self.prefab_prompt())
            check_name_fits(text(self.person, "name"), has_extension=has_name_extension(info.spec_version))
            self.data["prefab"] = {"card_id": info.card_id, "spec_version": info.spec_version}
            self.tell("已读取预制卡，正在向社保卡中心申请制卡数据……")

        return StepDef("prefab", StepKind.PORT, page, handle, when=self.issuing)

    # -- 2. the server ------------------------------------------------------------------------

    def issue_step(self) -> StepDef:
        def page() -> Page:
            return self.page("即时制卡", progress="正在向社保卡中心申请制卡数据……")

        def handle(answer: Mapping[str, Any]) -> None:
            prefab = self.data["prefab"]
            card = self.issue(str(prefab["card_id"]), str(prefab["spec_version"]))
            if card is not None:
                self.data["new_card"] = dict(card)

        return StepDef("issue", StepKind.PORT, page, handle, when=self.issuing)

    # -- 3. the chip ---------------------------------------------------------------------------

    def write_step(self) -> StepDef:
        def page() -> Page:
            pending = self.data.get("pending_write")
            prompt = "写卡未完成：请将同一张卡插回读卡器，系统将核对并补写" if pending else "请勿取出卡片"
            return self.page("写卡", prompt=prompt, progress="正在写入芯片并逐项读回核对……")

        def handle(answer: Mapping[str, Any]) -> None:
            while True:  # a pulled card is waited for (with a wizard); other faults are shown
                try:
                    self._write()
                    return
                except TransportError:
                    if not can_wait(self) or card_present(self):
                        raise  # a reader fault with the card in place: shown, Enter retries
                    await_card(self, present=True, say=PUT_BACK)
                except StepFailed as failed:
                    if not can_wait(self):
                        raise
                    if isinstance(failed.__cause__, CardMismatch):
                        await_card(self, present=False, say=f"{failed.message}：请取出此卡")
                    elif failed.code != "write_uncertain" or card_present(self):
                        raise
                    await_card(self, present=True, say=PUT_BACK)

        return StepDef("write_card", StepKind.PORT, page, handle, when=lambda: self.new_card is not None)

    def _write(self) -> None:
        def checkpoint(pending: PendingWrite) -> None:
            self.data["pending_write"] = pending.to_dict()
            self.save()

        card = self.ctx.card()
        raw = self.data.get("pending_write")
        with self.device("写卡"):
            if raw is None:
                data = self.prefab_data()
                outcome = card.personalise_prefab(
                    str(self.data["prefab"]["card_id"]), data, checkpoint=checkpoint
                )
            else:
                outcome = card.resolve_uncertain(PendingWrite.from_dict(raw), checkpoint=checkpoint)
        if not outcome.confirmed:
            raise StepFailed(
                "write_uncertain", outcome.message, "请将同一张卡插回读卡器后重试，系统将核对并补写"
            )
        self.data["pending_write"] = None
        self.data["written"] = True
        self.note("写卡完成，已读回核对一致。")

    # -- 4. activation ----------------------------------------------------------------------------

    def activation_functions(self) -> list[str]:
        """社保功能 where this outlet may activate it; 金融功能 at the card's own bank's outlet."""
        card = self.activation_card() or {}
        functions = []
        if may_activate_social(self.ctx.outlet):
            functions.append("social")
        if may_activate_financial(self.ctx.outlet, text(card, "bank") or None):
            functions.append("financial")
        return functions

    def activation_choice_step(self) -> StepDef:
        def page() -> Page:
            names = {"social": "社保功能", "financial": "金融功能"}
            which = "、".join(names[f] for f in self.activation_functions())
            return self.page(
                "激活", prompt=f"卡片已制成。是否现在激活{which}？", options=(ACTIVATE_NOW, ACTIVATE_LATER)
            )

        def handle(answer: Mapping[str, Any]) -> None:
            choice = answer.get("choice")
            if choice not in (ACTIVATE_NOW.value, ACTIVATE_LATER.value):
                raise InputInvalid("choice_required", "请选择现在激活或暂不激活")
            self.data["activate_now"] = choice == ACTIVATE_NOW.value
            if not self.data["activate_now"]:
                self.note("卡片未激活：请告知持卡人持卡和身份证件办理激活。")

        return StepDef(
            "activate_choice",
            StepKind.CONFIRM,
            page,
            handle,
            when=lambda: self.ready_for_activation() and bool(self.activation_functions()),
        )

    def set_pin_step(self, *, when: Any = None) -> StepDef:
        """The holder's new PIN replaces the initial one; safe to re-run after a crash or a pull."""

        def page() -> Page:
            if self.data.get("pin_state") == "started":
                prompt = "上次设置密码时中断：请持卡人在密码键盘输入刚才设置的新密码以核对"
            elif self.data.get("pin_state") == "own":
                prompt = "此卡密码已由持卡人自行设置：请持卡人在密码键盘输入自己的密码以核对（核对通过后保留此密码）"
            else:
                prompt = "请持卡人在密码键盘输入新密码两次（不能使用初始密码）"
            return self.page("设置密码", prompt=prompt, progress="等待持卡人在密码键盘输入……")

        def mark(state: str | None) -> None:
            self.data["pin_state"] = state
            self.save()

        def handle(answer: Mapping[str, Any]) -> None:
            if self.data.get("pin_state") in ("set", "kept"):
                return  # set (or the holder's own PIN checked) before a crash: done
            card = self.ctx.card()
            if self.data.get("pin_state") == "own":
                with self.device("核对持卡人密码"):
                    pins.verify(self.ctx, card)
                mark("kept")
                self.note("此卡密码已非初始密码，持卡人核对自设密码后保留。")
                return
            if self.data.get("pin_state") == "started":
                try:
                    with self.device("核对新密码"):
                        pins.verify(self.ctx, card)
                except StepFailed as failed:
                    if isinstance(failed.__cause__, PinIncorrect):
                        mark(None)  # the new PIN is not on the card: set it again
                        raise StepFailed(
                            "pin_set_again", "核对不符，新密码未设置成功", "请持卡人重新设置新密码"
                        ) from failed
                    raise
                mark("set")
                return

            def started() -> None:
                self.commit()
                mark("started")

            try:
                pins.replace_initial(self.ctx, card, before_card=started)
            except TransportError:
                raise  # the card may or may not have the new PIN: resolved by the verify above
            except PinIncorrect as error:
                mark("own")  # the holder set a PIN before: check it instead of setting one
                raise StepFailed(
                    "not_initial_pin",
                    f"此卡密码已不是初始密码（卡片密码还可尝试 {error.tries_left} 次），无需再设置新密码",
                    "请持卡人在密码键盘输入自己的密码核对后激活；忘记密码的，请取消后先办理密码重置",
                ) from error
            except DomainError as error:
                if self.data.get("pin_state") == "started":
                    mark(None)  # the card answered (or nothing was sent): PIN unchanged
                if isinstance(error, StepFailed):
                    raise
                raise StepFailed(error.code, f"设置密码：{error.message}", error.hint) from error
            mark("set")
            self.note("持卡人已在密码键盘设置新密码。")

        def applies() -> bool:
            if when is not None and not when():
                return False
            return bool(self.data.get("activate_now")) and "social" in self.activation_functions()

        return StepDef("set_pin", StepKind.PORT, page, handle, when=applies)

    def activate_step(self, *, when: Any = None) -> StepDef:
        def page() -> Page:
            return self.page("激活", progress="正在向社保卡中心登记激活……")

        def handle(answer: Mapping[str, Any]) -> None:
            card = self.activation_card() or {}
            try:
                self.send(
                    "activate",
                    "activate",
                    {"card": people.card_ref(card), "functions": self.activation_functions()},
                )
            except DomainError as error:
                if not self.committed:
                    raise
                self.data["activation_problem"] = Problem.of(error).to_dict()
                self.note(f"激活未完成：{error.message}。请持卡人以后持卡办理激活。")
                return
            self.data["activated"] = True

        def applies() -> bool:
            if when is not None and not when():
                return False
            return bool(self.data.get("activate_now"))

        return StepDef("activate", StepKind.PORT, page, handle, when=applies)

    def finish_incomplete(self, reason: Problem) -> None:
        """Cancelling during activation after the card was written skips activation, no more."""
        if self.data.get("written"):
            self.data["activate_now"] = False
            self.note(f"激活未完成：{reason.message}。请持卡人以后持卡办理激活。")
            return
        super().finish_incomplete(reason)

    def issuance_details(self) -> dict[str, Any]:
        """Journal facts of an issuance (卡识别码, the write) for the transaction."""
        prefab = self.data.get("prefab") or {}
        return {
            "prefab_card_id": prefab.get("card_id"),
            "written": bool(self.data.get("written")),
            "activated": bool(self.data.get("activated")),
            "new_card": self.new_card,
        }
