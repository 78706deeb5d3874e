"""``counter-app``: the counter workstation's command line (柜面业务系统).

With no sub-command it opens the workstation: 培训模式 when this counter was never configured.
``counter-app audit verify`` checks the local audit chain (审计链核验) and exits 0 when intact.
``counter-app diagnose`` prints the device report for city IT (设备诊断); it changes no card.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _version() -> str:
    try:
        return version("leshan-sscard-counter")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counter-app",
        description=(
            "乐山市社会保障卡柜面业务系统。不带子命令时打开柜面主界面；"
            "本机未配置时进入培训模式（内置演练数据、模拟卡和模拟密码键盘）。"
        ),
        epilog="配置文件：<配置目录>/counter.toml；环境变量 COUNTER_APP_CONFIG_DIR、COUNTER_APP_DATA_DIR 可改变目录。",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", title="子命令", metavar="{audit,diagnose}")
    audit = commands.add_parser("audit", help="审计记录工具", description="本机审计记录（审计链）工具。")
    audit_commands = audit.add_subparsers(
        dest="audit_command", title="子命令", metavar="{verify}", required=True
    )
    verify = audit_commands.add_parser(
        "verify",
        help="核验本机审计链",
        description=(
            "核验本机审计链：报告第一处被修改、删除或调换顺序的记录，并核对本地链是否仍延伸中心已确认的链头。"
            "完整时退出码为 0，损坏时为 1，数据库无法读取时为 2。"
        ),
    )
    verify.add_argument("--data-dir", type=Path, help="数据目录（默认：本机配置的数据目录）")
    diagnose = commands.add_parser(
        "diagnose",
        help="设备诊断报告",
        description=(
            "设备诊断报告：PC/SC 服务、读卡器及其 ATR、社保卡规范版本、PSAM 终端机编号、PC/SC Part 10 功能、"
            "串口和打印机。只读取信息，不校验密码、不写卡、不改变任何卡片。"
            "PC/SC 服务未运行时退出码为 1，否则为 0（发现的问题列在报告末尾）。"
        ),
    )
    diagnose.add_argument("--json", action="store_true", help="以 JSON 格式输出")
    diagnose.add_argument(
        "--card-reader", metavar="名称", help="社保卡读卡器名称（片段或通配符），优先于配置"
    )
    diagnose.add_argument("--psam-reader", metavar="名称", help="PSAM 读卡器名称（片段或通配符），优先于配置")
    return parser


def _audit_verify(data_dir: Path | None) -> int:
    from counter_app.config import ConfigError, load_settings
    from counter_app.store.cli import EXIT_UNREADABLE, verify_in

    if data_dir is None:
        try:
            data_dir = load_settings().data_dir
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_UNREADABLE
    return verify_in(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "audit":
        return _audit_verify(args.data_dir)
    if args.command == "diagnose":
        from counter_app.diagnose import main as diagnose

        return diagnose(
            as_json=args.json, card_reader=args.card_reader, psam_reader=args.psam_reader, version=_version()
        )
    from counter_app.app import run_workstation

    return run_workstation(sys.argv[:1] if argv is None else ["counter-app"])


if __name__ == "__main__":
    sys.exit(main())
