-- evalkit schema, version 6: large outputs stored out of line, so a run's memory stays bounded.
-- Shipped migrations are never edited: add a new file.
--
-- To checkpoint a row group, DuckDB pins every string in it larger than about 64 KB at
-- once; under a memory cap a run of 100 KB outputs stopped after about 400 MB. So an
-- output larger than 32 KB (UTF-8) is stored here in parts of at most 8,192 characters,
-- once per distinct text, and `results.output` is NULL with `results.output_ref` set.
-- `full_output(output, output_ref)` and the `trials` view give the whole text back.
CREATE TABLE large_texts (
    text_hash        VARCHAR NOT NULL,         -- sha256:... of the whole text
    part             INTEGER NOT NULL,         -- 0-based position of this part
    text             VARCHAR NOT NULL,         -- at most 8,192 characters of it
    PRIMARY KEY (text_hash, part)
);

ALTER TABLE results ADD COLUMN output_ref VARCHAR;            -- large_texts.text_hash when the output is stored out of line (output is NULL then)

CREATE MACRO full_output(output, output_ref) AS coalesce(
    output,
    (SELECT string_agg(l.text, '' ORDER BY l.part) FROM large_texts l WHERE l.text_hash = output_ref)
);

DROP VIEW trials;
-- The `trials` view of version 2, with every output whole:
--   output  the text the target produced, whole even when stored out of line
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
    full_output(r.output, r.output_ref) AS output,
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
