-- A room's own switch threshold to relayed mode (its mesh limit); NULL: the server's
-- --relay-above.
ALTER TABLE rooms ADD COLUMN relay_above BIGINT;
