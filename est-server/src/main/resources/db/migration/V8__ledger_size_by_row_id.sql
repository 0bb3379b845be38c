-- V6 kept the ledger's size for GET /health in issued_count, by a trigger on every insert. That
-- trigger made each insert cost about 25 us more (LedgerFill: 18-20 us a row without it, 40-49
-- with it), inside the write transaction every issuance waits on. The ledger is append-only (no
-- code deletes a record) and SQLite gives each new row the next row id, so its highest row id is
-- its size: /health reads that from the table's b-tree, one descent, at no cost to issuance.
DROP TRIGGER issued_count_insert;
DROP TRIGGER issued_count_delete;
DROP TABLE issued_count;
