-- One computed page result kept for every app process (crm_core/app/results.py).
INSERT INTO result_store (
    data_version, code_version, call, target, scope, lang, payload, payload_bytes,
    compute_seconds, stored_at
)
VALUES (
    $data_version, $code_version, $call, $target, $scope, $lang, $payload, $payload_bytes,
    $compute_seconds, $stored_at
)
