-- evalkit schema, version 4: named baselines for `evalkit compare` and the CI gate.
-- Shipped migrations are never edited: add a new file.
--
-- A baseline is either pinned to one run (`evalkit baseline set RUN --name main`) or
-- follows a label (`evalkit baseline set --label branch=main --name main`): then it
-- means the newest completed run of the compared plan carrying that label.
CREATE TABLE baselines (
    name             VARCHAR NOT NULL,         -- e.g. main; unique per plan
    plan             VARCHAR,                  -- the plan it is for; NULL for a label baseline that serves every plan
    run_id           VARCHAR,                  -- the pinned run; NULL for a label baseline
    label_key        VARCHAR,                  -- label baseline: the label's key, e.g. branch
    label_value      VARCHAR,                  -- label baseline: the label's value, e.g. main
    set_at           TIMESTAMPTZ NOT NULL,     -- when it was set
    set_by           VARCHAR                   -- git user.name or $USER of who set it
);
