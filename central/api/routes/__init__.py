"""One router per area: commands, persons, cards, subsidies, receipts, utils."""
