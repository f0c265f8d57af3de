-- evalkit schema, version 9: the trajectory of every conversation or agent trial.
-- Shipped migrations are never edited: add a new file.
--
-- One row per step: a user or assistant message, or one tool execution. An assistant
-- step that asked for tools is followed by one `tool` row per call, in the order asked.
-- Graders of one turn say so in their grade's metadata (`turn`).
CREATE TABLE steps (
    run_id           VARCHAR NOT NULL,         -- joins results.run_id
    trial_id         VARCHAR NOT NULL,         -- joins results.trial_id
    idx              INTEGER NOT NULL,         -- 0-based position in the trajectory
    turn             INTEGER NOT NULL,         -- 1-based conversation turn (0: before the first)
    role             VARCHAR NOT NULL,         -- user | assistant | tool
    content          VARCHAR,                  -- the message text; a tool's result as text
    tool_name        VARCHAR,                  -- the tool called (role = tool)
    tool_call_id     VARCHAR,                  -- the provider's id linking a call to its result
    arguments        JSON,                     -- the arguments the model gave the tool
    result           JSON,                     -- what the tool returned
    error            VARCHAR,                  -- the tool failed or timed out: what the model was told
    latency_ms       DOUBLE,                   -- the model call's or the tool's wall time
    input_tokens     BIGINT,                   -- the model call's, as reported (role = assistant)
    output_tokens    BIGINT,                   -- the model call's, as reported (role = assistant)
    cached           BOOLEAN NOT NULL,         -- the model call was served from the response cache
    PRIMARY KEY (run_id, trial_id, idx)
);

-- A case's conversation: its turns (with their graders), simulated user, scripted tool
-- results and max_steps; NULL for a one-shot case.
ALTER TABLE cases ADD COLUMN conversation JSON;            -- turns, user, tool_results, max_steps of a conversation or agent case
