"""Tests for the offline scene generator (tools/datagen).

Run: /usr/bin/python3 -m pytest tests/python/test_datagen.py
Needs the data sources (tools/install_data_sources.sh); tests that render
scenes are skipped when they are missing.
"""
import hashlib
import io
import json
import os
import re
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "datagen"))

import grammar as G  # noqa: E402
import colour as C  # noqa: E402
import sources  # noqa: E402

HAVE_SOURCES = os.path.exists(sources.EMOJI_FONT) and os.path.isdir(sources.TUXPAINT_DIR) \
    and os.path.isdir(sources.SH3D_DIR)
needs_sources = pytest.mark.skipif(not HAVE_SOURCES, reason="data sources not installed")


# ---------------------------------------------------------------- grammar
@pytest.mark.parametrize("word,art", [
    ("dog", "a"), ("apple", "an"), ("umbrella", "an"), ("orange", "an"), ("elephant", "an"),
    ("airplane", "an"), ("oven", "an"), ("unicorn", "a"), ("university", "a"), ("hour", "an"),
    ("red", "a"), ("orange", "an"), ("white", "a"), ("one", "a"),
])
def test_article(word, art):
    assert G.article(word) == art


@pytest.mark.parametrize("noun,plural", [
    ("car", "cars"), ("bus", "buses"), ("bench", "benches"), ("toothbrush", "toothbrushes"),
    ("wine glass", "wine glasses"), ("sandwich", "sandwiches"), ("cherry", "cherries"),
    ("hot dog", "hot dogs"), ("teddy bear", "teddy bears"), ("box", "boxes"), ("key", "keys"),
    ("person", "people"), ("mouse", "mice"), ("knife", "knives"), ("sheep", "sheep"),
    ("skis", "skis"), ("scissors", "scissors"), ("tv", "tvs"), ("cell phone", "cell phones"),
])
def test_pluralize(noun, plural):
    assert G.pluralize(noun) == plural


def test_number_words():
    assert [G.number_word(n) for n in range(5)] == ["zero", "one", "two", "three", "four"]
    assert G.number_word(12) == "twelve"
    assert G.number_word(13) == "13"
    with pytest.raises(ValueError):
        G.number_word(-1)


def test_noun_phrases():
    assert G.noun_phrase("apple", 1) == "an apple"
    assert G.noun_phrase("car", 1, "orange") == "an orange car"
    assert G.noun_phrase("umbrella", 1, "red") == "a red umbrella"
    assert G.noun_phrase("person", 3) == "three people"
    assert G.noun_phrase("knife", 2, "blue") == "two blue knives"
    assert G.noun_phrase("skis", 1) == "a pair of skis"
    assert G.noun_phrase("scissors", 2) == "two pairs of scissors"
    assert G.existential("dog", 2) == "there are" and G.existential("dog", 1) == "there is"


def test_colour_terms_and_lists():
    assert G.COLOUR_TERMS == ["black", "white", "gray", "red", "orange", "yellow", "green",
                              "blue", "purple", "pink", "brown"]
    assert len(set(G.CATEGORIES)) == len(G.CATEGORIES)
    assert "parking meter" not in G.CATEGORIES and "hair drier" not in G.CATEGORIES
    assert set(G.BACKGROUNDS) == {"grass", "beach", "road", "snow", "room", "plain"}
    assert G.background_phrase("plain", "blue") == "on a plain blue background"
    with pytest.raises(ValueError):
        G.background_phrase("plain", "beige")


# ---------------------------------------------------------------- colour naming
def _sprite(rgb_left, rgb_right=None, size=40):
    a = np.zeros((size, size, 4), np.uint8)
    a[8:32, 8:32, :3] = rgb_left
    a[8:32, 8:32, 3] = 255
    if rgb_right is not None:
        a[8:32, 20:32, :3] = rgb_right
    return Image.fromarray(a, "RGBA")


@pytest.mark.parametrize("rgb,term", [
    ((220, 30, 30), "red"), ((30, 60, 220), "blue"), ((40, 170, 50), "green"),
    ((245, 220, 30), "yellow"), ((245, 140, 20), "orange"), ((130, 40, 180), "purple"),
    ((245, 130, 200), "pink"), ((110, 65, 30), "brown"), ((10, 10, 10), "black"),
    ((250, 250, 250), "white"), ((128, 128, 128), "gray"),
])
def test_measure_single_colour(rgb, term):
    assert C.measure_colour(_sprite(rgb))[0] == term


def test_measure_mixed_colours_is_none():
    # half red, half blue: neither dominates, so no colour may be stated
    assert C.measure_colour(_sprite((220, 30, 30), (30, 60, 220)))[0] is None


def test_measure_ignores_transparent_pixels():
    a = np.zeros((30, 30, 4), np.uint8)
    a[..., :3] = (30, 60, 220)          # invisible blue everywhere
    a[10:20, 10:20] = (220, 30, 30, 255)  # visible red square
    assert C.measure_colour(Image.fromarray(a, "RGBA"))[0] == "red"


# ---------------------------------------------------------------- scenes
@pytest.fixture(scope="module")
def gen():
    if not HAVE_SOURCES:
        pytest.skip("data sources not installed")
    import generate_scenes as GS
    GS.load_plans()
    return GS


