"""The 社会保障卡 as the counter uses it (社保卡应用): read, PIN, bank account, writes.

`SocialSecurityCard` works over the `CardTransport` port only (no PC/SC, no Qt) and, for key
operations, a `KeyProvider` (the PSAM, an HSM, or the emulated PSAM). Every operation starts with its
own SELECT, so operations can follow each other in any order on the same card, and a card swapped
between two calls is never mistaken for the previous one.
"""

from __future__ import annotations

import contextlib
import hmac
import os
from collections.abc import Callable, Mapping

from counter_app.card import bank, personalise, readcardbas
from counter_app.card.apdu import Channel, Command, wipe
from counter_app.card.atr import historical_bytes
from counter_app.card.cardinfo import CardInfo, HolderStatus, ReadScope
from counter_app.card.errors import InternalAuthFailed, ProtocolError, RecordNotFound
from counter_app.card.kinds import Kind
from counter_app.card.personalise import PrefabData
from counter_app.card.pin import check_new_pin, encode_pin
from counter_app.card.records import EF05, EF06, Field, decode, decode_name, has_name_extension
from counter_app.card.settings import DEFAULT_SETTINGS, CardSettings
from counter_app.card.ssse import SsseApplication
from counter_app.card.writes import Checkpoint, PendingWrite, WriteOutcome
from counter_app.workflows.ports import CardTransport, KeyProvider, KeyPurpose, SecretPin

__all__ = ["SocialSecurityCard"]

_EF05_BASIC = (Field.CARD_ID, Field.SPEC_VERSION, Field.ISSUE_DATE, Field.EXPIRY_DATE, Field.CARD_NUMBER)
_EF05_FULL = (
    Field.CARD_ID,
    Field.CARD_TYPE,
    Field.SPEC_VERSION,
    Field.INIT_ORG,
    Field.ISSUE_DATE,
    Field.EXPIRY_DATE,
    Field.CARD_NUMBER,
)
_EF06_DETAIL = (Field.SEX, Field.ETHNICITY, Field.BIRTHPLACE, Field.BIRTH_DATE)


def _needs_read_auth(spec_version: str) -> bool:
    """3.0 cards (and anything newer than 2.0) need RKSSSE external authentication to read EF06."""
    return not spec_version.startswith(("1", "2"))


