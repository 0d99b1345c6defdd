-- The SDK an agent's control polls said they came from (its User-Agent:
-- "python 0.1.0", "typescript 0.1.0", "rust 0.1.0"), as the agents screen
-- shows it.
ALTER TABLE agents ADD COLUMN sdk TEXT;