@pytest.fixture(scope="module")
def records(gen):
    out = {}
    for split, n in (("train", 120), ("val", 30), ("test", 120)):
        out[split] = [gen.make_one(split, i, 0, 128)[1] for i in range(1, n + 1)]
    return out


def _png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_determinism_same_seed_same_bytes(gen):
    for split, i in (("train", 1), ("train", 77), ("test", 5)):
        im1, r1 = gen.make_one(split, i, 0, 128)
        im2, r2 = gen.make_one(split, i, 0, 128)
        assert _png_bytes(im1) == _png_bytes(im2)
        assert json.dumps(r1, sort_keys=True) == json.dumps(r2, sort_keys=True)
    # and a different seed gives a different scene
    a = hashlib.sha1(_png_bytes(gen.make_one("train", 1, 0, 128)[0])).hexdigest()
    b = hashlib.sha1(_png_bytes(gen.make_one("train", 1, 1, 128)[0])).hexdigest()
    assert a != b


def test_cli_writes_the_format_and_workers_do_not_change_output(gen, tmp_path):
    outs = []
    for w in (1, 2):
        out = tmp_path / f"w{w}"
        gen.main(["--out", str(out), "--train", "6", "--val", "2", "--test", "4", "--seed", "3",
                  "--workers", str(w)])
        outs.append(out)
    for split, n in (("train", 6), ("val", 2), ("test", 4)):
        t1 = (outs[0] / f"{split}.jsonl").read_text()
        assert t1 == (outs[1] / f"{split}.jsonl").read_text()
        lines = [json.loads(l) for l in t1.splitlines()]
        assert [r["id"] for r in lines] == [f"{split}_{i:06d}" for i in range(1, n + 1)]
        for r in lines:
            assert set(r) >= {"id", "image", "captions", "objects", "background", "relations"}
            p1, p2 = outs[0] / r["image"], outs[1] / r["image"]
            assert p1.read_bytes() == p2.read_bytes()
            with Image.open(p1) as im:
                assert im.size == (128, 128) and im.mode == "RGB"
    meta = json.loads((outs[0] / "meta.json").read_text())
    for key in ("generator_version", "seed", "size", "counts", "categories", "held_out",
                "colour_terms", "number_words", "background_words", "vocabulary"):
        assert key in meta
    assert meta["seed"] == 3 and meta["counts"] == {"train": 6, "val": 2, "test": 4}
    assert meta["colour_terms"] == G.COLOUR_TERMS
    vocab = set(meta["vocabulary"])
    for split in ("train", "val", "test"):
        for line in (outs[0] / f"{split}.jsonl").read_text().splitlines():
            for c in json.loads(line)["captions"]:
                assert set(c.split()) <= vocab, c


def test_captions_use_only_the_listed_vocabulary(gen, records):
    vocab = set(gen.vocabulary_words())
    assert 100 < len(vocab) < 400
    for split, recs in records.items():
        for r in recs:
            for c in r["captions"]:
                assert c == c.lower() and not c.endswith(".") and "  " not in c
                assert 2 <= len(c.split()) <= 18, c
                assert set(c.split()) <= vocab, (c, set(c.split()) - vocab)


def _category_pattern(cat):
    return re.escape(cat) + "|" + re.escape(G.pluralize(cat))


def test_ground_truth_matches_captions(records):
    colour_words = set(G.COLOUR_TERMS)
    for split, recs in records.items():
        for r in recs:
            objs = {o["category"]: o for o in r["objects"]}
            assert 1 <= len(objs) <= 3
            for o in r["objects"]:
                assert o["count"] == len(o["boxes"]) and 1 <= o["count"] <= 3
                assert o["colour"] is None or o["colour"] in colour_words
                if o["category"] not in C.ARBITRARY_COLOUR:
                    assert o["colour"] is None
                for x0, y0, x1, y1 in o["boxes"]:
                    assert 0 <= x0 < x1 <= 128 and 0 <= y0 < y1 <= 128
                # the plain caption names every group with its count
                assert G.noun_phrase(o["category"], o["count"]) in r["captions"][0]
                if o["colour"]:
                    assert any(G.noun_phrase(o["category"], o["count"], o["colour"]) in c
                               for c in r["captions"])
            assert r["background"] in G.BACKGROUNDS
            if r["background"] == "plain":  # never camouflaged on its own colour
                assert all(o["colour"] != r["background_colour"] for o in r["objects"])
            bgp = G.background_phrase(r["background"], r.get("background_colour"))
            assert bgp in r["captions"][0] or G.SKY_PHRASES.get(r["background"], "-") in r["captions"][0]
            for c in r["captions"]:
                toks = c.replace(bgp, "").split()
                for k, t in enumerate(toks):
                    rest = " ".join(toks[k + 1:])
                    follows = [o for o in r["objects"]
                               if re.match(r"(%s)\b" % _category_pattern(o["category"]), rest)]
                    if t in colour_words:
                        if follows:  # an adjective: must be that group's measured colour
                            assert follows[0]["colour"] == t, (c, t)
                        else:        # the only colour word that is also a noun
                            assert t == "orange" and "orange" in objs, (c, t)
                    if t in ("two", "three"):
                        rest2 = re.sub(r"^(pairs of )?((%s) )?" % "|".join(G.COLOUR_TERMS), "", rest)
                        hits = [o for o in r["objects"]
                                if re.match(r"(%s)\b" % _category_pattern(o["category"]), rest2)]
                        assert hits and hits[0]["count"] == G.NUMBER_WORDS.index(t), (c, t)
            for rel in r["relations"]:
                assert rel["relation"] in G.RELATIONS
                assert rel["subject"] in objs and rel["object"] in objs


