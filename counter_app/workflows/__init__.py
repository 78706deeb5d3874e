"""业务流程 — the twelve service items as step machines over the ports, without Qt.

Entry points (``counter_app.workflows.registry``): ``start(item_code, ctx)`` and
``resume(flow_id, ctx)``; the step machine is in ``base``. This package's ``__init__`` imports
nothing, because ``counter_app.card`` imports ``counter_app.workflows.ports``.
"""
