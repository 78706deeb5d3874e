"""Errors of the local store (本地数据库) a clerk or city IT can act on, with Chinese messages."""

from __future__ import annotations

from counter_app.domain.errors import DomainError


class StoreError(DomainError):
    """The local database cannot be used as asked (本地数据库错误)."""


class StoreKeyUnavailable(StoreError):
    """The system keyring cannot be reached, so nothing may be stored (密钥库不可用)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "store_key_unavailable",
            f"无法访问系统密钥库（{detail}），本地数据库不能在未加密的情况下使用。",
            "请确认已登录本机的柜员账户且凭据管理器/密钥环服务正在运行；仍不能解决请联系信息科。",
        )


class StoreKeyMissing(StoreError):
    """The database holds encrypted data but the keyring lost its key (密钥丢失)."""

    def __init__(self) -> None:
        super().__init__(
            "store_key_missing",
            "本地数据库已加密，但系统密钥库中找不到它的密钥，数据无法读取。",
            "请勿删除数据库文件；请联系信息科从备份恢复本机密钥。",
        )


class StoreKeyMismatch(StoreError):
    """The keyring holds a key, but not the one this database was encrypted with (密钥不匹配)."""

    def __init__(self) -> None:
        super().__init__(
            "store_key_mismatch",
            "系统密钥库中的密钥与本地数据库不匹配，数据无法读取。",
            "可能是换了登录账户或重装了系统；请联系信息科，勿删除数据库文件。",
        )


class StoreIntegrityError(StoreError):
    """An encrypted value failed its integrity check: it was altered on disk (数据被篡改)."""

    def __init__(self, where: str) -> None:
        super().__init__(
            "store_integrity",
            f"本地数据库中的加密数据校验失败（{where}），可能已被篡改。",
            "请停止办理业务并联系信息科。",
        )


class DuplicateAcceptanceNumber(StoreError, ValueError):
    """A 受理编号 was recorded twice (受理编号重复); also a ``ValueError`` like the in-memory journal."""

    def __init__(self, acceptance_number: str) -> None:
        super().__init__(
            "duplicate_acceptance_number",
            f"受理编号重复: {acceptance_number}",
            "请重新取号后再提交。",
        )


class AcceptanceNumbersExhausted(StoreError):
    """The counter used every 受理编号 of the day (受理编号已用尽)."""

    def __init__(self, counter: str, day: str) -> None:
        super().__init__(
            "acceptance_numbers_exhausted",
            f"柜台 {counter} 在 {day} 的受理编号已用尽。",
            "请联系信息科。",
        )


class HolderRefLooksLikeIdNumber(StoreError, ValueError):
    """A clear ID number was given where a holder reference belongs (持卡人引用含证件号码)."""

    def __init__(self) -> None:
        super().__init__(
            "holder_ref_is_id_number",
            "持卡人引用不能是明文证件号码。",
            "请使用 holder_ref_for() 生成的引用或中心的人员编号。",
        )


class UnknownAcceptanceNumber(StoreError, LookupError):
    """No transaction or archived form has this 受理编号 (无此受理编号)."""

    def __init__(self, acceptance_number: str) -> None:
        super().__init__(
            "unknown_acceptance_number",
            f"找不到受理编号 {acceptance_number} 的业务记录或存档受理表。",
            "请核对受理编号。",
        )


class StoreNotDurable(StoreError):
    """SQLite refused write-ahead logging here, e.g. on a network drive (无法启用 WAL)."""

    def __init__(self, journal_mode: str) -> None:
        super().__init__(
            "store_not_durable",
            f"本地数据库无法启用预写日志（WAL，当前为 {journal_mode}），不能保证断电后数据完整。",
            "数据目录须在本机磁盘上（不能是网络盘或只读目录）；请联系信息科。",
        )


class MigrationError(StoreError):
    """Upgrading the database schema failed; nothing was changed (数据库升级失败)."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "store_migration_failed",
            f"本地数据库升级失败，已保持原状：{detail}",
            "请联系信息科，勿删除数据库文件。",
        )
