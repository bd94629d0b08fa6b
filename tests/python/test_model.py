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
from edgecap_model import Captioner, ModelConfig, count_macs, count_parameters
import prune


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
    params, nonzero = count_parameters(export.fold_batchnorm(mtm.tiny_model()))
    assert params < count_parameters(model)[0]  # BatchNorm is folded away in the file
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
    assert meta["precision"] == "int8" and meta["quantized_engine"] == "onednn"
    assert "random images" in meta["int8_calibration"]  # the tiny model has no data to calibrate on
    q, _ = load_scripted(q_path)
    for name in ["fc", "lstm", "enc_att", "dec_att", "init_h"]:
        qualified = getattr(q, name)._c._type().qualified_name()
        assert ".quantized.dynamic." in qualified, (name, qualified)
    # the encoder is statically quantized: quantize at its input, int8 Conv+ReLU blocks, dequantize at its end
    blocks = [m._c._type().qualified_name() for m in q.encoder.children()]
    assert "QuantizeInput" in blocks[0], blocks
    assert "DeQuantize" in blocks[-1], blocks
    for block in list(q.encoder.children())[1:-1]:  # Sequential(ConvReLU2d, Identity, Identity)
        conv = next(block.children())._c._type().qualified_name()
        assert "ConvReLU2d" in conv and ".quantized." in conv, conv
    assert summary["int8"]["fp32_vs_int8_max_abs_diff"] < 0.5


def test_quantize_input_gives_quantize_per_tensors_bytes():
    from edgecap_model import QuantizeInput
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32) * 3
    x[0, 0, 0, :4] = torch.tensor([0.5, 1.5, -2.5, 1e6]) * float(torch.tensor(0.0371))  # ties, clamp
    for module in (QuantizeInput(0.0371, 57), torch.jit.script(QuantizeInput(0.0371, 57))):
        q = module(x)
        scale = float(torch.tensor(0.0371))  # stored as a float32 buffer, as nn.quantized.Quantize does
        ref = torch.quantize_per_tensor(x, scale, 57, torch.quint8)
        assert q.dtype == torch.quint8 and q.q_zero_point() == 57 and q.q_scale() == ref.q_scale()
        assert torch.equal(q.int_repr(), ref.int_repr())


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


# ---- pruning ----------------------------------------------------------------------------------------
def small_model(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=20, conv_channels=[8, 12, 16], conv_strides=[2, 2, 2], embed_dim=10,
                      attention_dim=10, decoder_dim=20, dropout=0.0, image_size=32)
    m = Captioner(cfg)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.2, 2.0)
    return m.eval()


def _logprobs(model, img, tokens):
    state = model.encode(img)
    outs = []
    for t in tokens:
        lp, state = model.step(t, state)
        outs.append(lp)
    return torch.stack(outs)


def _varied_bn(m):
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.3, 0.3)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    return m


