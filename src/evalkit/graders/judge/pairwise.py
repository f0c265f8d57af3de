"""pairwise: the output against a reference output, or against another target's output
on the same case (`against: TARGET[PROMPT]`: prompt A vs prompt B), judged in both orders.

Judges favour whichever answer they read first. Each pair is judged twice, the output
once as A and once as B; when the two verdicts disagree the pair is a tie (score 0.5)
marked `position_bias`, and the run reports how often that happened.
"""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from evalkit.graders.base import Invalid, Score, Skip, Verdict, grader
from evalkit.graders.judge.client import current_judge
from evalkit.graders.judge.common import (
    JudgeParams,
    Sample,
    as_text,
    judge_samples,
    question_of,
)
from evalkit.graders.peers import current_peers, current_trial, parse_peer
from evalkit.records import Case, TargetOutput

OUTCOME_SCORE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


class PairwiseParams(JudgeParams):
    """pairwise: `against:` names another target (or `target[prompt]`) whose output on the
    same case and epoch is the reference; else `value:` is the reference output, default
    the case's `reference_output` metadata, else its `expected`."""

    reference: str | None = None
    against: str | None = None

    @field_validator("against")
    @classmethod
    def _a_target_reference(cls, value: str | None) -> str | None:
        if value is not None:
            parse_peer(value)  # ValueError -> a located config error at bind time
        return value

    criteria: str = (
        "Which response answers the question better: more correct, complete and helpful."
    )

    def check_case(self, case: Case) -> str | None:
        """Refused at bind time: nothing to compare with."""
        if self.against is None and reference_of(case, self) is None:
            return "needs a reference output: `value:`, metadata `reference_output` or `expected`"
        return None


def reference_of(case: Case, params: PairwiseParams) -> str | None:
    """The reference output the output is compared with."""
    if params.reference is not None:
        return params.reference
    if case.metadata.get("reference_output") is not None:
        return as_text(case.metadata["reference_output"])
    return None if case.expected is None else as_text(case.expected)


@grader("pairwise", params=PairwiseParams, value_field="reference")
async def pairwise(output: TargetOutput, case: Case, params: PairwiseParams) -> Verdict:
    """Is the output better than the reference? Both orders; an inconsistent pair is a tie."""
    if params.against is not None:
        peer = await _peer_output(case, params.against)
        if not isinstance(peer, str):
            return peer
        reference = peer
    else:
        reference = reference_of(case, params) or ""
    answer = output.text or as_text(output.data)
    question = question_of(case, params)
    verdicts = []
    for output_is in ("A", "B"):
        blocks = {"question": question}
        blocks["response_a"], blocks["response_b"] = (
            (answer, reference) if output_is == "A" else (reference, answer)
        )

        def read(verdict: dict[str, Any], _reply: TargetOutput, side: str = output_is) -> Sample:
            winner = verdict["winner"]
            outcome = "tie" if winner == "tie" else ("win" if winner == side else "loss")
            return Sample(
                OUTCOME_SCORE[outcome], None, verdict["reasoning"], verdict, {"outcome": outcome}
            )

        verdicts.append(
            await judge_samples("pairwise", params, blocks, {"criteria": params.criteria}, read)
        )
    first, second = verdicts
    if not isinstance(first, Score):
        return first
    if not isinstance(second, Score):
        return second
    combined = _combine(first, second)
    if isinstance(combined, Score) and params.against is not None:
        combined.metadata["against"] = params.against
    return combined


async def _peer_output(case: Case, ref: str) -> str | Skip | Invalid:
    """The text another target gave for this case and epoch, or why there is none."""
    target, prompt = parse_peer(ref)
    peers, trial = current_peers.get(), current_trial.get()
    if peers is None or trial is None:
        return Invalid(f"pairwise against '{ref}' needs a run (no peer outputs here)")
    if (target, prompt) == (trial.target_id, trial.prompt_id):
        return Skip(f"this output is the reference ('{ref}') the others are compared with")
    peer = await peers.wait(case, target, prompt, trial.epoch)
    if peer is None:
        return Skip(f"no output from '{ref}' for this case: it did not run")
    if peer.error is not None:
        return Skip(f"'{ref}' gave no output for this case ({peer.error.kind})")
    return peer.text if peer.text is not None else as_text(peer.data)


def _combine(first: Score, second: Score) -> Verdict:
    a, b = first.metadata.get("outcome"), second.metadata.get("outcome")
    if a is None or b is None:
        return Invalid("pairwise verdicts without an outcome")
    biased = a != b
    judge = current_judge()
    if judge is not None:
        judge.totals.pairs += 1
        judge.totals.position_biased += int(biased)
    outcome = "tie" if biased else a
    judge_meta = dict(first.metadata["judge"])
    for key in ("calls", "cached_calls", "input_tokens", "output_tokens"):
        judge_meta[key] += second.metadata["judge"][key]
    costs = (first.metadata["judge"]["cost_usd"], second.metadata["judge"]["cost_usd"])
    judge_meta["cost_usd"] = None if None in costs else sum(c for c in costs if c is not None)
    reasoning = f"output as A: {first.reason}\noutput as B: {second.reason}"
    metadata: dict[str, Any] = {
        "judge": judge_meta,
        "reasoning": reasoning,
        "outcome": outcome,
        "orders": {"output_first": a, "output_second": b},
        "position_bias": biased,
    }
    flaky = [m["flakiness"] for m in (first.metadata, second.metadata) if "flakiness" in m]
    if flaky:
        metadata["flakiness"] = max(flaky)
    why = "the two orders disagree, so it is a tie" if biased else f"{outcome} in both orders"
    return Score(OUTCOME_SCORE[outcome], None, f"{why}. {reasoning}", metadata)
