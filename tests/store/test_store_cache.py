"""The response cache: written by the writer, read back in one query."""

from __future__ import annotations

from pathlib import Path

from evalkit.records import Status, Usage
from evalkit.store.db import Store
from tests.store import factories as f


def _write(store: Store, run_id: str, *puts: tuple[object, ...]) -> None:
    writer = store.writer(run_id)
    for args in puts:
        writer.put(*args)  # type: ignore[arg-type]
    writer.close()


def test_a_fresh_output_comes_back_cached_and_free(tmp_path: Path) -> None:
    fresh = f.result("r1", f.case(), text="Refunds take 5 days ✓", latency_ms=812.5)
    fresh.output.data = {"days": 5}
    fresh.output.usage = Usage(120, 7, cache_read_tokens=100, cache_write_tokens=3)
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        _write(store, "r1", (fresh, "sha256:k1", "anthropic"))
        found = store.cached_outputs(["sha256:k1", "sha256:unknown", "sha256:k1"])
        provider = store.con.execute("SELECT provider FROM response_cache").fetchall()
    assert list(found) == ["sha256:k1"]
    hit = found["sha256:k1"]
    assert hit.text == "Refunds take 5 days ✓"
    assert hit.data == {"days": 5}
    assert hit.usage == Usage(120, 7, 100, 3)
    assert hit.metadata == {"model": "m-1", "note": "naïve ✓"}
    assert hit.latency_ms == 812.5  # the live call's, so latency graders agree
    assert (hit.cached, hit.cost_usd, hit.attempts, hit.error) == (True, 0.0, 0, None)
    assert provider == [("anthropic",)]


def test_errors_are_never_cached(tmp_path: Path) -> None:
    failed = f.result("r1", f.case(), status=Status.ERROR, error=f.timeout())
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        _write(store, "r1", (failed, "sha256:k1", "openai"))
        assert store.cached_outputs(["sha256:k1"]) == {}
        # the key is still recorded on the result, for tracing
        assert store.con.execute("SELECT request_hash FROM results").fetchall() == [("sha256:k1",)]


def test_an_output_served_from_the_cache_is_not_written_again(tmp_path: Path) -> None:
    served = f.result("r1", f.case(), cached=True)
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        _write(store, "r1", (served, "sha256:k1", "openai"))
        assert store.con.execute("SELECT count(*) FROM response_cache").fetchone() == (0,)
        assert store.con.execute("SELECT cached FROM results").fetchall() == [(True,)]


def test_no_key_no_cache_row(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        _write(store, "r1", (f.result("r1", f.case()),))
        assert store.con.execute("SELECT count(*) FROM response_cache").fetchone() == (0,)


def test_a_newer_answer_replaces_the_cached_one(tmp_path: Path) -> None:
    c = f.case()
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        f.start(store, "r2", [])
        # two epochs with the same key in one batch: the last one wins, no key clash
        _write(
            store, "r1",
            (f.result("r1", c, epoch=0, text="first"), "sha256:k1", "openai"),
            (f.result("r1", c, epoch=1, text="second"), "sha256:k1", "openai"),
        )  # fmt: skip
        assert store.cached_outputs(["sha256:k1"])["sha256:k1"].text == "second"
        # a later run (say with --no-cache) refreshes the entry
        _write(store, "r2", (f.result("r2", c, text="third"), "sha256:k1", "openai"))
        assert store.cached_outputs(["sha256:k1"])["sha256:k1"].text == "third"
        assert store.con.execute("SELECT count(*) FROM response_cache").fetchone() == (1,)


def test_looking_up_nothing_returns_nothing(tmp_path: Path) -> None:
    with f.open_store(tmp_path) as store:
        assert store.cached_outputs([]) == {}


def test_an_output_without_usage_or_metadata_round_trips(tmp_path: Path) -> None:
    bare = f.result("r1", f.case())
    bare.output.usage = None
    bare.output.metadata = {}
    with f.open_store(tmp_path) as fresh:
        f.start(fresh, "r1", [])
        writer = fresh.writer("r1")
        writer.put(bare, cache_key="sha256:bare", provider="http")
        writer.close()
        hit = fresh.cached_outputs(["sha256:bare"])["sha256:bare"]
        tokens = fresh.con.execute("SELECT input_tokens, metadata FROM results").fetchall()
    assert (hit.usage, hit.metadata, hit.text) == (None, {}, "yes")
    assert tokens == [(None, None)]


def test_a_large_output_is_cached_out_of_line_and_comes_back_whole(tmp_path: Path) -> None:
    text = "long answer ✓ " * 10000  # ~150 KB: stored in parts, not in the cache's JSON
    big = f.result("r1", f.case(), text=text)
    judge_reply = f.result("r1", f.case(), text=text + "!").output
    with f.open_store(tmp_path) as store:
        f.start(store, "r1", [])
        writer = store.writer("r1")
        writer.put(big, "sha256:k1", "anthropic")
        writer.put_cache("sha256:k2", "anthropic", judge_reply)
        writer.close()
        found = store.cached_outputs(["sha256:k1", "sha256:k2"])
        stored = store.con.execute(
            "SELECT max(strlen(output::VARCHAR)) FROM response_cache"
        ).fetchone()
        parts = store.con.execute("SELECT count(DISTINCT text_hash) FROM large_texts").fetchone()
    assert found["sha256:k1"].text == text
    assert found["sha256:k2"].text == text + "!"
    assert stored is not None and stored[0] < 1000
    assert parts == (2,)