def test_deepen_inserts_identity_blocks():
    """edgecap_model.deepen: the deeper model has the inserted stride-1 blocks and, in eval mode, encodes
    and decodes exactly like the model it came from; it still exports (BN folding) and prunes."""
    from edgecap_model import deepen, fold_batchnorm
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=30, conv_channels=[8, 12, 16], conv_strides=[2, 2, 1], embed_dim=16,
                      attention_dim=16, decoder_dim=24, image_size=32)
    m = _varied_bn(Captioner(cfg)).eval()
    x = torch.randn(6, 3, 32, 32)
    d = deepen(m, [0, 2], torch.randn(16, 3, 32, 32)).eval()
    assert d.cfg.conv_channels == [8, 8, 12, 16, 16] and d.cfg.conv_strides == [2, 1, 2, 1, 1]
    assert d.cfg.grid == m.cfg.grid
    tokens = torch.randint(4, 30, (6, 5))
    with torch.no_grad():
        a, b = m.encode(x), d.encode(x)
        torch.testing.assert_close(b["feats"], a["feats"], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(d(x, tokens)[0], m(x, tokens)[0], atol=1e-5, rtol=1e-5)
        folded = fold_batchnorm(d)
        torch.testing.assert_close(folded.encode(x)["feats"], a["feats"], atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError):
        deepen(m, [3], x)
    small = prune.structured_prune(deepen(m, [0, 2], torch.randn(16, 3, 32, 32)), 0.3)
    assert small.cfg.conv_channels == [6, 6, 8, 11, 11]


def test_widen_adds_channels_that_keep_the_function():
    """edgecap_model.widen: the wider model has the asked channels, encodes and decodes like the narrow one
    (eval mode, and training mode with batch statistics), its copied channels are not identical in
    their outgoing weights (so training can tell them apart); it folds, exports and prunes."""
    from edgecap_model import widen
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=30, conv_channels=[8, 12, 16], conv_strides=[2, 2, 1], embed_dim=16,
                      attention_dim=16, decoder_dim=24, image_size=32)
    m = _varied_bn(Captioner(cfg)).eval()
    w = widen(m, [12, 20, 16]).eval()
    assert w.cfg.conv_channels == [12, 20, 16] and w.encoder[1][0].weight.shape == (20, 12, 3, 3)
    x, tokens = torch.randn(6, 3, 32, 32), torch.randint(4, 30, (6, 5))
    with torch.no_grad():
        torch.testing.assert_close(w.encode(x)["feats"], m.encode(x)["feats"], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(w(x, tokens)[0], m(x, tokens)[0], atol=1e-5, rtol=1e-5)
        m.train(), w.train()
        torch.testing.assert_close(w.encoder(x), m.encoder(x), atol=1e-5, rtol=1e-5)
    # block 1 reads 12 channels of which 4 are copies: a copy and its original share the weight unevenly
    w1, m1 = w.encoder[1][0].weight, m.encoder[1][0].weight
    assert not torch.allclose(w1[:12, :8], m1)
    with pytest.raises(ValueError):
        widen(m, [8, 12, 20])  # the last block is the encoder dimension
    with pytest.raises(ValueError):
        widen(m, [4, 12, 16])  # narrower
    assert prune.structured_prune(w.eval(), 0.3).cfg.conv_channels == [8, 14, 11]


def test_densify_doubles_the_grid_and_keeps_the_old_one():
    """edgecap_model.densify: the chosen stride-2 block gets stride 1 and the later blocks twice the
    dilation; the new grid is twice as fine and, at its even positions, is the old grid exactly. The
    dilations survive BN folding, TorchScript export with its metadata, INT8 and structured pruning."""
    from edgecap_model import densify, fold_batchnorm
    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=30, conv_channels=[8, 12, 16, 16], conv_strides=[2, 2, 2, 1],
                      embed_dim=16, attention_dim=16, decoder_dim=24, image_size=32)
    m = _varied_bn(Captioner(cfg)).eval()
    d = densify(m, 2).eval()
    assert d.cfg.conv_strides == [2, 2, 1, 1] and d.cfg.conv_dilations == [1, 1, 1, 2]
    assert (m.cfg.grid, d.cfg.grid) == (4, 8)
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(d.encoder(x)[:, :, ::2, ::2], m.encoder(x), atol=1e-5, rtol=1e-5)
        assert d.encode(x)["feats"].shape == (3, 64, 16)
        torch.testing.assert_close(fold_batchnorm(densify(m, 2)).encoder(x), d.encoder(x), atol=1e-4, rtol=1e-4)
    dd = densify(d, 1)  # dilations compound
    assert dd.cfg.conv_dilations == [1, 1, 2, 4] and dd.cfg.grid == 16
    with pytest.raises(ValueError):
        densify(m, 3)  # a stride-1 block
    small = prune.structured_prune(d, 0.3)
    assert small.cfg.conv_dilations == [1, 1, 1, 2] and small.encoder[3][0].dilation == (2, 2)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "dense.pt")
        export.export_model(d, [f"w{i}" for i in range(30)], out, variant="test", variant_detail="dense",
                            training={}, log=lambda *_: None)
        meta = check_contract(out)
        assert meta["architecture"]["grid_h"] == 8 and meta["architecture"]["conv_dilations"] == [1, 1, 1, 2]
        assert check_contract(export.int8_path(out))["architecture"]["grid_w"] == 8
        scripted, _ = load_scripted(out)
        assert scripted.encode(x)["feats"].shape == (3, 64, 16)


