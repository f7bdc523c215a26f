-- Named actors and access facts on the audit trail: the display name from the caller's token
-- (null for events recorded before names were kept), and for RecordAccessed entries the RPC,
-- the declared purpose of use and the outcome, so an auditor reads them without the event's data.
-- Rows written before this migration have nulls until a rebuild reads them again from the log.
ALTER TABLE audit_entries ADD COLUMN actor_name TEXT;
ALTER TABLE audit_entries ADD COLUMN rpc TEXT;
ALTER TABLE audit_entries ADD COLUMN purpose_of_use TEXT;
ALTER TABLE audit_entries ADD COLUMN outcome TEXT;
