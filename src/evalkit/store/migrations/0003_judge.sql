-- evalkit schema, version 3: what a model judge said and what it cost, per grade.
-- Shipped migrations are never edited: add a new file.
--
-- Judge tokens and cost live here, apart from the target's in `results`: a trial's
-- judge spend is the sum over its grades. Rule graders leave every column NULL.
ALTER TABLE grades ADD COLUMN reasoning VARCHAR;              -- the judge's reasoning, as it wrote it
ALTER TABLE grades ADD COLUMN judge_model VARCHAR;            -- the judge's target and model, e.g. anthropic:claude-sonnet-4-6
ALTER TABLE grades ADD COLUMN judge_calls INTEGER;            -- judge requests this grade needed (samples, both pairwise orders)
ALTER TABLE grades ADD COLUMN judge_cached_calls INTEGER;     -- of those, answered from the response cache (cost 0)
ALTER TABLE grades ADD COLUMN judge_input_tokens BIGINT;      -- judge prompt tokens, as reported by its provider
ALTER TABLE grades ADD COLUMN judge_output_tokens BIGINT;     -- judge reply tokens, as reported by its provider
ALTER TABLE grades ADD COLUMN judge_cost_usd DOUBLE;          -- judge cost from the price table; NULL when unknown
ALTER TABLE grades ADD COLUMN flakiness DOUBLE;               -- disagreement among K judge samples, 0 (all agree) to 1; NULL with one sample
