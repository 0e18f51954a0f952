"""The Embedder: the real offline model, normalised float32, and a cache that makes
re-embedding free."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from impact_graph.ingest.embed import MODEL_ENV, Embedder, EmbeddingError


@pytest.fixture(scope="module")
def model_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    cache = tmp_path_factory.mktemp("emb") / "cache" / "embeddings.sqlite"
    return Embedder(cache_path=cache)


def test_vectors_fit_the_schema_and_are_normalised(model_embedder: Embedder, schema) -> None:  # type: ignore[no-untyped-def]
    model_embedder.check_dimension(schema.vector_dimensions)
    vecs = model_embedder.embed(["Eenzaamheid onder ouderen neemt toe.", "Schoolverzuim."])
    assert vecs.dtype == np.float32 and vecs.shape == (2, schema.vector_dimensions)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    similar = model_embedder.embed(["Loneliness among older adults is rising."])[0]
    assert float(vecs[0] @ similar) > float(vecs[1] @ similar)


def test_cache_serves_repeats_without_the_model(model_embedder: Embedder) -> None:
    texts = ["Welzijn op Recept verbindt huisartsen en welzijnswerk.", "Een tweede tekst."]
    first = model_embedder.embed(texts)
    assert model_embedder.cache is not None
    fresh = Embedder(model_embedder.model_name, cache_path=model_embedder.cache.path)
    again = fresh.embed([*texts, texts[0]])
    assert fresh._model is None  # served from the SQLite cache: the model never loaded
    assert (fresh.hits, fresh.misses) == (3, 0)
    assert np.array_equal(again[:2], first) and np.array_equal(again[2], first[0])


def test_duplicate_texts_are_encoded_once(model_embedder: Embedder) -> None:
    before = model_embedder.misses
    out = model_embedder.embed(["dubbel unieke zin 17", "dubbel unieke zin 17"])
    assert model_embedder.misses - before == 1 and np.array_equal(out[0], out[1])


def test_wrong_dimension_is_a_clear_error(model_embedder: Embedder) -> None:
    with pytest.raises(EmbeddingError, match=r"384-dimensional.*expect 768"):
        model_embedder.check_dimension(768)


def test_missing_model_names_the_setting(tmp_path: Path) -> None:
    e = Embedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingError, match=MODEL_ENV):
        e.embed(["x"])


def test_token_budget_is_what_the_model_reads(model_embedder: Embedder) -> None:
    model = model_embedder.model
    assert model_embedder.max_tokens == model.max_seq_length - 2  # [CLS] and [SEP]
    sentence = "Eenzaamheid onder ouderen in de gemeente Wadstede neemt toe."
    counts = model_embedder.count_tokens([sentence, sentence + " " + sentence, ""])
    assert counts[0] > len(sentence.split())  # Dutch words become several word pieces
    assert counts[1] == 2 * counts[0] and counts[2] == 0
    # The count agrees with what the model is fed: past the budget the tail is ignored.
    long = " ".join([sentence] * 40)
    assert model_embedder.count_tokens([long])[0] > model_embedder.max_tokens
    head = model_embedder.model.tokenizer.decode(
        model_embedder.model.tokenizer(long, add_special_tokens=False)["input_ids"][
            : model_embedder.max_tokens
        ]
    )
    same = model_embedder.encode([long, head])
    assert float(same[0] @ same[1]) > 0.999


def test_shipped_vocabulary_vectors_serve_only_their_model(
    model_embedder: Embedder, tmp_path: Path
) -> None:
    """A vocabulary concept's text is served from the package's vectors without the
    model for the default model, and goes to the model for any other model id."""
    from impact_graph.vocab_vectors.build import vocabulary_texts

    text = vocabulary_texts()[0]
    default = Embedder(vocab_vectors=True)  # no cache: only the shipped file can serve it
    served = default.embed([text, text])
    assert default._model is None and default.shipped_hits == 2
    assert (default.hits, default.misses) == (2, 0)

    # The same model files under another directory name: another model id.
    source = Path(model_embedder.model_name)
    other_dir = tmp_path / "another" / "model"
    other_dir.parent.mkdir()
    other_dir.symlink_to(source, target_is_directory=True)
    other = Embedder(str(other_dir), cache_path=tmp_path / "emb.sqlite")
    assert other.model_id == "another/model" != default.model_id
    assert other.shipped_vectors() is None
    other._model = model_embedder.model  # the loaded model, to spare a second load
    mine = other.embed([text])
    assert (other.shipped_hits, other.misses, other.model_calls) == (0, 1, 1)
    # Same weights, so the model's own vector agrees with the shipped float16 one.
    assert float(mine[0] @ served[0]) >= 0.999

    off = Embedder(vocab_vectors=False)
    assert off.shipped_vectors() is None


def test_a_cpu_model_loads_without_triton_and_exits_cleanly(model_embedder: Embedder) -> None:
    """Loading the model on the CPU keeps Triton out of the process (it only compiles GPU
    kernels): the process exits without nanobind's "leaked ... triton" lines, and the
    vectors are those of this process's model."""
    import json
    import subprocess
    import sys

    text = "Welzijn op Recept vermindert eenzaamheid bij ouderen."
    script = (
        "import json, sys\n"
        "from impact_graph.ingest.embed import Embedder\n"
        "e = Embedder(vocab_vectors=False)\n"
        f"v = e.encode([{text!r}])[0]\n"
        "print(json.dumps({'triton': sys.modules.get('triton') is not None,"
        " 'dynamo': 'torch._dynamo' in sys.modules, 'vec': [float(x) for x in v]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["dynamo"], "torch._dynamo no longer loads: the test no longer proves anything"
    assert not got["triton"]
    assert "leaked" not in done.stderr, done.stderr[-2000:]
    mine = model_embedder.encode([text])[0]
    assert float(np.asarray(got["vec"], dtype=np.float32) @ mine) >= 0.9999


def test_triton_is_kept_out_only_for_a_cpu_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from impact_graph.ingest.embed import without_triton

    monkeypatch.delitem(sys.modules, "triton", raising=False)
    assert without_triton("cuda") is False and "triton" not in sys.modules
    assert without_triton("cpu") is True and sys.modules["triton"] is None
    with pytest.raises(ImportError):
        import triton  # noqa: F401
    assert without_triton("cpu") is False  # already decided: left as it is
