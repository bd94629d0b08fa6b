"""The whole model pipeline on a tiny dataset: generate scenes -> train (--smoke, stopped and resumed) ->
export (FP32 + INT8, verified against eager) -> prune (structured + magnitude + fine-tune) -> evaluate.

This is the "smoke configuration" of tools/train.py run for real (about 1-2 minutes on 2 cores): it checks
that the tools work together and that training resumes where it stopped, not that the model is good.
Needs the Debian data sources (scripts/install_deps.sh installs them); skipped without them.
"""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, "tools")
sys.path.insert(0, os.path.join(TOOLS, "datagen"))
import sources  # noqa: E402

HAVE_SOURCES = os.path.exists(sources.EMOJI_FONT) and os.path.isdir(sources.TUXPAINT_DIR) \
    and os.path.isdir(sources.SH3D_DIR)


def run(args, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.skipif(not HAVE_SOURCES, reason="data sources not installed (scripts/install_deps.sh)")
def test_generate_train_resume_export_prune_evaluate(tmp_path):
    data, runs = tmp_path / "scenes", tmp_path / "runs"
    run([os.path.join(TOOLS, "datagen", "generate_scenes.py"), "--out", str(data), "--train", "200", "--val",
         "100", "--test", "20", "--size", "128", "--seed", "3", "--workers", "1", "--restyle", "0.5"])
    meta = json.loads((data / "meta.json").read_text())
    assert meta["counts"] == {"train": 200, "val": 100, "test": 20} and meta["seed"] == 3
    assert meta["restyle"] == {"train": 0.5, "val": 0.0, "test": 0.0}

    train = [os.path.join(TOOLS, "train.py"), "--name", "smoke", "--data", str(data), "--smoke",
             "--runs-dir", str(runs), "--threads", "1"]
    # Stop part-way through the second epoch (4 batches of 64 per epoch), then resume to the end.
    out = run(train + ["--max-steps", "6"])
    assert "--max-steps reached" in out
    assert (runs / "smoke" / "last.pt").exists()
    epochs_before = [json.loads(line)["epoch"] for line in (runs / "smoke" / "log.jsonl").read_text().splitlines()]
    assert epochs_before == [1]
    out = run(train + ["--resume"])
    assert "resuming" in out and "epoch 1 batch 2" in out
    epochs = [json.loads(line)["epoch"] for line in (runs / "smoke" / "log.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 16)), epochs  # each epoch logged once: the resumed run did not redo epoch 1
    best = runs / "smoke" / "best.pt"
    assert best.exists()
    # a second leg from the trained weights (fresh optimiser and schedule) with the style augmentation,
    # the complete-caption weighting, the count head, a block inserted by edgecap_model.deepen, then the
    # deeper encoder widened (edgecap_model.widen) and its grid made twice as fine (edgecap_model.densify)
    out = run([os.path.join(TOOLS, "train.py"), "--name", "smoke_ft", "--data", str(data), "--smoke",
               "--runs-dir", str(runs), "--threads", "1", "--init", str(best), "--style-aug", "1.0",
               "--complete-weight", "10", "--deepen", "3", "--count-weight", "0.5", "--max-steps", "2",
               "--widen", "16,48,96,160,128,192", "--densify", "3"])
    assert "initialised from" in out and "--max-steps reached" in out
    assert "has no count head: fitted one on the frozen encoder" in out and " count " in out
    import torch
    assert "count_head" not in torch.load(best, map_location="cpu")  # the default trains none
    leg = torch.load(runs / "smoke_ft" / "last.pt", map_location="cpu")
    assert leg["count_head"]["weight"].shape[0] == 1 + max(o["count"] for line in (data / "train.jsonl")
                                                           .read_text().splitlines()
                                                           for o in json.loads(line)["objects"])
    assert leg["variant_detail"].startswith("fine-tuned from") and leg["args"]["style_aug"] == 1.0
    assert leg["args"]["complete_weight"] == 10.0 and "deepened after blocks 3" in leg["variant_detail"]
    shallow = torch.load(best, map_location="cpu")["config"]
    assert shallow["conv_channels"] == [16, 48, 96, 128, 192]  # the default that --widen above is written for
    assert leg["config"]["conv_channels"] == [16, 48, 96, 160, 128, 192]
    assert leg["config"]["conv_strides"] == [2, 2, 2, 1, 1, 1] and leg["config"]["conv_dilations"] == [1, 1, 1, 1, 2, 2]
    assert "widened to" in leg["variant_detail"] and "densified at block 3" in leg["variant_detail"]
    assert "grid 8x8 -> 16x16" in out
    assert leg["vocab"] == torch.load(best, map_location="cpu")["vocab"]

    model = tmp_path / "smoke_model.pt"
    run([os.path.join(TOOLS, "export.py"), str(best), str(model), "--data", str(data)])
    from common import check_contract
    fp32 = check_contract(str(model))
    int8 = check_contract(str(tmp_path / "smoke_model.int8.pt"))
    assert fp32["precision"] == "fp32" and int8["precision"] == "int8"
    assert fp32["training"]["data"].endswith("train sprites restyled with p 0.5)"), fp32["training"]["data"]
    assert os.path.getsize(tmp_path / "smoke_model.int8.pt") < 0.6 * os.path.getsize(model)

    pruned = tmp_path / "pruned" / "P.pt"
    bad = subprocess.run([sys.executable, os.path.join(TOOLS, "prune.py"), str(best), "--data", str(data),
                          "--train-data", str(tmp_path / "missing")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing: no train.jsonl" in bad.stderr, bad.stderr  # refused up front
    out = run([os.path.join(TOOLS, "prune.py"), str(best), "--data", str(data), "--limit", "64",
               "--checkpoint-out", str(tmp_path / "pruned" / "pruned.pt"), "--output", str(pruned),
               "--original-file", str(model), "--criterion", "taylor", "--epoch-captions", "complete",
               "--train-data", str(data)])
    assert "Taylor importance from 64 training images" in out
    # --train-data: a second train split joins the epoch (here the same one again: twice the images)
    assert "fine-tune epoch: 128 images from 2 dataset(s)" in out
    report = json.loads((tmp_path / "pruned" / "pruning_report.json").read_text())
    assert report["ratios"]["parameters"] <= 0.70 and report["ratios"]["macs"] <= 0.70
    assert report["ratios"]["nonzero_parameters"] <= 0.63
    pmeta = check_contract(str(pruned))
    assert pmeta["variant"] == "pruned"
    assert "structured 30%" in pmeta["variant_detail"] and "global allocation" in pmeta["variant_detail"]
    assert pmeta["training"]["fine_tune"]["allocation"] == "global"
    assert len(pmeta["training"]["fine_tune"]["train_data"]) == 2
    # as many conv channels and decoder-side units go as 30% per layer would remove
    cfg_b, cfg_a = report["before"]["config"], report["final"]["config"]
    assert sum(cfg_a["conv_channels"]) == sum(round(0.7 * c) for c in cfg_b["conv_channels"])
    # the pruned file carries its own validation scores, not the original's
    assert pmeta["training"]["scores"] != fp32["training"].get("scores")

    # a stopped prune resumes where it stopped (the structured step not redone) and ends with the weights
    # of the uninterrupted run above; a fresh start never overwrites it
    resumed = tmp_path / "pruned_r"
    prune_r = [os.path.join(TOOLS, "prune.py"), str(best), "--data", str(data), "--limit", "64",
               "--checkpoint-out", str(resumed / "pruned.pt"), "--output", str(resumed / "P.pt"),
               "--original-file", str(model), "--criterion", "taylor", "--epoch-captions", "complete",
               "--train-data", str(data), "--save-every", "2"]
    out = run(prune_r + ["--max-steps", "3"])
    assert "--max-steps reached: stopped before batch 4/" in out and (resumed / "pruned.pt.partial").exists()
    assert not (resumed / "P.pt").exists()
    for extra, why in (([], "add --resume"), (["--resume", "--lr", "1e-3"], "other settings (lr)")):
        refused = subprocess.run([sys.executable, *prune_r, *extra], cwd=REPO, capture_output=True, text=True,
                                 timeout=120)
        assert refused.returncode == 2 and why in refused.stderr, refused.stderr
    out = run(prune_r + ["--resume"])
    assert "the structured and magnitude steps are not redone" in out and "Taylor importance" not in out
    assert "fine-tune epoch resumed at batch 4/" in out
    assert not (resumed / "pruned.pt.partial").exists() and (resumed / "P.pt").exists()
    whole = torch.load(tmp_path / "pruned" / "pruned.pt", map_location="cpu")["model"]
    again = torch.load(resumed / "pruned.pt", map_location="cpu")["model"]
    assert whole.keys() == again.keys() and all(torch.equal(whole[k], again[k]) for k in whole)

    result = tmp_path / "eval.json"
    run([os.path.join(TOOLS, "evaluate.py"), str(model), "--data", str(data), "--split", "test", "--beam", "2",
         "--out", str(result)])
    scores = json.loads(result.read_text())
    text = json.dumps(scores)
    for key in ("bleu4", "object_recall", "count_accuracy", "colour_accuracy"):
        assert key in text
    # every image's caption, for tools/compare_evals.py; the file compared with itself differs by nothing
    n_test = sum(1 for line in open(data / "test.jsonl") if line.strip())
    assert len(scores["captions"]["ids"]) == n_test == len(scores["captions"]["greedy"])
    assert len(scores["captions"]["beam2"]) == n_test
    proc = subprocess.run([sys.executable, os.path.join(TOOLS, "compare_evals.py"), str(result), str(result),
                           "--decode", "beam2", "--resamples", "100"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "object_recall" in proc.stdout and "+0.0" in proc.stdout, proc.stderr


@pytest.mark.parametrize("flag", [["--deepen", "3"], ["--widen", "16,48,96,160,192"], ["--densify", "3"]])
def test_growing_without_a_trained_model_is_refused(tmp_path, flag):
    """--deepen / --widen / --densify change a trained model; without --init there is none, and train.py
    says so before it reads any data, instead of quietly training the default model from scratch."""
    proc = subprocess.run([sys.executable, os.path.join(TOOLS, "train.py"), "--name", "x", "--runs-dir",
                           str(tmp_path), "--data", str(tmp_path / "none"), *flag],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "need --init CHECKPOINT" in proc.stderr, proc.stderr
    assert not (tmp_path / "x").exists()