def test_held_out_design(gen, records):
    import splits
    held = gen._plans["test"].held_out_sources
    pairs = {frozenset(p) for p in gen._plans["test"].held_out_pairs}
    assert len(held) >= 8 and len(pairs) >= 5
    for split in ("train", "val"):
        for r in records[split]:
            cats = {o["category"] for o in r["objects"]}
            for o in r["objects"]:
                assert held.get(o["category"]) != o["source"], (split, r["id"], o)
            assert not any(p <= cats for p in pairs), (split, r["id"], cats)
    # test really contains held-out material
    test = records["test"]
    n_src = sum(any(held.get(o["category"]) == o["source"] for o in r["objects"]) for r in test)
    n_pair = sum(any(p <= {o["category"] for o in r["objects"]} for p in pairs) for r in test)
    assert n_src >= 10 and n_pair >= 10
    assert splits.TEST_FORCE_P > 0


def test_every_category_has_a_source(gen):
    cats = set(gen._plans["test"].sprites)
    assert cats <= set(G.CATEGORIES)
    assert len(cats) >= 70
    for c, by_source in gen._plans["train"].sprites.items():
        assert by_source, c  # every category can still be trained


@needs_sources
def test_sprite_cache_holds_the_same_pixels_as_a_fresh_load():
    cats = {"dog", "toaster", "kite"}
    cached = sources.load_sprites(categories=cats)
    fresh = sources.load_sprites(categories=cats, use_cache=False)
    key = lambda sp: [(s.category, s.source, s.ref, s.image.size, s.image.tobytes())  # noqa: E731
                      for c in sorted(sp) for s in sp[c]]
    assert key(cached) == key(fresh) and len(key(fresh)) >= 6


@needs_sources
def test_emoji_styles_are_the_curated_emoji():
    # the extra styles never add an emoji the curated table does not list
    sp = sources.load_sprites()
    curated = {(c, ref) for c, refs in sources.CATEGORY_SOURCES.items() for s, ref in refs if s == "emoji"}
    for c, ss in sp.items():
        for s in ss:
            if s.source in sources.EMOJI_STYLES:
                assert (c, s.ref) in curated


# ---------------------------------------------------------------- restyling
def _shaded_sprite(rgb, size=48):
    a = np.zeros((size, size, 4), np.uint8)
    ramp = np.linspace(0.7, 1.0, 32)[:, None, None]   # shading, as drawn sprites have
    a[8:40, 12:36, :3] = (np.array(rgb)[None, None, :] * ramp).astype(np.uint8)
    a[8:40, 12:36, 3] = 255
    a[20:28, 18:30, :3] = (np.array(rgb) * 0.6).astype(np.uint8)  # some inner structure
    return Image.fromarray(a, "RGBA")


@pytest.mark.parametrize("op", ["flat", "soft", "light", "tone", "shape"])
@pytest.mark.parametrize("rgb,term", [((200, 30, 30), "red"), ((30, 60, 200), "blue"), ((40, 170, 50), "green")])
def test_restyle_keeps_the_colour_a_caption_states(op, rgb, term):
    import restyle as R
    img = _shaded_sprite(rgb)
    assert C.measure_colour(img)[0] == term
    for seed in range(5):
        out = R.restyle(img, np.random.default_rng(seed), [op])
        assert out.mode == "RGBA"
        assert C.measure_colour(out)[0] == term, (op, seed, C.measure_colour(out))


def test_restyle_changes_pixels_and_is_deterministic():
    import restyle as R
    img = _shaded_sprite((200, 30, 30))
    for op in R.OPERATIONS:
        a = R.restyle(img, np.random.default_rng(7), [op])
        b = R.restyle(img, np.random.default_rng(7), [op])
        assert a.tobytes() == b.tobytes() and a.size == b.size, op
        same_size = a.size == img.size
        assert not same_size or a.tobytes() != img.tobytes(), op
    # the outline grows the sprite, and draws dark pixels outside the old silhouette
    out = R.restyle(img, np.random.default_rng(1), ["outline"])
    assert out.width > img.width and out.height > img.height
    alpha = np.asarray(out)[..., 3]
    assert (alpha > 0).sum() > (np.asarray(img)[..., 3] > 0).sum()
    # a random restyle uses at least one operation
    rng = np.random.default_rng(3)
    assert all(R.pick_operations(rng) for _ in range(200))


def test_restyle_touches_train_only_and_is_recorded(gen):
    plans = gen._plans
    before = plans["train"].restyle
    try:
        plans["train"].restyle = 0.0
        plain = {s: [gen.make_one(s, i, 0, 128) for i in range(1, 25)] for s in ("train", "val", "test")}
        plans["train"].restyle = 1.0
        styled = {s: [gen.make_one(s, i, 0, 128) for i in range(1, 25)] for s in ("train", "val", "test")}
    finally:
        plans["train"].restyle = before
    for s in ("val", "test"):   # val and test do not change by a byte
        for (ia, ra), (ib, rb) in zip(plain[s], styled[s]):
            assert _png_bytes(ia) == _png_bytes(ib) and ra == rb
            assert all("restyled" not in o for o in rb["objects"])
    objs = [o for _, r in styled["train"] for o in r["objects"]]
    assert objs and all(o["restyled"] is True for o in objs)
    assert all("restyled" not in o for _, r in plain["train"] for o in r["objects"])
    assert any(_png_bytes(a) != _png_bytes(b) for (a, _), (b, _) in zip(plain["train"], styled["train"]))