def test_unfold_batchnorm_inverts_folding():
    """edgecap_model.unfold_batchnorm: from a folded model, Conv+BN blocks that compute the same in eval mode,
    fold back to the same model, and in training mode (batch statistics) on the images their statistics
    came from compute the same too."""
    from edgecap_model import fold_batchnorm, unfold_batchnorm
    m = small_model(1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.bias.uniform_(-0.3, 0.3)
    folded = fold_batchnorm(m)
    calib = torch.randn(32, 3, 32, 32)
    u = unfold_batchnorm(folded, calib)
    assert all(isinstance(b[1], torch.nn.BatchNorm2d) for b in u.encoder)
    x, tokens = torch.randn(4, 3, 32, 32), torch.randint(4, 20, (5, 4))
    with torch.no_grad():
        torch.testing.assert_close(_logprobs(u, x, tokens), _logprobs(m, x, tokens), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fold_batchnorm(unfold_batchnorm(folded, calib)).encode(x)["feats"],
                                   folded.encode(x)["feats"], atol=1e-5, rtol=1e-5)
        train_feats = u.train().encoder(calib)
        torch.testing.assert_close(train_feats, folded.encoder(calib), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="folded"):
        unfold_batchnorm(small_model(), calib)


def _assert_captions_like(ckpt: dict, scripted, vocab_size: int, tmp_path) -> None:
    """The checkpoint, saved and read back as train.py/prune.py/export.py read it, scores tokens as `scripted`."""
    torch.save(ckpt, tmp_path / "ckpt.pt")
    model, _ = export.load_checkpoint(str(tmp_path / "ckpt.pt"))
    x, tokens = torch.randn(3, 3, 32, 32), torch.randint(4, vocab_size, (4, 3))
    with torch.no_grad():
        torch.testing.assert_close(_logprobs(model, x, tokens), _logprobs(scripted, x, tokens), atol=1e-5, rtol=1e-5)


def test_recover_checkpoint_from_an_exported_file(test_data, tmp_path):
    """tools/recover_checkpoint.py: the committed tiny file becomes a checkpoint that train.py/prune.py/export.py
    read, whose model captions like the file; an INT8 file is refused."""
    import recover_checkpoint as rc
    path = os.path.join(test_data, "tiny_model.pt")
    scripted, meta = load_scripted(path)
    ckpt = rc.recover(path, torch.randn(16, 3, 32, 32))
    assert ckpt["vocab"] == meta["vocab"] and ckpt["variant"] == "test"
    assert ckpt["recovered_from"]["sha256"] == rc.sha256(path)
    _assert_captions_like(ckpt, scripted, len(meta["vocab"]), tmp_path)
    with pytest.raises(ValueError, match="FP32"):
        rc.recover(os.path.join(test_data, "tiny_model.int8.pt"), torch.randn(16, 3, 32, 32))


def test_average_models_interpolates_the_folded_weights(test_data, tmp_path):
    """tools/average_models.py: the average of two FP32 files of one architecture is a checkpoint whose folded
    weights are the weighted mean of the files' (so the mean of a file with itself captions like the file);
    weights that do not sum to 1, INT8 files and files of another architecture are refused."""
    import average_models as am
    from common import METADATA_NAME
    path = os.path.join(test_data, "tiny_model.pt")
    scripted, meta = load_scripted(path)
    # a second file of the same architecture: every tensor of the first, shifted by a seeded amount
    other = torch.jit.load(path, map_location="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for t in other.state_dict().values():
            if t.is_floating_point():
                t.add_(0.05 * torch.randn(t.shape, generator=g))
    other_path = str(tmp_path / "other.pt")
    torch.jit.save(other, other_path, _extra_files={METADATA_NAME: json.dumps(meta)})
    images = torch.randn(16, 3, 32, 32)
    ckpt = am.average([path, other_path], [0.25, 0.75], images)
    assert ckpt["vocab"] == meta["vocab"] and len(ckpt["averaged_from"]) == 2
    torch.save(ckpt, tmp_path / "best.pt")
    model, _ = export.load_checkpoint(str(tmp_path / "best.pt"))
    from edgecap_model import fold_batchnorm
    folded = fold_batchnorm(model).state_dict()
    a, b = scripted.state_dict(), other.state_dict()
    for k, v in a.items():
        torch.testing.assert_close(folded[k], 0.25 * v + 0.75 * b[k], atol=1e-5, rtol=1e-4)
    _assert_captions_like(am.average([path, path], [0.5, 0.5], images), scripted, len(meta["vocab"]), tmp_path)
    with pytest.raises(ValueError, match="sum to 1"):
        am.average([path, other_path], [0.5, 0.6], images)
    with pytest.raises(ValueError, match="FP32"):
        am.average([path, os.path.join(test_data, "tiny_model.int8.pt")], [0.5, 0.5], images)
    wider = dict(meta, architecture=dict(meta["architecture"], decoder_dim=meta["architecture"]["decoder_dim"] + 1))
    wider_path = str(tmp_path / "wider.pt")
    torch.jit.save(other, wider_path, _extra_files={METADATA_NAME: json.dumps(wider)})
    with pytest.raises(ValueError, match="architecture"):
        am.average([path, wider_path], [0.5, 0.5], images)


def test_structured_prune_with_ratio_zero_is_identity():
    """Rebuilding with every unit kept must reproduce the model exactly: checks the slicing bookkeeping."""
    m = small_model()
    same = prune.structured_prune(m, 0.0)
    img = torch.randn(2, 3, 32, 32)
    toks = [torch.tensor([START, START]), torch.tensor([5, 7]), torch.tensor([9, 4])]
    assert torch.allclose(_logprobs(m, img, toks), _logprobs(same, img, toks), atol=1e-5)


def test_global_allocation_removes_the_same_number_of_channels_where_they_matter_least():
    """--allocation global: as many conv channels go as with the uniform rule, but the layer whose
    (per-layer normalised) importance is concentrated in few channels loses more; no layer goes below
    1 - 2*ratio of its channels; uniform keeps 70% of every layer."""
    flat = torch.ones(10)                       # every unit equally important
    peaked = torch.tensor([10.0] * 2 + [0.01] * 8)  # two channels carry the layer
    assert prune.keep_counts([flat, peaked], 0.3, "uniform") == [7, 7]
    counts = prune.keep_counts([flat, peaked], 0.3, "global")
    assert sum(counts) == 14
    assert counts == [10, 4]                    # the floor (ceil(10 * 0.4)) stops the peaked layer at 4
    with pytest.raises(ValueError):
        prune.keep_counts([flat], 0.3, "sideways")
    # structured_prune builds the model with those widths and it still runs
    m = small_model()
    scores = {"conv": [torch.rand(c) for c in m.cfg.conv_channels], "att": torch.rand(m.cfg.attention_dim),
              "emb": torch.rand(m.cfg.embed_dim), "dec": torch.rand(m.cfg.decoder_dim)}
    scores["conv"][0] = torch.tensor([5.0] + [1e-3] * (m.cfg.conv_channels[0] - 1))
    p = prune.structured_prune(m, 0.3, scores, "global")
    assert sum(p.cfg.conv_channels) == sum(prune.keep_counts(scores["conv"], 0.3, "uniform"))
    # the attention, embedding and decoder groups each keep 70%, whatever the allocation
    assert (p.cfg.attention_dim, p.cfg.embed_dim, p.cfg.decoder_dim) == (7, 7, 14)
    assert p.cfg.conv_channels[0] < prune._keep(m.cfg.conv_channels[0], 0.3)
    state = p.encode(torch.randn(2, 3, 32, 32))
    assert state["feats"].shape[-1] == p.cfg.conv_channels[-1]


def test_structured_prune_shrinks_tensors_and_macs():
    m = small_model()
    p = prune.structured_prune(m, 0.3)
    assert p.cfg.conv_channels == [6, 8, 11]
    assert (p.cfg.embed_dim, p.cfg.attention_dim, p.cfg.decoder_dim) == (7, 7, 14)
    assert p.lstm.weight_ih.shape == (4 * 14, 7 + 11) and p.lstm.weight_hh.shape == (4 * 14, 14)
    assert p.fc.weight.shape == (20, 14)
    assert count_parameters(p)[0] < 0.7 * count_parameters(m)[0]
    assert count_macs(p.cfg)["total"] < 0.7 * count_macs(m.cfg)["total"]
    # the kept conv channels are the same computation as in the original
    img = torch.randn(1, 3, 32, 32)
    full = m.encoder[0](img)
    small = p.encoder[0](img)
    kept = [c for c in range(8) if any(torch.allclose(small[0, k], full[0, c], atol=1e-5) for k in range(6))]
    assert len(kept) == 6
    # the pruned model still satisfies the contract after scripting
    s = torch.jit.script(p)
    lp, state = s.step(torch.tensor([START]), s.encode(img))
    assert lp.shape == (1, 20) and all(t.size(0) == 1 for t in state.values())


def _caption_loss(m, img, tokens):
    logits, _ = m(img, tokens)
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), tokens[:, 1:].reshape(-1),
                                             reduction="sum")


