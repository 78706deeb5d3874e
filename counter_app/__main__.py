"""``counter-app``: the counter workstation's command line (柜面业务系统).

With no sub-command it opens the workstation: 培训模式 when this counter was never configured.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version


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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    from counter_app.app import run_workstation

    return run_workstation(sys.argv[:1] if argv is None else ["counter-app"])


if __name__ == "__main__":
    sys.exit(main())
