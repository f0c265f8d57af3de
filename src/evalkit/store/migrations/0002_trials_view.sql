-- evalkit schema, version 2: the `trials` view, for people querying the store with SQL.
-- Shipped migrations are never edited: add a new file.
--
-- One row per trial (results x cases x runs). Columns:
--   run_id  the run
--   trial_id  the trial: suite/case@target[prompt]#epoch
--   plan  the run's plan name
--   run_status  the run's status (running | completed | interrupted | failed)
--   run_started_at  when the run started
--   git_sha, git_branch  the commit and branch the run was made from
--   suite, case_id  the case
--   case_hash  the hash of the case's content (joins cases)
--   target_id, prompt_id  what answered (prompt_id NULL for single-prompt targets)
--   epoch  0-based repetition
--   status  pass | fail | error | skipped
--   passed  TRUE / FALSE, NULL for error and skipped
--   score  weighted mean of the grades, in [0, 1]
--   output, output_data  the text and structured output
--   error_kind, error  why the target failed, for status = error
--   latency_ms  wall time of the successful attempt
--   input_tokens, output_tokens  as reported by the provider
--   cost_usd  from the price table; NULL when the price is unknown
--   cached  served from the response cache
--   attempts  calls made, retries included
--   request_hash  the response-cache key
--   vars, expected, tags  the case's inputs, expected answer and tags
--   case_metadata, cluster  the case's metadata and cluster
--   started_at, finished_at  when the trial started and was graded
CREATE VIEW trials AS
SELECT
    r.run_id,
    r.trial_id,
    u.plan,
    u.status AS run_status,
    u.started_at AS run_started_at,
    u.git_sha,
    u.git_branch,
    r.suite,
    r.case_id,
    r.case_hash,
    r.target_id,
    r.prompt_id,
    r.epoch,
    r.status,
    r.passed,
    r.score,
    r.output,
    r.output_data,
    r.error_kind,
    r.error,
    r.latency_ms,
    r.input_tokens,
    r.output_tokens,
    r.cost_usd,
    r.cached,
    r.attempts,
    r.request_hash,
    c.vars,
    c.expected,
    c.tags,
    c.metadata AS case_metadata,
    c.cluster,
    r.started_at,
    r.finished_at
FROM results r
JOIN runs u USING (run_id)
LEFT JOIN cases c USING (case_hash);
