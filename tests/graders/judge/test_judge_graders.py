"""Every model-graded grader through `evalkit run`: a python system under test, the fake
server's scripted judge answering through the real Anthropic / OpenAI SDKs, and the
grades read back from DuckDB."""

from __future__ import annotations

import json

from tests.graders.judge.conftest import Cli, JudgeWorkspace, verdict


def _case(
    cid: str, answer: str, graders: list[dict[str, object]], **more: object
) -> dict[str, object]:
    return {
        "id": cid,
        "vars": {"question": f"Q-{cid}?", "answer": answer},
        "graders": graders,
        **more,
    }


def test_llm_rubric_pass_fail_and_a_verdict_that_does_not_parse(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    rubric = [{"type": "llm-rubric", "value": "Mentions the 30-day window"}]
    ws.suite(
        [
            _case("good", "Refunds within 30 days.", rubric),
            _case("bad", "No refunds, ever.", rubric),
            _case("garbled", "Whatever.", rubric),
            _case("offschema", "Whatever.", rubric),
        ]
    )
    ws.plan()
    ws.server.script(
        {
            "match": "Q-good",
            "reply": verdict(reasoning="It says 30 days.", score=0.9, **{"pass": True}),
        },
        {
            "match": "Q-bad",
            "reply": verdict(reasoning="No window given.", score=0.1, **{"pass": False}),
        },
        {"match": "Q-garbled", "reply": "I think it passes, probably."},
        {"match": "Q-offschema", "reply": verdict(score=2, **{"pass": "yes"})},
    )
    code, out = cli("run")
    assert code == 1, out
    grades = ws.grades()
    good, bad = grades["good"], grades["bad"]
    assert (good["status"], good["score"], good["reasoning"]) == ("pass", 0.9, "It says 30 days.")
    assert (bad["status"], bad["score"]) == ("fail", 0.1)
    assert good["judge_model"] == "anthropic:judge-model"
    assert good["judge_calls"] == 1 and good["judge_cached_calls"] == 0
    assert good["judge_input_tokens"] > 0 and good["judge_output_tokens"] > 0
    # never a silent score: an unreadable reply is an error, the raw reply kept
    garbled = grades["garbled"]
    assert (garbled["status"], garbled["score"], garbled["passed"]) == ("error", None, None)
    assert "not JSON" in garbled["reason"]
    assert garbled["metadata"]["raw_reply"] == "I think it passes, probably."
    offschema = grades["offschema"]
    assert offschema["status"] == "error" and "schema" in offschema["reason"]
    assert json.loads(offschema["metadata"]["raw_reply"])["pass"] == "yes"
    # the judge was asked through a forced tool call, at temperature 0
    judge_calls = [r for r in ws.server.requests() if r["model"] == "judge-model"]
    assert len(judge_calls) == 4
    body = judge_calls[0]["body"]
    assert body["tool_choice"]["type"] == "tool" and body["temperature"] == 0
    assert body["tools"][0]["input_schema"]["required"] == ["reasoning", "pass", "score"]
    # the target's spend and the judge's stay apart: the python target reports none
    assert ws.sql("SELECT sum(input_tokens) FROM results") == [(None,)]
    assert "It says 30 days." not in out  # passing grades' reasoning is not a failure line
    assert "No window given." in out


def test_factuality_maps_each_category_to_its_score(ws: JudgeWorkspace, cli: Cli) -> None:
    graders = [{"type": "factuality", "scores": {"subset": 0.25}}]
    categories = ["subset", "superset", "same", "contradiction", "differs-but-immaterial"]
    ws.suite([_case(c, f"answer {c}", graders, expected="30 days") for c in categories])
    ws.plan()
    ws.server.script(*({"match": f"Q-{c}?", "reply": verdict(category=c)} for c in categories))
    cli("run")
    grades = ws.grades()
    scores = {c: grades[c]["score"] for c in categories}
    assert scores == {
        "subset": 0.25,
        "superset": 1.0,
        "same": 1.0,
        "contradiction": 0.0,
        "differs-but-immaterial": 1.0,
    }
    assert grades["contradiction"]["status"] == "fail" and grades["same"]["status"] == "pass"
    prompt = next(r for r in ws.server.requests() if "Q-same" in r["last_user"])["last_user"]
    assert "30 days" in prompt and "<<<REFERENCE-" in prompt


def test_closed_qa_and_classify(ws: JudgeWorkspace, cli: Cli) -> None:
    tone = {
        "type": "classify",
        "prompt": "What is the tone?",
        "choices": {"polite": 1, "rude": 0, "neutral": 0.5},
    }
    ws.suite(
        [
            _case("yes", "Paris.", [{"type": "closed-qa", "value": "names a city"}]),
            _case("no", "Blue.", [{"type": "closed-qa", "value": "names a city"}]),
            _case("polite", "Thank you kindly.", [tone]),
            _case("neutral", "Ok.", [tone]),
            _case("invented", "Hm.", [tone]),
        ]
    )
    ws.plan()
    ws.server.script(
        {"match": "Q-yes", "reply": verdict(answer="Y")},
        {"match": "Q-no", "reply": verdict(answer="N")},
        {"match": "Q-polite", "reply": verdict(choice="polite")},
        {"match": "Q-neutral", "reply": verdict(choice="neutral")},
        {"match": "Q-invented", "reply": verdict(choice="sarcastic")},
    )
    cli("run")
    grades = ws.grades()
    assert (grades["yes"]["status"], grades["yes"]["score"]) == ("pass", 1.0)
    assert (grades["no"]["status"], grades["no"]["score"]) == ("fail", 0.0)
    assert grades["polite"]["score"] == 1.0 and grades["neutral"]["score"] == 0.5
    assert grades["invented"]["status"] == "error"  # not one of the choices: no score
    request = next(r for r in ws.server.requests() if "Q-polite" in r["last_user"])
    schema = request["body"]["tools"][0]["input_schema"]
    assert schema["properties"]["choice"]["enum"] == ["polite", "rude", "neutral"]
    assert list(schema["properties"]) == ["reasoning", "choice"]  # reason, then answer


def test_g_eval_plain_with_an_anthropic_judge(ws: JudgeWorkspace, cli: Cli) -> None:
    ws.suite([_case("clear", "A clear answer.", [{"type": "g-eval", "value": "Clarity"}])])
    ws.plan()
    ws.server.script(
        {"match": "Write 3 to 6", "reply": json.dumps({"steps": ["Read it", "Judge clarity"]})},
        {"match": "Q-clear", "reply": verdict(score=4)},
    )
    cli("run")
    grade = ws.grades()["clear"]
    assert grade["score"] == 0.75  # (4 - 1) / (5 - 1)
    assert grade["metadata"]["scoring"] == "plain"
    assert grade["judge_calls"] == 2  # the steps, then the score
    scoring = next(r for r in ws.server.requests() if "Q-clear" in r["last_user"])
    assert "1. Read it" in scoring["last_user"] and "2. Judge clarity" in scoring["last_user"]


def test_g_eval_weights_the_score_by_token_probabilities(ws: JudgeWorkspace, cli: Cli) -> None:
    graders = [{"type": "g-eval", "value": "Clarity", "steps": ["Judge clarity"]}]
    ws.suite([_case("a", "Answer a.", graders), _case("b", "Answer b.", graders)])
    ws.plan(judge="openai")
    ln = __import__("math").log
    ws.server.script(
        {"match": "Q-a", "reply": verdict(score=4), "top_logprobs": {"4": ln(0.5), "5": ln(0.5)}},
        {"match": "Q-b", "reply": verdict(score=2), "top_logprobs": {"2": ln(0.8), "1": ln(0.2)}},
    )
    cli("run")
    grades = ws.grades()
    a, b = grades["a"], grades["b"]
    assert a["metadata"]["scoring"] == "probability-weighted"
    assert abs(a["metadata"]["weighted_score"] - 4.5) < 1e-9 and a["metadata"]["raw_score"] == 4
    assert abs(a["score"] - 0.875) < 1e-9  # (4.5 - 1) / 4
    assert abs(b["metadata"]["weighted_score"] - 1.8) < 1e-9
    request = next(r for r in ws.server.requests() if "Q-a" in r["last_user"])["body"]
    assert request["logprobs"] is True and request["top_logprobs"] == 10
    assert request["response_format"]["type"] == "json_schema"


def test_pairwise_judges_both_orders_and_reports_position_bias(
    ws: JudgeWorkspace, cli: Cli
) -> None:
    pair = [{"type": "pairwise", "value": "The reference answer."}]
    ws.suite(
        [
            _case("better", "OUT-better", pair),
            _case("worse", "OUT-worse", pair),
            _case("biased", "OUT-biased", pair),
        ]
    )
    ws.plan()
    ws.server.script(
        # consistent: the output wins as A and as B
        {"match": "Q-better", "replies": [verdict(winner="A"), verdict(winner="B")]},
        # consistent: the reference wins in both orders
        {"match": "Q-worse", "replies": [verdict(winner="B"), verdict(winner="A")]},
        # position bias: "A" whichever is first
        {"match": "Q-biased", "replies": [verdict(winner="A"), verdict(winner="A")]},
    )
    _code, out = cli("run", "--concurrency", "1")
    grades = ws.grades()
    assert (grades["better"]["score"], grades["better"]["status"]) == (1.0, "pass")
    assert (grades["worse"]["score"], grades["worse"]["status"]) == (0.0, "fail")
    biased = grades["biased"]
    assert biased["score"] == 0.5 and biased["metadata"]["position_bias"] is True
    assert biased["metadata"]["orders"] == {"output_first": "win", "output_second": "loss"}
    assert biased["judge_calls"] == 2
    summary = json.loads(ws.sql("SELECT summary FROM runs")[0][0])
    assert summary["judge"]["pairs"] == 3
    assert abs(summary["judge"]["position_bias_rate"] - 1 / 3) < 1e-9
    assert "position bias" in out


def test_rag_graders(ws: JudgeWorkspace, cli: Cli) -> None:
    passages = ["KB-1: refunds within 30 days.", "KB-2: the office cat is called Tom."]
    ws.suite(
        [
            _case(
                "faithful",
                "Refunds: 30 days. Also free shipping.",
                [{"type": "faithfulness"}],
                context=passages,
            ),
            _case("relevant", "Refunds take 30 days.", [{"type": "answer-relevance"}]),
            _case("ctx", "Whatever.", [{"type": "context-relevance"}], context=passages),
            _case("ctx-bad", "Whatever.", [{"type": "context-relevance"}], context=passages),
            _case("no-ctx", "Whatever.", [{"type": "faithfulness"}]),
        ]
    )
    ws.plan()
    claims = [
        {"claim": "30 days", "supported": True},
        {"claim": "free shipping", "supported": False},
    ]
    ws.server.script(
        {"match": "Q-faithful", "reply": verdict(claims=claims)},
        {"match": "Q-relevant", "reply": verdict(relevance="partly")},
        {
            "match": "Q-ctx?",
            "reply": verdict(
                passages=[{"index": 1, "relevant": True}, {"index": 2, "relevant": False}]
            ),
        },
        {"match": "Q-ctx-bad", "reply": verdict(passages=[{"index": 1, "relevant": True}])},
    )
    cli("run")
    grades = ws.grades()
    assert grades["faithful"]["score"] == 0.5
    assert grades["faithful"]["metadata"]["supported"] == 1
    assert grades["relevant"]["score"] == 0.5
    assert grades["ctx"]["score"] == 0.5
    assert grades["ctx-bad"]["status"] == "error"  # rated one passage of two: unreadable
    assert grades["no-ctx"]["status"] == "error" and "no context" in grades["no-ctx"]["reason"]
    prompt = next(r for r in ws.server.requests() if "Q-faithful" in r["last_user"])["last_user"]
    assert "[1] KB-1" in prompt and "[2] KB-2" in prompt


def test_self_consistency_majority_and_flakiness(ws: JudgeWorkspace, cli: Cli) -> None:
    graders = [{"type": "llm-rubric", "value": "Polite", "samples": 3}]
    mean = [{"type": "llm-rubric", "value": "Polite", "samples": 2, "reduce": "mean"}]
    ws.suite(
        [
            _case("split", "Hi.", graders),
            _case("steady", "Hello.", graders),
            _case("avg", "Yo.", mean),
        ]
    )
    ws.plan(extra="concurrency: 1\n")
    yes, no = verdict(score=1, **{"pass": True}), verdict(score=0, **{"pass": False})
    ws.server.script(
        {"match": "Q-split", "replies": [yes, no, yes]},
        {"match": "Q-steady", "replies": [no]},
        {
            "match": "Q-avg",
            "replies": [
                verdict(score=0.2, **{"pass": False}),
                verdict(score=0.6, **{"pass": True}),
            ],
        },
    )
    cli("run")
    grades = ws.grades()
    split = grades["split"]
    assert split["status"] == "pass" and split["judge_calls"] == 3
    assert abs(split["flakiness"] - 2 / 3) < 1e-6  # one of three outside the majority, x2
    assert grades["steady"]["flakiness"] == 0.0 and grades["steady"]["status"] == "fail"
    avg = grades["avg"]
    assert abs(avg["score"] - 0.4) < 1e-9 and abs(avg["flakiness"] - 0.4) < 1e-6