def test_cli_rejects_a_restyle_chance_outside_0_1(gen, tmp_path):
    with pytest.raises(SystemExit):
        gen.main(["--out", str(tmp_path / "x"), "--train", "1", "--val", "1", "--test", "1", "--restyle", "1.5"])


# ---------------------------------------------------------------- train-only sources
def test_train_only_sources_never_reach_val_or_test(gen):
    import splits
    sp = sources.load_sprites()
    plain = splits.build_plans(sp)
    extra = splits.build_plans(sp, ("openclipart",))
    train_only = {src for refs in sources.TRAIN_ONLY_SOURCES.values() for src, _ in refs}
    assert train_only == {"openclipart", "gcompris", "scratch", "art4apps", "0ad", "fluent-3d", "render-3d",
                          "0ad-3d"}
    for plans in (plain, extra):
        for split in ("val", "test"):
            assert not any(s in train_only for srcs in plans[split].sprites.values() for s in srcs), split
        assert plans["val"].sprites.keys() == plain["val"].sprites.keys()
    assert not any("openclipart" in srcs for srcs in plain["train"].sprites.values())
    if os.path.isdir(sources.OPENCLIPART_DIR):
        with_oc = [c for c, srcs in extra["train"].sprites.items() if "openclipart" in srcs]
        assert len(with_oc) >= 40
        # a train-only source is added beside the category's own sources, held-out ones stay out
        held = extra["test"].held_out_sources
        for c in with_oc:
            assert held.get(c) not in extra["train"].sprites[c]
            assert set(extra["train"].sprites[c]) - {"openclipart"} == set(plain["train"].sprites[c])
    with pytest.raises(ValueError, match="unknown extra source"):
        splits.build_plans(sp, ("nosuchsource",))


# clear: the share of transparent pixels a picture must exceed (the Fluent 3-D books, phone, keyboard and
# shirt are rounded boxes that fill 96-99.8% of their crop; every 3-D emoji has its own transparency, so
# only its corners are checked for)
@pytest.mark.parametrize("table,loader,where,min_side,opaque,clear", [
    ("GCOMPRIS_SOURCES", "load_gcompris", "GCOMPRIS_RCC_DIR", 6, 0.0, 0.05),
    ("SCRATCH_SOURCES", "load_scratch", "SCRATCH_DIR", 20, 0.1, 0.05),
    ("ART4APPS_SOURCES", "load_art4apps", "ART4APPS_DIR", 20, 0.2, 0.05),
    ("ZEROAD_SOURCES", "load_zeroad", "ZEROAD_DIR", 60, 0.2, 0.05),
    ("FLUENT3D_SOURCES", "load_fluent3d", "FLUENT3D_DIR", 20, 0.2, 0.0)])
def test_every_curated_train_only_picture_loads_as_a_cutout(table, loader, where, min_side, opaque, clear):
    if not os.path.exists(getattr(sources, where)):
        pytest.skip(f"{getattr(sources, where)} not installed (tools/install_data_sources.sh)")
    seen = set()
    for cat, refs in getattr(sources, table).items():
        for source, ref in refs:
            assert ref not in seen, ref
            seen.add(ref)
            img = getattr(sources, loader)(ref)
            assert img is not None and img.mode == "RGBA", ref
            assert max(img.size) <= sources.SPRITE_MAX and min(img.size) >= min_side, (ref, img.size)
            alpha = np.asarray(img)[:, :, 3]
            # a cut-out, not a picture with its background: a good share of it is transparent, and
            # (where the source is not a line drawing) a good share opaque
            assert (alpha < 25).mean() > clear, (ref, (alpha < 25).mean())
            assert (alpha > 230).mean() > opaque, (ref, (alpha > 230).mean())


def test_a_missing_scratch_costume_is_none():
    assert sources.load_scratch("Animals/no-such-costume.png") is None


@pytest.mark.parametrize("source,table,where", [
    ("gcompris", "GCOMPRIS_SOURCES", "GCOMPRIS_RCC_DIR"),
    ("scratch", "SCRATCH_SOURCES", "SCRATCH_DIR"),
    ("art4apps", "ART4APPS_SOURCES", "ART4APPS_DIR"),
    ("0ad", "ZEROAD_SOURCES", "ZEROAD_DIR"),
    ("fluent-3d", "FLUENT3D_SOURCES", "FLUENT3D_DIR"),
    ("render-3d", "RENDER3D_SOURCES", "_REPO"),  # rendered here: always there
    ("0ad-3d", "ZEROAD3D_SOURCES", "zeroad3d.MESH_DIR")])
