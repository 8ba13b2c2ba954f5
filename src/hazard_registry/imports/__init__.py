"""Spreadsheets in: one reader (``tables``), one row-error shape and one dry-run-then-commit driver (``driver``)
for every kind of import — the hazard ledger (``ledgers.importer``), the enterprise register
(``imports.enterprises``) and user accounts (``imports.users``)."""
