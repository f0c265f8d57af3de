-- evalkit schema, version 1. Shipped migrations are never edited: add a new file.
-- Users query these tables with SQL; the README documents every column.

CREATE TABLE runs (
    run_id           VARCHAR PRIMARY KEY,      -- e.g. 20261127T051502-3f9a1c
    plan             VARCHAR NOT NULL,         -- plan name
    plan_path        VARCHAR,                  -- relative to the workspace
    status           VARCHAR NOT NULL,         -- running | completed | interrupted | failed
    started_at       TIMESTAMPTZ NOT NULL,     -- when the run started
    finished_at      TIMESTAMPTZ,              -- when it ended; NULL while running
    git_sha          VARCHAR,                  -- the workspace's commit, if it is a git repo
    git_branch       VARCHAR,                  -- its branch (NULL when detached)
    git_dirty        BOOLEAN,                  -- uncommitted changes at run time
    config_hash      VARCHAR NOT NULL,         -- sha256:... of the plan's canonical JSON
    suite_hashes     JSON NOT NULL,            -- {"suite name": "sha256:..."}
    evalkit_version  VARCHAR NOT NULL,         -- the evalkit that made the run
    labels           JSON NOT NULL,            -- {"branch": "main", ...} from the plan and --label
    created_by       VARCHAR,                  -- git user.name or $USER
    hostname         VARCHAR,                  -- the machine the run was made on
    command          VARCHAR,                  -- the evalkit command line
    settings         JSON NOT NULL,            -- epochs, filters, limit, concurrency, cache
    trials_planned   INTEGER NOT NULL,         -- trials selected when the run started
    summary          JSON                      -- totals written when the run ends
);

CREATE TABLE run_targets (
    run_id           VARCHAR NOT NULL,         -- joins runs.run_id
    target_id        VARCHAR NOT NULL,         -- the target's id in the plan
    prompt_id        VARCHAR,                  -- NULL when the target has one prompt
    provider         VARCHAR NOT NULL,         -- anthropic | openai | http | python | command | replay
    config           JSON NOT NULL,            -- the target's spec, secrets removed
    config_hash      VARCHAR NOT NULL,         -- sha256:... of the target spec and prompt
    skipped_reason   VARCHAR                   -- why the target did not run (e.g. no API key)
);

-- Content-addressed: a case that did not change is stored once across all runs.
CREATE TABLE cases (
    case_hash        VARCHAR PRIMARY KEY,      -- sha256:... over suite, id and content
    suite            VARCHAR NOT NULL,         -- the suite's name
    case_id          VARCHAR NOT NULL,         -- stable id, unique within the suite
    vars             JSON NOT NULL,            -- the case's inputs (suite defaults merged in)
    messages         JSON,                     -- a chat transcript, when the case gives one
    expected         JSON,                     -- the expected answer, as written
    context          JSON NOT NULL,            -- list of retrieved passages
    tags             VARCHAR[] NOT NULL,       -- suite and case tags
    metadata         JSON NOT NULL,            -- free-form case metadata
    graders          JSON NOT NULL,            -- the graders as configured
    cluster          VARCHAR,                  -- cases that are not independent share one
    location         VARCHAR                   -- file:line:col where the case was defined
);

CREATE TABLE results (
    run_id           VARCHAR NOT NULL,         -- joins runs.run_id
    trial_id         VARCHAR NOT NULL,         -- suite/case@target[prompt]#epoch
    suite            VARCHAR NOT NULL,         -- the suite's name
    case_id          VARCHAR NOT NULL,         -- the case's id within its suite
    case_hash        VARCHAR NOT NULL,         -- joins cases.case_hash
    target_id        VARCHAR NOT NULL,         -- what answered
    prompt_id        VARCHAR,                  -- the prompt variant, NULL when there is one
    epoch            INTEGER NOT NULL,         -- 0-based
    status           VARCHAR NOT NULL,         -- pass | fail | error | skipped
    passed           BOOLEAN,                  -- NULL for error / skipped
    score            DOUBLE,                   -- weighted mean of the grades, in [0, 1]
    output           VARCHAR,                  -- the text the target produced
    output_data      JSON,                     -- structured output, when there is one
    error_kind       VARCHAR,                  -- timeout | rate_limit | server | connection | client | auth | config | exception | missing
    error            VARCHAR,                  -- what went wrong, for status = error
    latency_ms       DOUBLE,                   -- wall time of the successful attempt
    input_tokens     BIGINT,                   -- as reported by the provider
    output_tokens    BIGINT,                   -- as reported by the provider
    cost_usd         DOUBLE,                   -- from the price table; NULL when the price is unknown
    cached           BOOLEAN NOT NULL,         -- served from the response cache (cost 0)
    attempts         INTEGER NOT NULL,         -- calls made, retries included (0 when cached)
    request_hash     VARCHAR,                  -- sha256:... response-cache key
    metadata         JSON,                     -- model, stop reason, retrieved context, ...
    started_at       TIMESTAMPTZ,              -- when the trial started
    finished_at      TIMESTAMPTZ,              -- when it was graded
    PRIMARY KEY (run_id, trial_id)
);

CREATE TABLE grades (
    run_id           VARCHAR NOT NULL,         -- joins results.run_id
    trial_id         VARCHAR NOT NULL,         -- joins results.trial_id
    idx              INTEGER NOT NULL,         -- position among the trial's graders
    grader           VARCHAR NOT NULL,         -- registered name, e.g. contains
    metric           VARCHAR NOT NULL,         -- reported name, e.g. not-contains or `metric:`
    status           VARCHAR NOT NULL,         -- pass | fail | error | skipped
    score            DOUBLE,                   -- in [0, 1]; NULL for error / skipped
    passed           BOOLEAN,                  -- NULL for error / skipped
    reason           VARCHAR,                  -- what the grader found, in words
    weight           DOUBLE NOT NULL,          -- weight in the trial's score
    threshold        DOUBLE,                   -- the configured pass threshold, if any
    metadata         JSON,                     -- grader-specific details
    PRIMARY KEY (run_id, trial_id, idx)
);

-- Responses of cacheable targets, keyed by a hash of the whole request. Errors are
-- never stored here.
CREATE TABLE response_cache (
    key              VARCHAR PRIMARY KEY,      -- sha256:... of the request fingerprint
    provider         VARCHAR NOT NULL,         -- the provider that answered
    output           JSON NOT NULL,            -- text, data, usage, metadata
    created_at       TIMESTAMPTZ NOT NULL      -- when the response was stored
);
