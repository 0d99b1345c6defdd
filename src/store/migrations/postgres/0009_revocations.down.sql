-- loses: revoked_tokens
DROP TABLE revoked_tokens;