class SocialSecurityCard:
    """The SSSE application of one card in one reader (社会保障卡).

    ``key_provider`` is needed for RKSSSE reads of 3.0 cards, RELOAD/UNBLOCK, card authentication
    and every write; without it those refuse with `NoKeyProvider` (reads leave EF06 empty instead).
    """

    def __init__(
        self,
        transport: CardTransport,
        key_provider: KeyProvider | None = None,
        settings: CardSettings = DEFAULT_SETTINGS,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._transport = transport
        self._channel = Channel(transport, "card")
        self._app = SsseApplication(self._channel, key_provider, settings)
        self._settings = settings
        self._random = random_bytes
        # ATR of the card that refused the multi-record read (§3.3.1) while in this reader: that card
        # is read one record at a time from then on. Another ATR is another card and is asked again.
        self._multi_read_refused_by: bytes | None = None

    @property
    def key_provider(self) -> KeyProvider | None:
        return self._app.key_provider

    # --- reading (信息查询, iReadCardBas) ----------------------------------------------------------

    def read_basic_info(self, scope: ReadScope = ReadScope.FULL) -> CardInfo:
        """Read EF05 and EF06 (card-protocol §3.15). BASIC reads what iReadCardBas needs.

        FULL (信息查询) reads each EF with one multi-record READ RECORD (§3.3.1) when the card
        supports it, else one record at a time; BASIC always reads by tag, only its items (§5.13).
        """
        app = self._app
        atr = bytes(self._transport.atr())
        algorithm = app.select()
        whole_files = scope is ReadScope.FULL
        ef05 = self._read_file(EF05, "", atr) if whole_files else None
        if ef05 is None:
            ef05 = {item: app.read(item) for item in (_EF05_FULL if whole_files else _EF05_BASIC)}
        text = {item: decode(item, value) for item, value in ef05.items()}
        version = text[Field.SPEC_VERSION]

        status = HolderStatus.READ
        if _needs_read_auth(version):
            if app.key_provider is None:
                status = HolderStatus.NO_KEY_PROVIDER
            elif not app.algorithm_supported:
                status = HolderStatus.ALGORITHM_NOT_SUPPORTED
            else:
                app.authenticate(KeyPurpose.READ_AUTH, ef05[Field.CARD_ID])

        name, name_ok = "", True
        if status is HolderStatus.READ:
            ef06 = self._read_file(EF06, version, atr) if whole_files else None
            if ef06 is None:
                ef06 = self._read_ef06_by_tag(version, scope)
            text[Field.SSN] = decode(Field.SSN, ef06[Field.SSN])
            extension = ef06.get(Field.NAME_EXTENSION, b"") if has_name_extension(version) else b""
            name, name_ok = decode_name(ef06[Field.NAME], extension)
            if scope is ReadScope.FULL:
                for item in _EF06_DETAIL:
                    text[item] = decode(item, ef06[item])

        return CardInfo(
            atr=atr,
            historical_bytes=historical_bytes(atr),
            algorithm=algorithm,
            card_id=text[Field.CARD_ID],
            card_type=text.get(Field.CARD_TYPE, ""),
            spec_version=version,
            init_org=text.get(Field.INIT_ORG, ""),
            issue_date=text[Field.ISSUE_DATE],
            expiry_date=text[Field.EXPIRY_DATE],
            card_number=text[Field.CARD_NUMBER],
            ssn=text.get(Field.SSN, ""),
            name=name,
            sex=text.get(Field.SEX, ""),
            ethnicity=text.get(Field.ETHNICITY, ""),
            birthplace=text.get(Field.BIRTHPLACE, ""),
            birth_date=text.get(Field.BIRTH_DATE, ""),
            holder_status=status,
            name_encoding_ok=name_ok,
            scope=scope,
        )

    def _read_file(self, sfi: int, spec_version: str, atr: bytes) -> dict[Field, bytes] | None:
        """A whole EF by the multi-record read; None when this card refused it (now or before)."""
        if self._multi_read_refused_by == atr:
            return None
        values = self._app.read_file(sfi, spec_version)
        if values is None:
            self._multi_read_refused_by = atr
        return values

    def _read_ef06_by_tag(self, version: str, scope: ReadScope) -> dict[Field, bytes]:
        """EF06 one record at a time by tag: 08, 09, 4E (not on 1.xx; ``6A83`` = empty), 0A–0D (FULL)."""
        app = self._app
        values = {Field.SSN: app.read(Field.SSN), Field.NAME: app.read(Field.NAME)}
        if has_name_extension(version):
            with contextlib.suppress(RecordNotFound):  # read as empty on any card
                values[Field.NAME_EXTENSION] = app.read(Field.NAME_EXTENSION)
        if scope is ReadScope.FULL:
            values.update((item, app.read(item)) for item in _EF06_DETAIL)
        return values

    def read_card_bas(self, terminal_device_number: str = "") -> str:
        """The ``iReadCardBas`` string of this card (§6), 终端机编号 from the key provider."""
        info = self.read_basic_info(ReadScope.BASIC)
        keys = self._app.key_provider
        terminal_id = keys.terminal_id() if keys is not None else ""
        fields = readcardbas.from_card_info(
            info, terminal_id=terminal_id, terminal_device_number=terminal_device_number
        )
        return readcardbas.build(fields)

    def read_bank_account(self) -> str:
        """银行卡号 (tag 5A) of the financial application A000000333010101."""
        return bank.read_pan(self._channel)

    def authenticate_card(self) -> None:
        """内部认证: the card proves it holds the key; `InternalAuthFailed` when it does not (§3.7)."""
        app = self._app
        app.require_key_provider()
        app.select()
        keys = app.keys()
        card_id = app.read(Field.CARD_ID)
        challenge = self._random(8)
        index = self._settings.key_indices.internal_auth
        answer = self._channel.command(
            Command(0x00, 0x88, 0x00, index, challenge + bytes(8), kind=Kind.INTERNAL_AUTH)
        )
        if len(answer) != 16:
            raise ProtocolError(f"内部认证应答为 {len(answer)} 字节，应为 16 字节")
        expected = keys.cryptogram(KeyPurpose.INTERNAL_AUTH, card_id, challenge)
        if not hmac.compare_digest(answer, expected):
            raise InternalAuthFailed()

    # --- PIN (个人密码) ----------------------------------------------------------------------------

    def pin_tries_left(self) -> int | None:
        """Remaining PIN tries from an empty VERIFY (0 = locked); None if the card does not say."""
        self._app.select()
        response = self._channel.exchange(Command(0x00, 0x20, 0x00, 0x00, kind=Kind.VERIFY))
        if response.sw & 0xFFF0 == 0x63C0:
            return response.sw & 0x0F
        if response.sw == 0x6983:
            return 0
        return None

    def verify_pin(self, pin: SecretPin) -> None:
        """校验密码. Raises `PinIncorrect` (tries left), `PinBlocked`, `PinFormatError`."""
        data = encode_pin(pin)
        try:
            self._app.select()
            self._channel.command(Command(0x00, 0x20, 0x00, 0x00, data, kind=Kind.VERIFY))
        finally:
            wipe(data)

    def change_pin(self, old: SecretPin, new: SecretPin) -> None:
        """修改密码 (CHANGE PIN, old ‖ FF ‖ new). The new PIN may not be the initial PIN 123456."""
        check_new_pin(new, self._settings.new_pin_lengths)
        data = encode_pin(old)
        try:
            data.append(0xFF)
            encoded = encode_pin(new)
            data += encoded
            wipe(encoded)
            self._app.select()
            self._channel.command(Command(0x80, 0x5E, 0x01, 0x00, data, kind=Kind.CHANGE_PIN))
        finally:
            wipe(data)

    def reload_pin(self, new: SecretPin) -> None:
        """密码重置 (RELOAD PIN): set a new PIN with a PSAM MAC; also resets the try counter."""
        check_new_pin(new, self._settings.new_pin_lengths)
        app = self._app
        app.require_key_provider()
        pin_bytes = encode_pin(new)
        mac_input = bytearray()
        data = bytearray()
        try:
            app.select()
            keys = app.keys()
            card_id = app.read(Field.CARD_ID)
            challenge = app.challenge()
            mac_input += bytes((0x80, 0x5E, 0x00, 0x00, len(pin_bytes) + 4))
            mac_input += pin_bytes
            # The port says bytes; a bytearray is passed so the PIN can be wiped (see report).
            mac = keys.mac(KeyPurpose.PIN_RELOAD, card_id, challenge, mac_input)
            if len(mac) != 4:
                raise ProtocolError(f"密钥设备返回的 MAC 为 {len(mac)} 字节，应为 4 字节")
            data += pin_bytes
            data += mac
            self._channel.command(Command(0x80, 0x5E, 0x00, 0x00, data, kind=Kind.RELOAD_PIN))
        finally:
            wipe(pin_bytes)
            wipe(mac_input)
            wipe(data)

    def unblock_pin(self) -> None:
        """解锁 (PIN UNBLOCK): reset the try counter with a PSAM MAC; the PIN stays the same."""
        app = self._app
        app.require_key_provider()
        app.select()
        keys = app.keys()
        card_id = app.read(Field.CARD_ID)
        challenge = app.challenge()
        header = bytes((0x84, 0x24, 0x00, 0x00, 0x04))
        mac = keys.mac(KeyPurpose.PIN_UNBLOCK, card_id, challenge, header)
        if len(mac) != 4:
            raise ProtocolError(f"密钥设备返回的 MAC 为 {len(mac)} 字节，应为 4 字节")
        self._channel.command(Command(0x84, 0x24, 0x00, 0x00, mac, kind=Kind.UNBLOCK_PIN))

    # --- writing (写卡) ----------------------------------------------------------------------------

    def personalise_prefab(
        self, expected_card_id: str | None, data: PrefabData, *, checkpoint: Checkpoint | None = None
    ) -> WriteOutcome:
        """预制卡个人化 (§7.1): CONFIRMED after every record was read back, else UNCERTAIN."""
        return personalise.personalise_prefab(self._app, expected_card_id, data, checkpoint)

    def rewrite_unprinted_fields(
        self, expected_card_id: str, changes: Mapping[Field, str], *, checkpoint: Checkpoint | None = None
    ) -> WriteOutcome:
        """芯片信息改写 of items not printed on the face (§7.4; off unless configured)."""
        return personalise.rewrite_unprinted_fields(self._app, expected_card_id, changes, checkpoint)

    def resolve_uncertain(
        self, pending: PendingWrite, *, checkpoint: Checkpoint | None = None
    ) -> WriteOutcome:
        """Finish an UNCERTAIN write on the next contact (§7.2): confirm or redo, same card only."""
        return personalise.resolve_uncertain(self._app, pending, checkpoint)
