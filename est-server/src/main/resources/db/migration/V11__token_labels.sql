-- The EST label a bootstrap token enrolls under ('' for requests without a label): a device
-- cannot use its token to choose a more permissive label's profile than the one it was given.
-- Tokens made before this migration have none (NULL) and stay usable under any label.
ALTER TABLE bootstrap_token ADD COLUMN label TEXT;
