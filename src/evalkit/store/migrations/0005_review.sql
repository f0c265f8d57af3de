-- evalkit schema, version 5: human review, promotions, imports, and who did each.
-- Shipped migrations are never edited: add a new file.
--
-- Labels are append-only: a reviewer who changes their mind adds a new row, and the
-- newest row per (run, trial, grade) is the human verdict (the `human_labels` view).
-- The machine's grade in `grades` is never touched.
CREATE TABLE labels (
    label_id         VARCHAR PRIMARY KEY,      -- random id
    run_id           VARCHAR NOT NULL,         -- joins results.run_id
    trial_id         VARCHAR NOT NULL,         -- joins results.trial_id
    case_hash        VARCHAR NOT NULL,         -- joins cases.case_hash: the content that was judged
    grade_idx        INTEGER,                  -- joins grades.idx: the grade reviewed; NULL for the whole trial
    metric           VARCHAR,                  -- that grade's metric, for reading; NULL for the whole trial
    action           VARCHAR NOT NULL,         -- accept (agrees with the machine) | override | retract
    passed           BOOLEAN,                  -- the human verdict; NULL only for retract
    score            DOUBLE,                   -- the human score in [0, 1], when one was given
    machine_status   VARCHAR,                  -- the machine's status when the label was made
    machine_score    DOUBLE,                   -- the machine's score when the label was made
    note             VARCHAR,                  -- the reviewer's note
    reviewer         VARCHAR NOT NULL,         -- git user.name or $USER
    labelled_at      TIMESTAMPTZ NOT NULL,     -- when the label was made
    git_sha          VARCHAR,                  -- the workspace's commit at the time
    source           VARCHAR NOT NULL          -- terminal | csv | xlsx
);

-- The human verdict in force: the newest label per (run, trial, grade), retractions dropped.
-- Columns, each as in `labels`:
--   label_id, run_id, trial_id, case_hash  the label and the trial it is about
--   grade_idx, metric  the grade reviewed; NULL for the whole trial
--   action  accept | override (retractions never show here)
--   passed, score  the human verdict and score
--   machine_status, machine_score  the machine's verdict when the label was made
--   note, reviewer, labelled_at, git_sha, source  who said what, when, from where
CREATE VIEW human_labels AS
SELECT * EXCLUDE (newest)
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY run_id, trial_id, grade_idx ORDER BY labelled_at DESC, label_id DESC
    ) AS newest
    FROM labels
)
WHERE newest = 1 AND action <> 'retract';

-- Trials turned into cases of a regression suite by `evalkit promote`.
CREATE TABLE promotions (
    promotion_id     VARCHAR PRIMARY KEY,      -- random id
    run_id           VARCHAR NOT NULL,         -- the run the trial came from
    trial_id         VARCHAR NOT NULL,         -- the promoted trial
    case_hash        VARCHAR NOT NULL,         -- the source case's content hash
    suite_path       VARCHAR NOT NULL,         -- the suite file written, relative to the workspace
    case_id          VARCHAR NOT NULL,         -- the new case's id in that suite
    reason           VARCHAR NOT NULL,         -- failing | reviewed
    expectation      JSON,                     -- what the new case expects, as written
    promoted_by      VARCHAR,                  -- git user.name or $USER
    promoted_at      TIMESTAMPTZ NOT NULL,     -- when
    git_sha          VARCHAR                   -- the workspace's commit at the time
);

-- Production logs turned into suite cases by `evalkit import`.
CREATE TABLE imports (
    import_id        VARCHAR PRIMARY KEY,      -- random id
    source_path      VARCHAR NOT NULL,         -- the log file read
    source_hash      VARCHAR NOT NULL,         -- sha256:... of its bytes
    suite_path       VARCHAR NOT NULL,         -- the suite file written, relative to the workspace
    records_read     INTEGER NOT NULL,         -- records in the file
    cases_added      INTEGER NOT NULL,         -- new cases written
    duplicates       INTEGER NOT NULL,         -- records skipped: their content was already a case
    scrubbed         JSON NOT NULL,            -- {"email": 3, "phone": 1, ...} replacements made
    imported_by      VARCHAR,                  -- git user.name or $USER
    imported_at      TIMESTAMPTZ NOT NULL,     -- when
    git_sha          VARCHAR                   -- the workspace's commit at the time
);