def test_a_curated_train_only_source_adds_to_the_categories_own_sources(source, table, where):
    import splits
    assert not any(src == source for refs in sources.CATEGORY_SOURCES.values() for src, _ in refs)
    sp = sources.load_sprites()
    plain = splits.build_plans(sp)
    plans = splits.build_plans(sp, (source,))
    for split in ("val", "test"):
        assert not any(source in srcs for srcs in plans[split].sprites.values())
    assert plans["test"].held_out_sources == plain["test"].held_out_sources
    module, _, name = where.rpartition(".")
    if os.path.exists(getattr(getattr(sources, module) if module else sources, name)):
        with_it = {c for c, srcs in plans["train"].sprites.items() if source in srcs}
        assert with_it == set(getattr(sources, table))
        for c in with_it:
            assert set(plans["train"].sprites[c]) - {source} == set(plain["train"].sprites[c])


def test_a_missing_0ad_portrait_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "ZEROAD_DIR", str(tmp_path))
    assert sources.load_zeroad("fauna_sheep#0.03,0.03,0.97,0.97") is None


def test_fluent_3d_leaves_out_the_categories_whose_held_out_source_is_a_fluent_style():
    # the 3-D render is the same artist's design as the Fluent picture the test split holds out
    import splits
    fluent_held = {c for c, s in splits.HELD_OUT_SOURCES.items() if s in (sources.FL, sources.FF)}
    assert sources.FLUENT3D_SKIP == fluent_held
    assert not fluent_held & set(sources.FLUENT3D_SOURCES)
    # every other curated emoji gets its 3-D render, and nothing else does
    for cat, refs in sources.CATEGORY_SOURCES.items():
        emoji = [ref for src, ref in refs if src == sources.E and ref not in sources.FLUENT3D_LEFT_OUT]
        if cat not in fluent_held:
            assert [ref for _, ref in sources.FLUENT3D_SOURCES.get(cat, [])] == emoji, cat
    assert {"cat", "laptop", "dog", "horse", "sheep"} <= set(sources.FLUENT3D_SOURCES)


def test_a_missing_fluent_3d_picture_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "FLUENT3D_DIR", str(tmp_path))
    assert sources.load_fluent3d("\U0001F408") is None
    # the file name is the code points in hex, found with or without the variation selector
    Image.new("RGBA", (40, 30), (200, 100, 50, 255)).save(tmp_path / "2708-fe0f.webp")
    assert sources.load_fluent3d("\u2708") is not None
    assert sources.load_fluent3d("\u2708\uFE0F").size == (40, 30)


# ---------------------------------------------------------------- render-3d (render3d.py)
def test_rasterise_covers_the_triangle_and_keeps_the_nearer_one():
    import render3d
    # a right triangle over half of a 20 px square, and a smaller one in front of it
    xy = np.array([[0, 0], [20, 0], [0, 20], [0, 0], [10, 0], [0, 10]], np.float32)
    z = np.array([5, 5, 5, 1, 1, 1], np.float32)
    tri, bary = render3d.rasterise(xy, z, np.array([[0, 1, 2]]), 20)
    assert abs((tri == 0).sum() - 200) <= 20   # half of 400 pixels, give or take the diagonal
    assert np.allclose(bary[tri == 0].sum(1), 1, atol=1e-5)
    tri, _ = render3d.rasterise(xy, z, np.array([[0, 1, 2], [3, 4, 5]]), 20)
    assert tri[2, 2] == 1 and tri[2, 15] == 0 and tri[18, 18] == -1
    # drawn in the other order, the nearer triangle still wins
    tri2, _ = render3d.rasterise(xy, z, np.array([[3, 4, 5], [0, 1, 2]]), 20)
    assert tri2[2, 2] == 0 and tri2[2, 15] == 1


def test_render_is_deterministic_and_a_cutout():
    import render3d
    a, b, c = render3d.render("laptop/3"), render3d.render("laptop/3"), render3d.render("laptop/4")
    assert a.mode == "RGBA" and a.size == (112, 112)
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    alpha = np.asarray(a)[:, :, 3]
    assert (alpha < 25).mean() > 0.05 and (alpha > 230).mean() > 0.2
    with pytest.raises(ValueError, match="unknown model"):
        render3d.render("cat/0")


def test_render_3d_laptops_are_cutouts_in_several_colours():
    refs = [ref for _, ref in sources.RENDER3D_SOURCES["laptop"]]
    assert len(refs) == len(set(refs)) == 24
    imgs = [sources.load_render3d(ref) for ref in refs[:8]]
    for ref, img in zip(refs, imgs):
        assert img is not None and max(img.size) <= sources.SPRITE_MAX and min(img.size) >= 40, ref
        assert (np.asarray(img)[:, :, 3] > 230).mean() > 0.3, ref
    means = [np.asarray(img)[np.asarray(img)[:, :, 3] > 230][:, :3].mean() for img in imgs]
    assert max(means) - min(means) > 40   # not one body colour eight times


def test_render_3d_draws_only_the_laptop_whose_held_out_source_is_sweet_home_3d():
    import splits
    assert set(sources.RENDER3D_SOURCES) == {"laptop"}
    assert splits.HELD_OUT_SOURCES["laptop"] == sources.S


def test_the_0ad_source_takes_no_lookalike_animals():
    # wolves and foxes are not dogs, a boar is not a pig COCO knows: a wrong mapping teaches a lie
    refs = {ref.split("#")[0] for refs in sources.ZEROAD_SOURCES.values() for _, ref in refs}
    assert not any(w in r for r in refs for w in ("wolf", "fox", "boar", "goat", "deer", "camel"))
    assert all(ref.startswith("fauna_") for ref in refs)


