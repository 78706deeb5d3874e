"""``counter-app audit verify``: check the local audit chain (审计链核验) and print a Chinese report.

Needs no key: the chain holds no encrypted field, so city IT can verify a copied database on another
machine. Exit status 0 when intact, 1 when broken, 2 when the database cannot be read.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa

from counter_app.store import audit
from counter_app.store.engine import database_path, make_engine

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_UNREADABLE = 2


def _head_text(head: audit.AuditHead | None) -> str:
    return "（空）" if head is None else f"第 {head.seq} 条，哈希 {head.entry_hash[:16]}…"


def format_report(
    path: Path, report: audit.ChainReport, anchor: audit.AuditHead | None, anchored: audit.ChainReport | None
) -> str:
    """The report as the clerk or city IT reads it."""
    lines = [
        f"审计链核验：{path}",
        f"记录数：{report.entries}；本地链头：{_head_text(report.head)}",
    ]
    if anchor is None:
        lines.append("中心确认的链头：尚无（与中心同步后核对）。")
    else:
        lines.append(f"中心确认的链头：{_head_text(anchor)}")
    broken = report.first_break or (anchored.first_break if anchored else None)
    if broken is None:
        extends = "，并仍延伸中心确认的链头" if anchor is not None else ""
        lines.append(f"结果：本地审计链完整{extends}。")
    else:
        lines.append(f"结果：审计链已损坏。第一处断链在{broken.message}。")
        lines.append("请立即停止使用本机办理业务，保留数据库文件，并报告信息科。")
    return "\n".join(lines)


def verify_database(path: Path, out: TextIO = sys.stdout) -> int:
    """Verify the chain in the database at ``path``; print the report; return the exit status."""
    if not path.is_file():
        print(f"找不到本地数据库：{path}", file=out)
        return EXIT_UNREADABLE
    engine = make_engine(path, immediate=False)  # reads only
    try:
        with engine.connect() as connection:
            report = audit.verify_chain(connection)
            anchor = audit.last_acknowledged_head(connection)
            anchored = audit.verify_against_head(connection, anchor) if anchor and report.intact else None
    except sa.exc.DatabaseError as exc:
        print(f"无法读取本地数据库 {path}：{exc.orig}", file=out)
        return EXIT_UNREADABLE
    finally:
        engine.dispose()
    print(format_report(path, report, anchor, anchored), file=out)
    intact = report.intact and (anchored is None or anchored.intact)
    return EXIT_INTACT if intact else EXIT_BROKEN


def verify_in(data_dir: Path, out: TextIO = sys.stdout) -> int:
    """Verify the store kept in a data folder."""
    return verify_database(database_path(data_dir), out)
