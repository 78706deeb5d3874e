"""The city's reference central server for 社会保障卡 counters (社保卡中心服务).

It holds the city's persons, cards, transactions and subsidy payments and decides every life-cycle
command with ``counter_app.domain`` — the one rule set the counters use too. Layout, after the
full-stack FastAPI template: ``api/`` (routes, deps), ``core/`` (config, db, problems, security,
clock), ``models.py`` and ``migrations/`` (Alembic), ``services/`` (one function per command,
lookups), ``upstream/`` (simulated province and banks), ``seed/`` (the synthetic city).

Refusals are ``application/problem+json`` with type ``…/refused/<code>`` (409) and a Chinese
``detail``; invalid values are ``…/invalid/<rule>`` (422). Operators sign in at an enrolled counter and
act with a token bound to it (``services/auth.py``); every state change carries an ``Idempotency-Key``
(``services/idempotency.py``); counters follow the change feed (``services/feed.py``).
"""