def test_cut_out_white_removes_the_page_but_not_white_inside_the_outline():
    page = Image.new("RGB", (60, 40), (255, 255, 255))
    d = ImageDraw.Draw(page)
    d.ellipse((10, 5, 50, 35), fill=(200, 60, 40), outline=(0, 0, 0), width=2)
    d.ellipse((25, 15, 35, 25), fill=(255, 255, 255))            # a white eye inside the outline
    page.putpixel((2, 2), (250, 247, 252))                         # JPEG noise on the page
    alpha = np.asarray(sources.cut_out_white(page))[:, :, 3]
    assert alpha[0, 0] == 0 and alpha[2, 2] == 0 and alpha[39, 59] == 0
    assert alpha[20, 15] == 255 and alpha[20, 30] == 255          # the body and the white eye stay
    assert (alpha == 255).sum() == pytest.approx(np.pi * 20 * 15, rel=0.15)


def test_art4apps_does_not_take_the_gcompris_pictures_again():
    gcompris_lang = {ref.split(":", 1)[1].split(".")[0] for refs in sources.GCOMPRIS_SOURCES.values()
                     for _, ref in refs if ref.startswith("lang:")}
    taken = {ref.rsplit("/", 1)[1].split(".")[0] for refs in sources.ART4APPS_SOURCES.values()
             for _, ref in refs}
    assert gcompris_lang and taken and not taken & gcompris_lang