def test_taylor_scores_are_the_first_order_loss_change():
    """On one example the score of a unit is |d loss / d s| at s = 1 when the unit's output is scaled by s:
    checked by finite differences for an embedding unit and a conv channel (ReLU is positively homogeneous,
    so scaling BN's weight and bias scales the channel's output)."""
    m = small_model().double()  # float64: the loss differences are far below float32's resolution
    img, tokens = torch.randn(1, 3, 32, 32, dtype=torch.float64), torch.tensor([[START, 5, 7, 9, END]])
    scores = prune.taylor_scores(m, [(img, tokens)])
    assert [len(c) for c in scores["conv"]] == [8, 12, 16]
    assert (len(scores["att"]), len(scores["emb"]), len(scores["dec"])) == (10, 10, 20)
    eps = 1e-3

    def fd(scale_fn):
        m2 = small_model().double()
        with torch.no_grad():
            scale_fn(m2, 1 + eps)
            up = float(_caption_loss(m2, img, tokens))
            scale_fn(m2, (1 - eps) / (1 + eps))
            down = float(_caption_loss(m2, img, tokens))
        return abs(up - down) / (2 * eps)

    def emb_unit(mod, f):
        mod.embedding.weight[:, 3] *= f

    def conv_channel(mod, f):
        mod.encoder[1][1].weight[4] *= f
        mod.encoder[1][1].bias[4] *= f
    assert float(scores["emb"][3]) == pytest.approx(fd(emb_unit), rel=1e-3)
    assert float(scores["conv"][1][4]) == pytest.approx(fd(conv_channel), rel=1e-3)


