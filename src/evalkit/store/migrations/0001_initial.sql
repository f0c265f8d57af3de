-- evalkit schema, version 1. Shipped migrations are never edited: add a new file.
-- Users query these tables with SQL; the README documents every column.

CREATE TABLE runs (
    run_id           VARCHAR PRIMARY KEY,      -- e.g. 20261127T051502-3f9a1c
    plan             VARCHAR NOT NULL,         -- plan name
    plan_path        VARCHAR,                  -- relative to the workspace
    status           VARCHAR NOT NULL,         -- running | completed | interrupted | failed
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    git_sha          VARCHAR,
    git_branch       VARCHAR,
    git_dirty        BOOLEAN,
    config_hash      VARCHAR NOT NULL,         -- sha256:... of the plan's canonical JSON
    suite_hashes     JSON NOT NULL,            -- {"suite name": "sha256:..."}
    evalkit_version  VARCHAR NOT NULL,
    labels           JSON NOT NULL,            -- {"branch": "main", ...} from the plan and --label
    created_by       VARCHAR,                  -- git user.name or $USER
    hostname         VARCHAR,
    command          VARCHAR,                  -- the evalkit command line
    settings         JSON NOT NULL,            -- epochs, filters, limit, concurrency, cache
    trials_planned   INTEGER NOT NULL,
    summary          JSON                      -- totals written when the run ends
);

CREATE TABLE run_targets (
    run_id           VARCHAR NOT NULL,
    target_id        VARCHAR NOT NULL,
    prompt_id        VARCHAR,                  -- NULL when the target has one prompt
    provider         VARCHAR NOT NULL,
    config           JSON NOT NULL,            -- the target's spec, secrets removed
    config_hash      VARCHAR NOT NULL,         -- sha256:... of the target spec and prompt
    skipped_reason   VARCHAR                   -- why the target did not run (e.g. no API key)
);

-- Content-addressed: a case that did not change is stored once across all runs.
CREATE TABLE cases (
    case_hash        VARCHAR PRIMARY KEY,      -- sha256:... over suite, id and content
    suite            VARCHAR NOT NULL,
    case_id          VARCHAR NOT NULL,
    vars             JSON NOT NULL,
    messages         JSON,
    expected         JSON,
    context          JSON NOT NULL,            -- list of retrieved passages
    tags             VARCHAR[] NOT NULL,
    metadata         JSON NOT NULL,
    graders          JSON NOT NULL,            -- the graders as configured
    cluster          VARCHAR,
    location         VARCHAR                   -- file:line:col where the case was defined
);

CREATE TABLE results (
    run_id           VARCHAR NOT NULL,
    trial_id         VARCHAR NOT NULL,         -- suite/case@target[prompt]#epoch
    suite            VARCHAR NOT NULL,
    case_id          VARCHAR NOT NULL,
    case_hash        VARCHAR NOT NULL,         -- joins cases.case_hash
    target_id        VARCHAR NOT NULL,
    prompt_id        VARCHAR,
    epoch            INTEGER NOT NULL,         -- 0-based
    status           VARCHAR NOT NULL,         -- pass | fail | error | skipped
    passed           BOOLEAN,                  -- NULL for error / skipped
    score            DOUBLE,                   -- weighted mean of the grades, in [0, 1]
    output           VARCHAR,                  -- the text the target produced
    output_data      JSON,                     -- structured output, when there is one
    error_kind       VARCHAR,                  -- timeout | rate_limit | server | connection | client | auth | config | exception | missing
    error            VARCHAR,
    latency_ms       DOUBLE,
    input_tokens     BIGINT,
    output_tokens    BIGINT,
    cost_usd         DOUBLE,
    cached           BOOLEAN NOT NULL,         -- served from the response cache (cost 0)
    attempts         INTEGER NOT NULL,
    request_hash     VARCHAR,                  -- sha256:... response-cache key
    metadata         JSON,                     -- model, stop reason, retrieved context, ...
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    PRIMARY KEY (run_id, trial_id)
);

CREATE TABLE grades (
    run_id           VARCHAR NOT NULL,
    trial_id         VARCHAR NOT NULL,
    idx              INTEGER NOT NULL,         -- position among the trial's graders
    grader           VARCHAR NOT NULL,         -- registered name, e.g. contains
    metric           VARCHAR NOT NULL,         -- reported name, e.g. not-contains or `metric:`
    status           VARCHAR NOT NULL,         -- pass | fail | error | skipped
    score            DOUBLE,
    passed           BOOLEAN,
    reason           VARCHAR,
    weight           DOUBLE NOT NULL,
    threshold        DOUBLE,
    metadata         JSON,
    PRIMARY KEY (run_id, trial_id, idx)
);

-- Responses of cacheable targets, keyed by a hash of the whole request. Errors are
-- never stored here.
CREATE TABLE response_cache (
    key              VARCHAR PRIMARY KEY,      -- sha256:... of the request fingerprint
    provider         VARCHAR NOT NULL,
    output           JSON NOT NULL,            -- text, data, usage, metadata
    created_at       TIMESTAMPTZ NOT NULL
);
