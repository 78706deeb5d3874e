"""``counter-central``: run the reference central server (中心服务).

    counter-central migrate                      create or upgrade the schema, load the subsidy catalog
    counter-central seed --persons N --seed S    synthetic city + training outlets and operators
    counter-central serve --host H --port P      migrate, then run uvicorn (``--workers`` for more)
    counter-central enrol-counter --outlet O --counter C   a new credential for one counter (printed once)

The database is ``DATABASE_URL`` (default: SQLite in ``CENTRAL_DATA_DIR``); see central.core.config.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from typing import Any

from central.core.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counter-central",
        description="乐山市社会保障卡中心服务（参考实现）：柜面终端连接的卡片与补贴记录服务。"
        "数据库由环境变量 DATABASE_URL 指定（默认：数据目录中的 SQLite 文件）。",
    )
    parser.add_argument("--database-url", help="数据库 URL（覆盖 DATABASE_URL）")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="运行 HTTP 服务 / run the HTTP server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址 (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8600, help="端口 (default: 8600)")
    serve.add_argument("--workers", type=int, default=1, help="工作进程数 (default: 1)")
    serve.add_argument(
        "--no-migrate", action="store_true", help="启动前不执行数据库迁移（已用 migrate 单独执行时）"
    )
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="信任反向代理的 X-Forwarded-* 头（配合 --forwarded-allow-ips）",
    )
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="可信反向代理地址")
    serve.add_argument("--access-log", action="store_true", help="输出访问日志")
    sub.add_parser("migrate", help="创建或升级数据库结构 / create or upgrade the schema")
    seed = sub.add_parser("seed", help="生成合成人口与培训数据 / generate a synthetic city")
    seed.add_argument("--persons", type=int, default=10_000, help="人数 (default: 10000)")
    seed.add_argument("--seed", type=int, default=1, help="随机种子：相同种子生成相同数据 (default: 1)")
    seed.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="数据基准日期 YYYY-MM-DD (default: 今天)；相同种子和日期生成相同数据",
    )
    seed.add_argument("--reset", action="store_true", help="先删除全部人员、卡片和业务数据")
    enrol = sub.add_parser("enrol-counter", help="为柜台换发凭据 / issue a new counter credential")
    enrol.add_argument("--outlet", required=True, help="网点编号")
    enrol.add_argument("--counter", required=True, help="柜台号")
    enrol.add_argument("--create", action="store_true", help="柜台未登记时先登记（生成回执密钥）")
    return parser


def _enrol(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from central.core.db import Database
    from central.core.security import new_receipt_key
    from central.models import CounterRow, OutletRow
    from central.services.auth import issue_counter_credential

    db = Database(settings.url)
    try:
        with db.write() as session:
            outlet = session.scalar(select(OutletRow).where(OutletRow.code == args.outlet))
            if outlet is None:
                print(f"错误：网点 {args.outlet} 不存在。", file=sys.stderr)
                return 1
            counter = session.scalar(
                select(CounterRow).where(CounterRow.outlet_id == outlet.id, CounterRow.number == args.counter)
            )
            if counter is None:
                if not args.create:
                    print(
                        f"错误：网点 {args.outlet} 没有柜台 {args.counter}（加 --create 登记）。",
                        file=sys.stderr,
                    )
                    return 1
                receipt_key = settings.receipt_seal().seal(new_receipt_key(), args.outlet, args.counter)
                counter = CounterRow(outlet_id=outlet.id, number=args.counter, receipt_key=receipt_key)
                session.add(counter)
                session.flush()
            credential = issue_counter_credential(session, counter)
    finally:
        db.dispose()
    print("柜台凭据（只显示这一次，请存入该柜台的 keyring；原凭据已作废）:")
    print(credential)
    return 0


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging (its access line masked) plus the ``central`` logger on stderr (one line per record)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["formatters"] = {
        **LOGGING_CONFIG["formatters"],
        "central": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    }
    config["handlers"] = {
        **LOGGING_CONFIG["handlers"],
        "central": {"class": "logging.StreamHandler", "formatter": "central", "stream": "ext://sys.stderr"},
    }
    config["filters"] = {"mask_personal_data": {"()": "central.core.access_log.MaskPersonalData"}}
    config["loggers"] = {
        **LOGGING_CONFIG["loggers"],
        # the access line's path without ID or card numbers in clear (--access-log)
        "uvicorn.access": {**LOGGING_CONFIG["loggers"]["uvicorn.access"], "filters": ["mask_personal_data"]},
        "central": {"handlers": ["central"], "level": level.upper(), "propagate": False},
    }
    return config


def _settings(args: argparse.Namespace) -> Settings:
    if args.database_url:
        return Settings(database_url=args.database_url)
    return Settings()


def migrate(settings: Settings) -> None:
    from central.core.db import Database
    from central.migrations import upgrade
    from central.services.reference_data import sync_subsidy_catalog

    upgrade(settings.url)
    db = Database(settings.url)
    try:
        with db.write() as session:
            sync_subsidy_catalog(session)
    finally:
        db.dispose()


def _seed(settings: Settings, args: argparse.Namespace) -> int:
    from central.core.db import Database
    from central.seed import SeedError, seed_credentials, seed_database
    from central.seed.training import credentials_sheet, sign_in_sheet

    as_of = args.as_of or date.today()
    migrate(settings)
    db = Database(settings.url)
    try:
        stats = seed_database(
            db,
            persons=args.persons,
            seed=args.seed,
            as_of=as_of,
            reset=args.reset,
            progress=lambda n: print(f"  … {n} 人", file=sys.stderr, flush=True),
        )
    except SeedError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"合成数据（种子 {args.seed}，基准日期 {as_of}）已写入 {settings.url}")
    print(
        f"  {stats.households} 户 {stats.persons} 人，{stats.cards} 张卡，{stats.events} 条卡片历史，"
        f"{stats.payments} 条补贴发放记录"
    )
    if stats.by_status:
        print("  卡片状态：" + "，".join(f"{k} {v}" for k, v in sorted(stats.by_status.items())))
    print(sign_in_sheet())
    db = Database(settings.url)
    try:
        print(credentials_sheet(seed_credentials(db)))
    finally:
        db.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = _settings(args)
    if args.command == "migrate":
        migrate(settings)
        print(f"数据库已迁移到最新结构：{settings.url}")
        return 0
    if args.command == "seed":
        return _seed(settings, args)
    if args.command == "enrol-counter":
        return _enrol(settings, args)
    if args.command == "serve":
        import os

        import uvicorn

        if args.database_url:
            os.environ["DATABASE_URL"] = args.database_url  # the workers build their own Settings
        if not args.no_migrate:
            migrate(settings)
        logging.getLogger("central").setLevel(settings.log_level.upper())
        uvicorn.run(
            "central.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=log_config(settings.log_level),
            proxy_headers=args.proxy_headers,
            forwarded_allow_ips=args.forwarded_allow_ips,
            access_log=args.access_log,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