def test_taylor_pruning_drops_dead_units_first():
    """A conv channel that is always zero and a decoder unit whose h and c stay zero cost nothing to remove:
    score 0, and structured_prune with the scores removes them."""
    m = small_model()
    with torch.no_grad():
        m.encoder[0][1].weight[2] = 0.0
        m.encoder[0][1].bias[2] = -1.0      # ReLU(-1) = 0 everywhere
        D = m.cfg.decoder_dim
        rows = torch.tensor([k * D + 7 for k in range(4)])
        for w in (m.lstm.weight_ih, m.lstm.weight_hh, m.lstm.bias_ih, m.lstm.bias_hh):
            w[rows] = 0.0                     # g = tanh(0) = 0, so c stays at its start value
        m.init_c.weight[7] = 0.0
        m.init_c.bias[7] = 0.0                # c starts at 0, so h = o * tanh(0) = 0
    batches = [(torch.randn(4, 3, 32, 32), torch.randint(4, 20, (4, 6)))]
    scores = prune.taylor_scores(m, batches)
    assert float(scores["conv"][0][2]) == 0.0 and float(scores["dec"][7]) == 0.0
    assert float(scores["conv"][0].sum()) > 0 and float(scores["dec"].sum()) > 0
    p = prune.structured_prune(m, 0.3, scores)
    assert p.cfg.conv_channels == [6, 8, 11] and p.cfg.decoder_dim == 14
    kept = [c for c in range(8) if any(torch.equal(p.encoder[0][0].weight[k], m.encoder[0][0].weight[c])
                                       for k in range(6))]
    assert 2 not in kept and len(kept) == 6


def test_magnitude_masks_zero_the_smallest_weights():
    p = prune.structured_prune(small_model(), 0.3)
    weights = prune.prunable_weights(p)
    n = sum(w.numel() for w in weights.values())
    masks = prune.magnitude_masks(p, 0.1)
    dropped = torch.cat([w.detach().abs()[~masks[n]] for n, w in weights.items()])
    kept = torch.cat([w.detach().abs()[masks[n]] for n, w in weights.items()])
    assert dropped.max() <= kept.min()  # global: every zeroed weight is smaller than every kept one
    prune.apply_masks(p, masks)
    zeros = sum(int((w == 0).sum()) for w in weights.values())
    assert abs(zeros - 0.1 * n) <= 2
    # biases and BatchNorm are untouched
    assert all(int((b == 0).sum()) == 0 for name, b in p.named_parameters()
               if name.endswith("bias") and not name.startswith("encoder"))


def test_masks_survive_an_optimiser_step():
    p = prune.structured_prune(small_model(), 0.3)
    masks = prune.magnitude_masks(p, 0.1)
    prune.apply_masks(p, masks)
    zero_before = sum(int((~m).sum()) for m in masks.values())
    opt = torch.optim.Adam(p.parameters(), lr=1e-2)
    p.train()
    logits, _ = p(torch.randn(4, 3, 32, 32), torch.randint(0, 20, (4, 6)))
    logits.sum().backward()
    opt.step()
    weights = prune.prunable_weights(p)
    assert sum(int((w == 0).sum()) for w in weights.values()) < zero_before  # the step moved them
    prune.apply_masks(p, masks)
    assert sum(int((w == 0).sum()) for w in weights.values()) >= zero_before


# ---- evaluation metrics -----------------------------------------------------------------------------
import evaluate as ev  # noqa: E402

CATS = ["dog", "hot dog", "car", "orange", "sheep", "skis", "cup", "traffic light", "person"]


