"""Upstream links of the central server (上游接口), simulated until their specifications arrive.

- ``province``: the provincial card system — allocates 卡号 and stands in for the card factory
  (制卡厂) that returns a production batch (回盘).
- ``banks``: the cooperating banks' cores — open the financial account of a new card.

Each is a small module with plain functions; a real adapter replaces the module behind the same
functions. Nothing here talks to a network.
"""
