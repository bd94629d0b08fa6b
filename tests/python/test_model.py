"""Tests of the model file contract, export, INT8 and pruning. No trained weights needed.

Run: /usr/bin/python3 -m pytest tests/python -q
"""
import json
import os

import pytest
import torch

from common import END, START, check_contract, load_scripted
import export
import make_test_model as mtm
from edgecap_model import Captioner, count_macs, count_parameters


# ---- the committed files ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["tiny_model.pt", "tiny_model.int8.pt"])
def test_committed_tiny_models_pass_contract(test_data, name):
    path = os.path.join(test_data, name)
    meta = check_contract(path)
    assert meta["variant"] == "test"
    assert meta["precision"] == ("int8" if "int8" in name else "fp32")
    assert meta["vocab"] == mtm.TEST_VOCAB
    assert meta["input"]["height"] == 32 and meta["input"]["width"] == 32
    assert os.path.getsize(path) < 500 * 1024


def test_committed_tiny_model_is_reproducible(tmp_path, test_data):
    """make_test_model.py is deterministic: regenerating gives the same outputs as the committed file."""
    out = str(tmp_path / "tiny.pt")
    mtm.write_tiny(out, int8=False, log=lambda *_: None)
    fresh, _ = load_scripted(out)
    committed, _ = load_scripted(os.path.join(test_data, "tiny_model.pt"))
    img = torch.randn(2, 3, 32, 32)
    tok = torch.tensor([START, START])
    a, _ = fresh.step(tok, fresh.encode(img))
    b, _ = committed.step(tok, committed.encode(img))
    assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("kind,message", [
    ("no-step", "encode and step"),
    ("no-metadata", "no edgecap.json"),
    ("bad-json", "not valid JSON"),
    ("vocab-mismatch", "V == len(vocab)"),
    ("wrong-shape", "V == len(vocab)"),
])
def test_broken_files_fail_the_named_rule(test_data, kind, message):
    path = os.path.join(test_data, f"broken_{kind}.pt")
    assert os.path.exists(path), "run tools/make_test_model.py --broken all"
    torch.jit.load(path)  # each is a loadable TorchScript file; only the contract is broken
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_contract(path)


# ---- contract shapes --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_script():
    model = mtm.tiny_model()
    return model, torch.jit.script(model)


def test_encode_step_shapes_and_logprobs(tiny_script):
    _, m = tiny_script
    B, V, R = 3, len(mtm.TEST_VOCAB), 8 * 8
    state = m.encode(torch.randn(B, 3, 32, 32))
    assert set(state) >= {"feats", "proj", "h", "c", "alpha"}
    assert all(t.size(0) == B for t in state.values())
    assert state["alpha"].shape == (B, R)
    tokens = torch.full((B,), START, dtype=torch.long)
    for _ in range(3):
        logp, state = m.step(tokens, state)
        assert logp.shape == (B, V)
        assert torch.allclose(logp.exp().sum(1), torch.ones(B), atol=1e-5)
        assert all(t.size(0) == B for t in state.values())
        assert torch.allclose(state["alpha"].sum(1), torch.ones(B), atol=1e-5)
        tokens = logp.argmax(1)


def test_state_reorders_on_dim0_like_beam_search(tiny_script):
    """index_select(0, parents) on every state tensor is the same as decoding the chosen rows."""
    _, m = tiny_script
    img = torch.randn(3, 3, 32, 32)
    tok = torch.tensor([START] * 3)
    state = m.encode(img)
    _, state = m.step(tok, state)
    parents = torch.tensor([2, 2, 0])
    moved = {k: v.index_select(0, parents) for k, v in state.items()}
    lp_moved, _ = m.step(torch.tensor([4, 5, 6]), moved)
    state2 = m.encode(img[parents])
    _, state2 = m.step(tok, state2)
    lp_direct, _ = m.step(torch.tensor([4, 5, 6]), state2)
    assert torch.allclose(lp_moved, lp_direct, atol=1e-5)


def test_training_forward_matches_step(tiny_script):
    """Teacher forcing (training) and step (inference) compute the same function."""
    model, m = tiny_script
    img = torch.randn(2, 3, 32, 32)
    tokens = torch.tensor([[START, 4, 6, 10, END], [START, 5, 7, 2, 0]])
    with torch.no_grad():
        logits, _ = model(img, tokens)
    state = m.encode(img)
    for t in range(tokens.size(1) - 1):
        logp, state = m.step(tokens[:, t], state)
        assert torch.allclose(logp, torch.log_softmax(logits[:, t], 1), atol=1e-5)


# ---- metadata ---------------------------------------------------------------------------------------
def test_metadata_round_trip(tmp_path):
    out = str(tmp_path / "m.pt")
    mtm.write_tiny(out, int8=False, log=lambda *_: None)
    extra = {"edgecap.json": ""}
    torch.jit.load(out, _extra_files=extra)
    meta = json.loads(extra["edgecap.json"])
    model = mtm.tiny_model()
    params, nonzero = count_parameters(model)
    assert meta["format_version"] == 1
    assert meta["parameters"] == params and meta["nonzero_parameters"] == nonzero
    assert meta["macs"] == count_macs(model.cfg)["total"]
    assert meta["architecture"]["grid_h"] * meta["architecture"]["grid_w"] == 64
    assert meta["special_tokens"] == {"pad": 0, "start": 1, "end": 2, "unk": 3}
    assert "quantized_engine" not in meta


# ---- export and INT8 --------------------------------------------------------------------------------
def test_int8_export_quantizes_and_stays_close(tmp_path):
    out = str(tmp_path / "m.pt")
    summary = mtm.write_tiny(out, int8=True, log=lambda *_: None)
    q_path = str(tmp_path / "m.int8.pt")
    meta = check_contract(q_path)
    assert meta["precision"] == "int8" and meta["quantized_engine"] == "qnnpack"
    q, _ = load_scripted(q_path)
    for name in ["fc", "lstm", "enc_att", "dec_att", "init_h"]:
        qualified = getattr(q, name)._c._type().qualified_name()
        assert ".quantized.dynamic." in qualified, (name, qualified)
    assert summary["int8"]["fp32_vs_int8_max_abs_diff"] < 0.5


def test_export_verification_catches_mismatch(tmp_path, monkeypatch):
    """If the scripted module differs from the eager one, export refuses to write the file."""
    real_fold = export.fold_batchnorm

    def sabotaged_fold(model):
        folded = real_fold(model)
        with torch.no_grad():
            folded.fc.bias.add_(0.5 * torch.arange(folded.fc.bias.numel()))
        return folded

    monkeypatch.setattr(export, "fold_batchnorm", sabotaged_fold)
    out = str(tmp_path / "bad.pt")
    with pytest.raises(export.ExportMismatch):
        mtm.write_tiny(out, int8=False, log=lambda *_: None)
    assert not os.path.exists(out)


def test_bn_folding_is_exact():
    model = mtm.tiny_model()
    img = torch.randn(2, 3, 32, 32)
    before = model.encode(img)["feats"]
    after = export.fold_batchnorm(model).encode(img)["feats"]
    assert torch.allclose(before, after, atol=1e-5)
