"""tools/count_errors.py: the count breakdown that models/README.md quotes, on hand-made scenes."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
import count_errors as ce  # noqa: E402


def obj(category, count, source, side):
    # `count` boxes; the smallest has shorter side `side`
    boxes = [[0, 0, side, side + 5]] + [[0, 0, 40, 40]] * (count - 1)
    return {"category": category, "count": count, "colour": None, "source": source, "boxes": boxes}


RECORDS = [
    {"id": "s1", "objects": [obj("dog", 3, "twemoji", 12), obj("cat", 1, "emoji", 30)]},
    {"id": "s2", "objects": [obj("dog", 2, "tuxpaint", 20), obj("horse", 1, "tuxpaint", 50)]},
    {"id": "s3", "objects": [obj("cat", 2, "emoji", 40)]},
]
CATEGORIES = ["cat", "dog", "horse"]
HELD_OUT = {"dog": "tuxpaint", "horse": "tuxpaint"}


def test_breakdown_by_true_count_source_and_size():
    captions = {"s1": "two dogs and a cat", "s2": "two dogs on the grass", "s3": "two cats and two cats"}
    r = ce.count_errors(RECORDS, captions, CATEGORIES, HELD_OUT)
    t = r["totals"]
    assert t["objects"] == 5 and t["named"] == 4 and t["count_ok"] == 3
    assert (t["seen_named"], t["seen_count_ok"]) == (3, 2)            # dog x3 (twemoji) wrong, cat, cats
    assert (t["held_out_objects"], t["held_out_named"], t["held_out_count_ok"]) == (2, 1, 1)  # horse missed
    assert r["by_true_count"] == {"1": {"1": 1, "miss": 1}, "2": {"2": 2}, "3": {"2": 1}}
    sizes = r["multi_instance_by_smallest_side"]
    assert sizes["<16"] == {"named": 1, "count_ok": 0}                 # the three dogs, smallest 12 px
    assert sizes["16-24"] == {"named": 1, "count_ok": 1}
    assert sizes["32+"] == {"named": 1, "count_ok": 1}
    assert sizes["24-32"] == {}
    assert "when named 3/4 = 75.0%" in ce.report(r)


def test_every_scene_needs_a_caption():
    with pytest.raises(ValueError, match="no caption"):
        ce.count_errors(RECORDS, {"s1": "a cat"}, CATEGORIES, HELD_OUT)


def test_captions_file_is_read_by_image_name(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text("data/x/images/test/s1.png\ttwo dogs\n\nother/s2.png\ta horse\n")
    assert ce.read_captions(str(p)) == {"s1": "two dogs", "s2": "a horse"}
    p.write_text("no tab here\n")
    with pytest.raises(SystemExit, match="expected"):
        ce.read_captions(str(p))
