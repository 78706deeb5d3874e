"""培训模式 (training mode): what ``counter-app`` runs when the counter was never configured.

An embedded central server on 127.0.0.1 with a seeded SQLite population (built once, cached),
the emulated 社保卡 and PSAM in an in-process reader, the training PIN pad on a pseudo-terminal,
and the "客户操作" and "客户密码键盘" windows that play the citizen's part. Nothing here is ever
used by a configured counter (``counter_app.config`` refuses to fall back).
"""
