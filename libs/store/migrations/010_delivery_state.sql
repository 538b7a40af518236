-- The incident's state when a delivery's event happened. A delivery is sent later (retries,
-- a receiver that is down), by which time an operator may have acted again: an `ack` sent
-- after the resolve must still say `acknowledged`. NULL for deliveries queued before this.
ALTER TABLE webhook_deliveries ADD COLUMN state text;