def test_bleu_identity_and_a_hand_computed_value():
    refs = [[["a", "dog", "on", "the", "grass"]]]
    assert ev.corpus_bleu([["a", "dog", "on", "the", "grass"]], refs)["bleu4"] == pytest.approx(1.0)
    # hyp "a dog on grass": p1 = 4/4, p2 = 2/3 ("a dog", "dog on"), p3 = 1/2, p4 = 0/1; BP = exp(1 - 5/4)
    b = ev.corpus_bleu([["a", "dog", "on", "grass"]], refs)
    bp = pytest.approx
    import math
    assert b["bleu1"] == bp(math.exp(1 - 5 / 4))
    assert b["bleu2"] == bp(math.exp(1 - 5 / 4) * math.sqrt(2 / 3))
    assert b["bleu3"] == bp(math.exp(1 - 5 / 4) * (2 / 3 * 1 / 2) ** (1 / 3))
    assert b["bleu4"] == 0.0
    # clipping: "the the the" against "the cat" counts "the" once
    assert ev.corpus_bleu([["the", "the", "the"]], [[["the", "cat"]]])["bleu1"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("caption,expected", [
    ("an orange car on the road", [("car", 1, "orange")]),
    ("two oranges and a hot dog", [("orange", 2, None), ("hot dog", 1, None)]),
    ("a dog on a plain orange background", [("dog", 1, None)]),
    ("three sheep and a pair of red skis", [("sheep", 3, None), ("skis", 1, "red")]),
    ("two pairs of skis next to two traffic lights", [("skis", 2, None), ("traffic light", 2, None)]),
    ("there are two people", [("person", 2, None)]),
    ("dogs", [("dog", None, None)]),
])
def test_caption_parser(caption, expected):
    got = [(m.category, m.count, m.colour) for m in ev.parse_mentions(caption.split(), CATS)]
    assert got == expected


def test_attribute_scores_count_missing_objects_as_wrong():
    rec = {"objects": [{"category": "dog", "count": 2, "colour": None},
                       {"category": "car", "count": 1, "colour": "red"}],
           "relations": [{"subject": "dog", "relation": "left of", "object": "car"}], "captions": []}
    perfect = ev.attribute_scores(["two dogs to the left of a red car"], [rec], CATS)
    assert perfect["object_recall"] == 1.0 and perfect["count_accuracy"] == 1.0
    assert perfect["colour_accuracy"] == 1.0 and perfect["relation_accuracy"] == 1.0
    converse = ev.attribute_scores(["a red car to the right of two dogs"], [rec], CATS)
    assert converse["relation_accuracy"] == 1.0 and converse["relation_recall"] == 1.0
    wrong = ev.attribute_scores(["a dog to the right of a blue car"], [rec], CATS)
    assert wrong["object_recall"] == 1.0 and wrong["count_accuracy"] == 0.5
    assert wrong["colour_accuracy"] == 0.0 and wrong["relation_accuracy"] == 0.0
    missing = ev.attribute_scores(["a dog"], [rec], CATS)
    assert missing["object_recall"] == 0.5 and missing["count_accuracy"] == 0.0
    assert missing["colour_accuracy"] == 0.0 and missing["relation_accuracy"] is None
    hallucinated = ev.attribute_scores(["two dogs and a red car and a cup"], [rec], CATS)
    assert hallucinated["object_precision"] == pytest.approx(2 / 3)
    # recall split by sprite source: the car's source is the held-out one, the dog's is not
    rec["objects"][0]["source"], rec["objects"][1]["source"] = "emoji", "tuxpaint"
    split = ev.attribute_scores(["two dogs"], [rec], CATS, {"car": "tuxpaint", "dog": "sh3d"})
    assert split["object_recall_seen_sources"] == 1.0 and split["object_recall_held_out_sources"] == 0.0
    assert split["held_out_by_source"] == {"car/tuxpaint": {"objects": 1, "recalled": 0}}
    both = ev.attribute_scores(["a car", "a dog"], [rec, rec], CATS, {"car": "tuxpaint", "dog": "sh3d"})
    assert both["held_out_by_source"] == {"car/tuxpaint": {"objects": 2, "recalled": 1}}
    assert ev.held_out_summary({"car/tuxpaint": {"objects": 2, "recalled": 1},
                                "cat/sh3d": {"objects": 4, "recalled": 0},
                                "dog/tuxpaint": {"objects": 3, "recalled": 3}}) \
        == "cat/sh3d 0/4 car/tuxpaint 1/2 dog/tuxpaint 3/3"
    assert ev.attribute_scores(["two dogs"], [rec], CATS)["object_recall_held_out_sources"] is None


def test_complete_captions_get_the_complete_weight():
    """train.caption_weight: colour-naming captions x3; with complete_x, a caption that states every
    object, count and object colour of the scene is preferred; background colours do not count."""
    import train
    rec = {"objects": [{"category": "dog", "count": 2, "colour": None},
                       {"category": "car", "count": 1, "colour": "red"}]}
    complete, no_colour = "two dogs and a red car on the road", "two dogs and a car on the road"
    wrong_count, missing = "a dog and a red car", "a red car on a plain blue background"
    assert train.is_complete(complete, rec, CATS)
    for cap in (no_colour, wrong_count, missing):
        assert not train.is_complete(cap, rec, CATS)
    assert train.caption_weight(complete) == 3.0 and train.caption_weight(no_colour) == 1.0
    assert train.caption_weight(complete, rec, CATS, 10.0) == 30.0
    assert train.caption_weight(wrong_count, rec, CATS, 10.0) == 3.0
    assert train.caption_weight(no_colour, rec, CATS, 10.0) == 1.0
    assert train.caption_weight("a dog on a plain blue background") == 1.0
    plain = {"objects": [{"category": "dog", "count": 1, "colour": None}]}
    assert train.caption_weight("a dog on a plain blue background", plain, CATS, 10.0) == 10.0
    table, (ids, w) = train.caption_table([dict(rec, captions=[complete, no_colour])],
                                          {"<pad>": 0}, 20, True, CATS, 10.0)
    assert w.tolist() == [[30.0, 1.0]]


def test_fit_aux_head_learns_the_regions_and_leaves_the_encoder_alone():
    """train.fit_aux_head (an --init checkpoint without a region classifier): the head's loss falls well
    below that of the random head, the model's weights do not move, and the model is back in train mode."""
    import train
    m = small_model(2)
    bright = torch.arange(40) % 2
    images = (torch.randint(0, 100, (40, 3, 32, 32)) + 155 * bright.view(-1, 1, 1, 1)).to(torch.uint8)
    R = m.cfg.grid * m.cfg.grid
    # targets the features can predict: the category says whether the image is dark or bright
    cat_t = bright.add(1).unsqueeze(1).expand(-1, R).contiguous()
    col_t = torch.zeros(40, R, dtype=torch.long)
    head = torch.nn.Linear(m.cfg.encoder_dim, 3 + 2)
    with torch.no_grad():
        feats = m.eval().encode(train.normalise(images))["feats"]
        before = float(train.aux_loss(head(feats), 3, cat_t, col_t))
    weights = {k: v.clone() for k, v in m.state_dict().items()}
    after = train.fit_aux_head(m, head, images, 3, cat_t, col_t, steps=200)
    assert after < 0.5 * before
    assert all(torch.equal(weights[k], v) for k, v in m.state_dict().items())
    assert m.training


def test_region_and_count_targets_follow_the_boxes():
    """aux_targets / count_targets: a box paints every 16 px cell it touches (128 px, 8x8 grid) with its
    object's category, colour and instance count (capped); a later object overwrites; the rest is 0."""
    import train
    rec = {"objects": [
        {"category": "dog", "count": 2, "colour": "brown", "boxes": [[0, 0, 16, 16], [100, 100, 128, 128]]},
        {"category": "cat", "count": 4, "colour": None, "boxes": [[8, 8, 40, 20]]}]}
    cat_t, col_t = train.aux_targets([rec], ["cat", "dog"], ["black", "brown"], 8, 128)
    cnt_t = train.count_targets([rec], 8, 128, 3)
    cell = lambda x, y: y * 8 + x  # noqa: E731
    assert cat_t[0, cell(0, 0)] == 1 and col_t[0, cell(0, 0)] == 0 and cnt_t[0, cell(0, 0)] == 3  # cat over dog
    assert cat_t[0, cell(2, 1)] == 1 and cnt_t[0, cell(2, 1)] == 3       # [8, 40) x [8, 20): cells 0-2 x 0-1
    assert cat_t[0, cell(3, 1)] == 0 and cnt_t[0, cell(3, 1)] == 0
    assert cat_t[0, cell(7, 7)] == 2 and col_t[0, cell(7, 7)] == 2 and cnt_t[0, cell(7, 7)] == 2
    assert cat_t[0, cell(6, 6)] == 2 and cnt_t[0, cell(5, 5)] == 0        # [100, 128): cells 6-7
    assert int((cnt_t > 0).sum()) == int((cat_t > 0).sum()) == 6 + 4


def test_beam_search_through_the_contract(tiny_script):
    """Beam width 1 equals greedy; wider beams never score lower than greedy under the model."""
    from common import beam_decode, greedy_decode
    _, m = tiny_script
    img = torch.randn(1, 3, 32, 32)
    g = greedy_decode(m, img, max_len=8)[0]
    assert beam_decode(m, img, beam=1, max_len=8, length_norm=False) == g

    def logprob(seq):
        state, tok, total = m.encode(img), torch.tensor([START]), 0.0
        for w in seq:
            lp, state = m.step(tok, state)
            total += float(lp[0, w])
            tok = torch.tensor([w])
        return total

    b = beam_decode(m, img, beam=4, max_len=8, length_norm=False)
    if g[-1] == END and b[-1] == END:
        assert logprob(b) >= logprob(g) - 1e-5


@pytest.mark.parametrize("model", ["tests/data/tiny_model.pt", "tests/data/tiny_model.int8.pt",
                                   "models/lightweight_captioning_model.pt",
                                   "models/lightweight_captioning_model.int8.pt",
                                   "pruning_results/Pruning_epoch_1_checkpoint.pt"])
def test_reference_pipeline_eager_and_script_caption_alike(model):
    """The Python reference's eager mode (the seed's nn.Module with the file's weights; for INT8 the eager
    INT8 structure holding the file's int8 weights) must be the same model as the TorchScript file, or
    comparing their speed with edgecap's means nothing."""
    import json
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, model)
    if not os.path.exists(path):
        pytest.skip(f"{model} not built")
    out = {}
    for mode in ("eager", "script"):
        proc = subprocess.run([sys.executable, os.path.join(root, "tools", "reference_pipeline.py"), path,
                               os.path.join(root, "samples", "scenes"), "--iterations", "16", "--warmup", "0",
                               "--threads", "1", "--mode", mode, "--json"], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["eager"]["mode"] == "eager" and "eager" in out["eager"]["runtime"]
    assert len(out["eager"]["captions"]) == 16
    assert out["eager"]["captions"] == out["script"]["captions"]


def test_data_description_names_restyling_and_train_only_sources(tmp_path):
    import train
    root = tmp_path / "scenes_x"
    root.mkdir()
    (root / "meta.json").write_text(json.dumps({"generator_version": "1.4.0"}))
    assert train.data_description(str(root)) == "edgecap procedural scenes 1.4.0 (scenes_x)"
    (root / "meta.json").write_text(json.dumps({"generator_version": "1.4.0", "restyle": {"train": 0.6},
                                                "extra_sources": {"train": ["openclipart"]}}))
    assert train.data_description(str(root)) == ("edgecap procedural scenes 1.4.0 (scenes_x, train sprites "
                                                 "restyled with p 0.6, train-only sources: openclipart)")
    (root / "meta.json").write_text(json.dumps({"generator_version": "1.5.0", "seed": 0, "train_seed": 0}))
    assert train.data_description(str(root)) == "edgecap procedural scenes 1.5.0 (scenes_x)"
    (root / "meta.json").write_text(json.dumps({"generator_version": "1.5.0", "seed": 0, "train_seed": 1,
                                                "restyle": {"train": 0.6}}))
    assert train.data_description(str(root)) == ("edgecap procedural scenes 1.5.0 (scenes_x, train sprites "
                                                 "restyled with p 0.6, train scenes seed 1)")
    assert train.data_description(str(tmp_path / "missing")) == "edgecap procedural scenes ? (missing)"


def _write_eval(path, ids, captions, split="test", data="unused"):
    with open(path, "w") as f:
        json.dump({"split": split, "data": data, "captions": {"ids": ids, "greedy": captions}}, f)


def test_compare_evals_paired_bootstrap(tmp_path):
    """tools/compare_evals.py: identical captions differ by 0 with a [0, 0] interval; a file that names the car
    on every image is ahead on recall with an interval that excludes 0 and keeps counts per image; files
    evaluated on other images, or without per-image captions, are refused."""
    import compare_evals as ce
    data = tmp_path / "scenes"
    data.mkdir()
    recs = [{"id": f"t{i}", "captions": ["x"], "relations": [],
             "objects": [{"category": "dog", "count": 2, "colour": None, "source": "emoji"},
                         {"category": "car", "count": 1, "colour": "red", "source": "tuxpaint"}]}
            for i in range(40)]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (data / "meta.json").write_text(json.dumps({"categories": CATS, "held_out": {"sources": {"car": "tuxpaint"}}}))
    ids = [r["id"] for r in recs]
    a_caps = ["two dogs" if i % 2 else "a dog" for i in range(40)]  # every dog named, half of them counted right
    b_caps = [c + " and a red car" for c in a_caps]
    _write_eval(tmp_path / "a.json", ids, a_caps, data=str(data))
    _write_eval(tmp_path / "b.json", ids, b_caps, data=str(data))
    same = ce.compare(str(tmp_path / "a.json"), str(tmp_path / "a.json"), resamples=200)["metrics"]
    assert same["object_recall"]["diff"] == 0 and same["object_recall"]["ci95"] == [0.0, 0.0]
    res = ce.compare(str(tmp_path / "a.json"), str(tmp_path / "b.json"), resamples=200)["metrics"]
    assert res["object_recall"]["a"] == pytest.approx(0.5) and res["object_recall"]["b"] == pytest.approx(1.0)
    assert res["object_recall"]["ci95"] == pytest.approx([0.5, 0.5])  # the same gain on every image
    assert res["count_accuracy"]["a"] == pytest.approx(0.25) and res["count_accuracy"]["b"] == pytest.approx(0.75)
    assert res["object_recall_held_out_sources"]["diff"] == pytest.approx(1.0)
    assert res["colour_accuracy"]["b"] == pytest.approx(1.0)
    # a gain on only some images: the interval is wide but above 0
    mixed = [c + (" and a car" if i < 10 else "") for i, c in enumerate(a_caps)]
    _write_eval(tmp_path / "m.json", ids, mixed, data=str(data))
    lo, hi = ce.compare(str(tmp_path / "a.json"), str(tmp_path / "m.json"), resamples=500)["metrics"][
        "object_recall"]["ci95"]
    assert 0 < lo < 0.125 < hi
    _write_eval(tmp_path / "other.json", ids[::-1], a_caps, data=str(data))
    with pytest.raises(ValueError, match="same images"):
        ce.compare(str(tmp_path / "a.json"), str(tmp_path / "other.json"))
    (tmp_path / "old.json").write_text(json.dumps({"split": "test", "data": str(data)}))
    with pytest.raises(ValueError, match="per-image greedy captions"):
        ce.compare(str(tmp_path / "a.json"), str(tmp_path / "old.json"))