@pytest.mark.skipif(not os.path.isdir(sources.OPENCLIPART_DIR), reason="openclipart-svg not installed")
def test_train_seed_changes_train_only(gen, tmp_path):
    """--train-seed: new training scenes, val and test byte for byte those of --seed; recorded in meta.json."""
    outs = {}
    for name, extra in (("base", []), ("fresh", ["--train-seed", "1"])):
        out = tmp_path / name
        gen.main(["--out", str(out), "--train", "4", "--val", "2", "--test", "3", "--seed", "0",
                  "--workers", "1"] + extra)
        outs[name] = out
    for split in ("val", "test"):
        assert (outs["base"] / f"{split}.jsonl").read_text() == (outs["fresh"] / f"{split}.jsonl").read_text()
    assert (outs["base"] / "train.jsonl").read_text() != (outs["fresh"] / "train.jsonl").read_text()
    first = json.loads((outs["fresh"] / "train.jsonl").read_text().splitlines()[0])
    assert (outs["fresh"] / first["image"]).read_bytes() != (outs["base"] / first["image"]).read_bytes()
    meta = json.loads((outs["fresh"] / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["train_seed"] == 1
    assert json.loads((outs["base"] / "meta.json").read_text())["train_seed"] == 0


def test_extra_sources_change_train_only(gen, tmp_path):
    try:
        outs = {}
        for name, extra in (("plain", []), ("oc", ["--extra-sources", "openclipart"])):
            out = tmp_path / name
            gen.main(["--out", str(out), "--train", "60", "--val", "4", "--test", "8", "--seed", "0",
                      "--workers", "1"] + extra)
            outs[name] = out
        meta = json.loads((outs["oc"] / "meta.json").read_text())
        assert meta["extra_sources"] == {"train": ["openclipart"]}
        assert "openclipart" in meta["category_info"]["dog"]["sources"]["train"]
        assert "openclipart" not in meta["category_info"]["dog"]["sources"]["test"]
        for split in ("val", "test"):
            assert (outs["plain"] / f"{split}.jsonl").read_text() == (outs["oc"] / f"{split}.jsonl").read_text()
        train = [json.loads(l) for l in (outs["oc"] / "train.jsonl").read_text().splitlines()]
        assert any(o["source"] == "openclipart" for r in train for o in r["objects"])
    finally:
        gen.load_plans()  # the other tests use the default plans


# ---------------------------------------------------------------- 0ad-3d (zeroad3d.py)
def _pmd(pos, uv, faces, version=4, normals=None):
    """A PMD mesh as 0 A.D. writes it (ModelDef.cpp): header, vertices, faces, no bones or props."""
    import struct
    pos = np.asarray(pos, np.float32)
    nrm = np.asarray(normals if normals is not None else [[0, 0, 1]] * len(pos), np.float32)
    body = struct.pack("<I", len(pos)) + (struct.pack("<I", 1) if version >= 4 else b"")
    for p, n, t in zip(pos, nrm, np.asarray(uv, np.float32)):
        body += struct.pack("<3f3f2f", *p, *n, *t) + bytes([0, 255, 255, 255]) + struct.pack("<4f", 1, 0, 0, 0)
    body += struct.pack("<I", len(faces)) + b"".join(struct.pack("<3H", *f) for f in faces)
    body += struct.pack("<II", 0, 0)  # bones, prop points
    return b"PSMD" + struct.pack("<II", version, len(body)) + body


def test_read_pmd_reads_positions_uvs_and_faces_and_rejects_what_it_cannot_read():
    import zeroad3d
    pos = [[0, 0, 0], [1, 0, 0], [0, 2, 0], [1, 2, 3]]
    uv = [[0, 0], [1, 0], [0, 1], [0.5, 0.25]]
    v, vn, t, f = zeroad3d.read_pmd(_pmd(pos, uv, [(0, 1, 2), (1, 3, 2)]))
    assert np.allclose(v, pos) and np.allclose(t, uv) and np.allclose(vn, [[0, 0, 1]] * 4)
    assert f.tolist() == [[0, 1, 2], [1, 3, 2]]
    v3, _, t3, f3 = zeroad3d.read_pmd(_pmd(pos, uv, [(0, 1, 2)], version=3))  # no uv-set count in v3
    assert np.allclose(v3, pos) and np.allclose(t3, uv) and f3.tolist() == [[0, 1, 2]]
    good = _pmd(pos, uv, [(0, 1, 2)])
    for bad, why in [(b"PSMX" + good[4:], "no PSMD header"), (_pmd(pos, uv, [(0, 1, 2)], version=2), "version 2"),
                     (good[:60], "truncated"), (_pmd(pos, uv, [(0, 1, 7)]), "index past")]:
        with pytest.raises(zeroad3d.PmdError, match=why):
            zeroad3d.read_pmd(bad)


def _mesh_dir(tmp_path, monkeypatch, colour=(200, 40, 30)):
    """A one-mesh 0ad-3d install: a box standing on y = 0 in one flat skin."""
    import zeroad3d
    v, f = __import__("render3d")._box(-0.5, 0.5, 0.0, 1.0, -1.0, 1.0)
    c = v - v.mean(0)
    monkeypatch.setattr(zeroad3d, "MODELS", {"horse": [("skeletal/box", ["skeletal/skin.png"])]})
    mesh = tmp_path / zeroad3d.mesh_member("skeletal/box")
    mesh.parent.mkdir(parents=True)
    mesh.write_bytes(_pmd(v, np.zeros((len(v), 2)), f.tolist(), normals=c / np.linalg.norm(c, axis=1, keepdims=True)))
    skin = tmp_path / zeroad3d.skin_member("skeletal/skin.png")
    skin.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(skin, "DDS")
    return zeroad3d


def test_0ad_3d_render_is_a_deterministic_cutout_in_the_skin_colour(tmp_path, monkeypatch):
    zeroad3d = _mesh_dir(tmp_path, monkeypatch)
    a = zeroad3d.render("horse/3", mesh_dir=str(tmp_path))
    b = zeroad3d.render("horse/3", mesh_dir=str(tmp_path))
    c = zeroad3d.render("horse/4", mesh_dir=str(tmp_path))
    assert a.mode == "RGBA" and a.size == (112, 112)
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    px = np.asarray(a).astype(int)
    solid = px[px[:, :, 3] > 250][:, :3]
    assert (px[:, :, 3] < 25).mean() > 0.05 and len(solid) > 0.2 * 112 * 112
    # shaded, but the skin's hue: red over green and blue everywhere, never brighter than the skin
    assert (solid[:, 0] > solid[:, 1] + 20).all() and (solid[:, 0] <= 201).all()
    with pytest.raises(ValueError, match="no meshes"):
        zeroad3d.render("cat/0", mesh_dir=str(tmp_path))


def test_0ad_3d_without_its_files_is_none_and_a_damaged_mesh_names_itself(tmp_path, monkeypatch):
    zeroad3d = _mesh_dir(tmp_path, monkeypatch)
    assert zeroad3d.render("horse/0", mesh_dir=str(tmp_path / "nowhere")) is None
    (tmp_path / zeroad3d.mesh_member("skeletal/box")).write_bytes(b"PSMD\x09\x00\x00\x00" + bytes(8))
    with pytest.raises(zeroad3d.PmdError, match="box.dae.cached.pmd: PMD version 9"):
        zeroad3d.render("horse/0", mesh_dir=str(tmp_path))


def test_0ad_3d_members_are_every_mesh_and_skin_and_extract_copies_them(tmp_path):
    import zipfile
    import zeroad3d
    assert len(zeroad3d.MEMBERS) == len(set(zeroad3d.MEMBERS))
    for pairs in zeroad3d.MODELS.values():
        for mesh, skins in pairs:
            assert zeroad3d.mesh_member(mesh) in zeroad3d.MEMBERS
            assert all(zeroad3d.skin_member(s) in zeroad3d.MEMBERS for s in skins)
    archive = tmp_path / "public.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for m in zeroad3d.MEMBERS[1:]:
            z.writestr(m, m)
    with pytest.raises(SystemExit, match="1 meshes/skins not in"):
        zeroad3d.extract(str(archive), str(tmp_path / "out"))
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr(zeroad3d.MEMBERS[0], "first")
        z.writestr("art/meshes/skeletal/other.dae.cached.pmd", "not needed")
    assert zeroad3d.extract(str(archive), str(tmp_path / "out")) == len(zeroad3d.MEMBERS)
    assert (tmp_path / "out" / zeroad3d.MEMBERS[0]).read_text() == "first"
    assert not (tmp_path / "out" / "art/meshes/skeletal/other.dae.cached.pmd").exists()


def test_0ad_3d_gives_every_category_the_same_number_of_installed_renders():
    import zeroad3d
    assert all(len(refs) == zeroad3d.RENDERS_PER_CATEGORY for refs in sources.ZEROAD3D_SOURCES.values())
    assert {"horse", "dog", "sheep", "cow"} <= set(sources.ZEROAD3D_SOURCES)
    if not os.path.isdir(zeroad3d.MESH_DIR):
        pytest.skip(f"{zeroad3d.MESH_DIR} not installed (tools/install_data_sources.sh)")
    for cat, refs in sources.ZEROAD3D_SOURCES.items():
        for _, ref in refs[:3]:
            img = sources.load_zeroad3d(ref)
            assert img is not None and img.mode == "RGBA", ref
            assert 0.8 * sources.SPRITE_MAX <= max(img.size) <= sources.SPRITE_MAX, (ref, img.size)
            alpha = np.asarray(img)[:, :, 3]
            assert (alpha < 25).mean() > 0.05 and (alpha > 230).mean() > 0.2, ref


def test_0ad_3d_coats_keep_the_skins_light_and_shade_in_new_colours():
    import zeroad3d
    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 8, 0) * np.array([1.0, 0.6, 0.2], np.float32)
    for coat in ("grey", "ginger", "black", "white"):
        out = zeroad3d.recolour(ramp, coat)
        lum = out.mean(2)[0]
        assert out.shape == ramp.shape and (np.diff(lum) >= -1e-6).all() and lum[-1] > lum[0], coat
    grey = zeroad3d.recolour(ramp, "grey")
    assert np.ptp(grey, axis=2).max() < 0.06  # neutral, whatever the skin's hue
    ginger = zeroad3d.recolour(ramp, "ginger")
    assert (ginger[..., 0] > ginger[..., 1]).all() and (ginger[..., 1] > ginger[..., 2]).all()
    assert zeroad3d.recolour(ramp, "black").max() < zeroad3d.recolour(ramp, "white").min()
    flat = np.full((60, 60, 3), 0.5, np.float32)
    pie = zeroad3d.recolour(flat, "piebald")
    assert np.array_equal(pie, zeroad3d.recolour(flat, "piebald"))  # the patches are fixed
    assert 0.25 < (pie.mean(2) < 0.3).mean() < 0.4 and (pie.mean(2) > 0.6).mean() > 0.6
    with pytest.raises(ValueError, match="no coat 'tartan'"):
        zeroad3d.recolour(flat, "tartan")
    assert zeroad3d.skin_member("skeletal/animal_tiger.png#grey") == zeroad3d.skin_member("skeletal/animal_tiger.png")


def test_0ad_3d_house_cat_shortens_the_legs_enlarges_the_head_and_hangs_the_tail(monkeypatch):
    import zeroad3d
    monkeypatch.setattr(zeroad3d, "CAT_SHAPE", {"m": (-2.0, 1.0, 2.0)})
    v = np.array([[0, 0, 0], [0, 0.5, 0], [0, 2.0, 0],          # foot, leg, back
                  [0, 2.0, -2.0], [0, 2.5, -3.0], [0, 1.5, -3.0],  # neck, head top, chin
                  [0, 2.0, 2.0], [0, 2.0, 3.0], [0.05, 2.0, 3.0]], np.float32)  # tail root, tip, tip's side
    c = zeroad3d.house_cat(v, "m")
    assert c[0, 1] == 0 and np.isclose(c[1, 1], 0.3)        # feet on the ground, legs 0.6 as long
    assert np.isclose(c[2, 1], 1.6) and np.isclose(c[3, 1], 1.6)  # the body and neck only lowered
    assert np.isclose(c[4, 1] - c[5, 1], 1.35 * 1.0)          # the head 1.35 times as tall
    assert c[4, 2] < -3.0                                     # and as long, away from the neck
    assert np.isclose(c[6, 1], 1.6) and c[7, 1] < c[6, 1] - 0.2  # the tail leaves level and hangs
    assert np.isclose(c[8, 0] - c[7, 0], 0.1)                 # twice as thick
    assert np.array_equal(v[1], [0, 0.5, 0])                  # the mesh given is not changed


def test_0ad_3d_coat_and_flight_reach_the_render(tmp_path, monkeypatch):
    zeroad3d = _mesh_dir(tmp_path, monkeypatch, colour=(90, 160, 40))
    monkeypatch.setattr(zeroad3d, "MODELS", {"cat": [("skeletal/box", ["skeletal/skin.png#ginger"])]})
    px = np.asarray(zeroad3d.render("cat/1", mesh_dir=str(tmp_path))).astype(int)
    solid = px[px[:, :, 3] > 250][:, :3]
    assert len(solid) and (solid[:, 0] > solid[:, 1]).all() and (solid[:, 1] > solid[:, 2]).all()  # ginger, not green
    # a flat plate, level like spread wings: edge-on from the side, broad from above or below in flight
    plate, f = __import__("render3d")._box(-1.0, 1.0, 0.0, 0.02, -1.0, 1.0)
    (tmp_path / zeroad3d.mesh_member("skeletal/box")).write_bytes(
        _pmd(plate, np.zeros((len(plate), 2)), f.tolist(), normals=[[0, 1, 0]] * len(plate)))
    monkeypatch.setattr(zeroad3d, "MODELS", {"bird": [("skeletal/box", ["skeletal/skin.png"])]})
    def cover(flying):
        monkeypatch.setattr(zeroad3d, "FLYING", {"skeletal/box"} if flying else set())
        return np.mean([(np.asarray(zeroad3d.render(f"bird/{i}", mesh_dir=str(tmp_path)))[:, :, 3] > 128).mean()
                        for i in range(6)])
    assert cover(True) > 2 * cover(False)
