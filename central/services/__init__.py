"""The command and lookup layer (业务服务): one function per command, checked with ``counter_app.domain``.

Commands run inside one write transaction (``central.services.runner``); a refusal raises a
``DomainError`` before anything is flushed, or rolls the transaction back, so it changes nothing.
"""
