"""``counter-central``: run the reference central server (中心服务)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counter-central",
        description="乐山市社会保障卡中心服务（参考实现）：柜面终端连接的卡片与补贴记录服务。",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="运行 HTTP 服务 / run the HTTP server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址 (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8600, help="端口 (default: 8600)")
    serve.add_argument("--workers", type=int, default=1, help="工作进程数 (default: 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        import uvicorn

        uvicorn.run(
            "central.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
