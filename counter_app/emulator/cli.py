"""``counter-emulator``: serve the emulated 社保卡 and PSAM to vpcd (training and tests only).

    counter-emulator list                 the test cards, one per line
    counter-emulator serve --card NAME    PSAM into slot 01, NAME into slot 00; runs until stopped
    counter-emulator insert NAME          (another process) swap the card in slot 00
    counter-emulator remove               (another process) pull the card out of slot 00
    counter-emulator status               what is in slot 00

A card keeps its state (PIN, tries, records) for the life of ``serve``, like a physical card taken
out and put back. The control channel listens on 127.0.0.1 only; vpcd itself listens on every
interface, which is why none of this is ever installed on a counter.
"""

from __future__ import annotations

import argparse
import signal
import socket
import socketserver
import sys
import threading
from types import FrameType

from counter_app.emulator.card import EmulatedCard
from counter_app.emulator.testcards import TEST_CARDS, build_card, build_psam
from counter_app.emulator.vpcd import VpcdSlot

DEFAULT_VPCD_PORT = 0x8C7B  # slot 00; slot 01 is the next port
DEFAULT_CONTROL_PORT = 35990


class Bench:
    """The card slot and PSAM slot served by one ``serve`` process (模拟读卡器)."""

    def __init__(self, host: str, vpcd_port: int) -> None:
        self.card_slot = VpcdSlot(host, vpcd_port)
        self.psam_slot = VpcdSlot(host, vpcd_port + 1)
        self._cards: dict[str, EmulatedCard] = {}
        self.current: str | None = None
        self._lock = threading.Lock()

    def insert(self, name: str) -> str:
        if name not in TEST_CARDS:
            raise ValueError(f"没有名为 {name} 的测试卡（counter-emulator list 列出全部）")
        with self._lock:
            self.card_slot.remove()
            card = self._cards.setdefault(name, build_card(name))
            self.card_slot.insert(card)
            self.current = name
        return f"inserted {name}"

    def remove(self) -> str:
        with self._lock:
            self.card_slot.remove()
            self.current = None
        return "removed"

    def status(self) -> str:
        return f"card {self.current}" if self.current and self.card_slot.inserted else "empty"

    def close(self) -> None:
        self.card_slot.remove()
        self.psam_slot.remove()


class _ControlHandler(socketserver.StreamRequestHandler):
    server: _ControlServer

    def handle(self) -> None:
        line = self.rfile.readline(512).decode("utf-8", "replace").strip()
        verb, _, argument = line.partition(" ")
        try:
            if verb == "insert":
                answer = "ok " + self.server.bench.insert(argument.strip())
            elif verb == "remove":
                answer = "ok " + self.server.bench.remove()
            elif verb == "status":
                answer = "ok " + self.server.bench.status()
            else:
                answer = f"error unknown command {verb!r}"
        except (ValueError, OSError) as exc:
            answer = f"error {exc}"
        self.wfile.write(answer.encode("utf-8") + b"\n")


class _ControlServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, bench: Bench) -> None:
        super().__init__(("127.0.0.1", port), _ControlHandler)
        self.bench = bench


def send_control(command: str, port: int = DEFAULT_CONTROL_PORT, timeout: float = 10.0) -> str:
    """Send one control command to a running ``serve``; return its answer (raises on error)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(command.encode("utf-8") + b"\n")
        answer = sock.makefile("rb").readline().decode("utf-8").strip()
    if not answer.startswith("ok"):
        raise RuntimeError(answer.removeprefix("error ").strip() or "no answer")
    return answer.removeprefix("ok").strip()


def serve(card: str | None, host: str, vpcd_port: int, control_port: int) -> int:
    """Insert the PSAM (slot 01) and ``card`` (slot 00), then answer the control channel until
    SIGTERM or SIGINT; both cards are pulled out on the way out. 1 when vpcd or the port fails."""
    if card and card not in TEST_CARDS:
        print(
            f"counter-emulator: 没有名为 {card} 的测试卡（counter-emulator list 列出全部）", file=sys.stderr
        )
        return 2
    bench = Bench(host, vpcd_port)
    try:
        control = _ControlServer(control_port, bench)
    except OSError as exc:
        print(f"counter-emulator: 控制端口 127.0.0.1:{control_port} 无法使用（{exc}）", file=sys.stderr)
        return 1

    def _stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to return: never call it on the serving thread.
        threading.Thread(target=control.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        try:
            bench.psam_slot.insert(build_psam())
            if card:
                bench.insert(card)
        except OSError as exc:
            print(
                f"counter-emulator: 无法连接 vpcd 虚拟读卡器 {host}:{vpcd_port}（{exc}）；"
                "pcscd 是否在运行、是否安装了 vsmartcard-vpcd？",
                file=sys.stderr,
            )
            return 1
        print(
            f"serving PSAM on {host}:{vpcd_port + 1}, card {card or '(none)'} on {host}:{vpcd_port}; "
            f"control on 127.0.0.1:{control_port}",
            flush=True,
        )
        control.serve_forever(poll_interval=0.2)  # returns at once if a signal came before it
    finally:
        control.server_close()
        bench.close()
    print("stopped", flush=True)
    return 0


def list_lines() -> list[str]:
    """One line per test card: name, 规范版本 (a 预制卡 is a blank 3.00 card), holder, description."""
    lines = []
    for card in TEST_CARDS.values():
        version = "3.00" if card.profile == "prefab" else card.profile
        who = card.holder_name or "（空白预制卡）"
        lines.append(f"{card.name}\t{version}\t{who}\t{card.description}")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="counter-emulator",
        description="模拟社保卡与 PSAM（仅用于培训和测试，使用测试密钥）：经 vpcd 虚拟读卡器提供给 pcscd。",
    )
    parser.add_argument("--control-port", type=int, default=DEFAULT_CONTROL_PORT, help="控制端口 (127.0.0.1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="列出测试卡")
    serve_cmd = sub.add_parser("serve", help="插入 PSAM 和一张测试卡并保持运行")
    serve_cmd.add_argument("--card", help="测试卡名称（见 list）")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="vpcd 地址")
    serve_cmd.add_argument("--port", type=int, default=DEFAULT_VPCD_PORT, help="vpcd 卡座 00 的端口")
    insert = sub.add_parser("insert", help="换入一张测试卡")
    insert.add_argument("name")
    sub.add_parser("remove", help="拔出测试卡")
    sub.add_parser("status", help="卡座状态")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        for line in list_lines():
            print(line)
        return 0
    if args.command == "serve":
        return serve(args.card, args.host, args.port, args.control_port)
    try:
        answer = send_control(
            f"insert {args.name}" if args.command == "insert" else args.command, args.control_port
        )
    except (OSError, RuntimeError) as exc:
        print(f"counter-emulator: {exc}", file=sys.stderr)
        return 1
    print(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
