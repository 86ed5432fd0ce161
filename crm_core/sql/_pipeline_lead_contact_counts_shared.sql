-- Fragment: lead_contact_counts (_pipeline_lead_contact_counts.sql, same rows and columns) read
-- from the shared contact counts $contacts_id (crm_core/engine/facts.py).
lead_contact_counts AS (
    SELECT lead_id, contacts, first_contact_at, last_contact_at
    FROM lead_contact_counts_rows
    WHERE window_id = $contacts_id
)
