-- Facts about a delegation that are neither its scope nor its constraints, kept as the format
-- stated them: CloudTrail `sourceIdentity`, role session name and credential id; the groups a
-- Kubernetes impersonation asked for. NULL when the source said nothing more.
ALTER TABLE delegations ADD COLUMN details JSON;
