"""The SR3AI mask rule (METHOD.md C.2) on hand-computed scenes, and geometry from the real model configs."""

from __future__ import annotations

import numpy as np
import pytest

from dreamrunner_cli.schema import Keyframe, Region, Scene
from dreamrunner_cli.sr3ai.geometry import Geometry
from dreamrunner_cli.sr3ai.geometry_source import geometry_for
from dreamrunner_cli.sr3ai.regions import keyframe_for_latent, scene_regions


def region(caption, box, entity="a", motion="none"):
    return Region(entity=entity, motion=motion, caption=caption, box=box)


def scene_of(frames: list[list[Region]], merged: list[list[Region]] | None = None) -> Scene:
    merged = merged or [[] for _ in frames]
    return Scene(id="s01", narration="n", background="bg",
                 keyframes=[Keyframe(regions=r, merged=m) for r, m in zip(frames, merged)])


def geom(frames=48, h=480, w=720, text_len=226):
    return geometry_for("THUDM/CogVideoX-2b", h, w, frames, text_len)


# Geometry ----------------------------------------------------------------------------------------------------------

def test_geometry_of_real_presets_from_their_configs():
    g = geom(49)
    assert (g.latent_frames, g.rows, g.cols, g.text_len, g.num_blocks, g.heads, g.head_dim) == (13, 30, 45, 226, 30,
                                                                                               30, 64)
    assert g.video_tokens == 13 * 1350 == 17550 and not g.rope
    g48 = geom(48)
    assert g48.latent_frames == 12 and g48.video_tokens == 16200
    assert g48.seq_len(19) == 20494  # METHOD.md A.3: 19 prompts, the longest released plan
    g5 = geometry_for("THUDM/CogVideoX-5b", 480, 720, 49)
    assert (g5.num_blocks, g5.heads, g5.rope) == (42, 48, True)
    tiny = geometry_for("tiny", 64, 64, 9)
    assert (tiny.latent_frames, tiny.rows, tiny.cols, tiny.text_len) == (3, 4, 4, 16)


def test_geometry_rejects_sizes_off_the_token_grid():
    from dreamrunner_cli.errors import UsageError

    with pytest.raises(UsageError, match="multiples of 16"):
        geom(49, h=470)


# Key frame → latent frame ------------------------------------------------------------------------------------------

def test_repeat_policy_48_frames_is_the_authors_2i_2i_plus_1():
    assert keyframe_for_latent(geom(48), 6) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_repeat_policy_49_frames_gives_the_single_frame_latent_to_keyframe_0():
    assert keyframe_for_latent(geom(49), 6) == [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


# The mask rule -----------------------------------------------------------------------------------------------------

def test_boxes_on_token_edges_and_round_half_to_even():
    # 45 columns: 0.1 → 4.5 → round → 4 (half to even); 0.5 → 22.5 → 22; 30 rows: 0.25 → 7.5 → 8; 0.75 → 22.5 → 22
    sc = scene_of([[region("cat", (0.1, 0.25, 0.5, 0.75))]] * 6)
    r = scene_regions(sc, geom(48))
    m = r.membership[0, 0]
    ys, xs = np.nonzero(m)
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (8, 22, 4, 22)
    # exactly on edges: [0, 0, 1/3, 0.5] → columns 0..15, rows 0..15 (exclusive upper ends)
    sc2 = scene_of([[region("dog", (0.0, 0.0, 1 / 3, 0.5))]] * 6)
    m2 = scene_regions(sc2, geom(48)).membership[0, 0]
    assert m2[:15, :15].all() and not m2[15:, :].any() and not m2[:, 15:].any()


def test_background_is_every_token_covered_by_no_box():
    sc = scene_of([[region("cat", (0.0, 0.0, 0.5, 1.0))]] * 6)
    r = scene_regions(sc, geom(48))
    assert [p.text for p in r.prompts] == ["cat", "bg"]
    assert (r.membership[1] == ~r.membership[0]).all()


def test_caption_switch_mid_scene_creates_a_new_prompt_active_from_its_keyframe():
    walk, wave = region("witch walking", (0.2, 0, 0.8, 1)), region("witch waving", (0.2, 0, 0.8, 1))
    sc = scene_of([[walk]] * 3 + [[wave]] * 3)
    r = scene_regions(sc, geom(48))
    assert [p.text for p in r.prompts] == ["witch walking", "witch waving", "bg"]
    assert r.membership[0, :6].any(axis=(1, 2)).all() and not r.membership[0, 6:].any()
    assert r.membership[1, 6:].any(axis=(1, 2)).all() and not r.membership[1, :6].any()


def test_overlap_all_a_token_in_two_boxes_sees_both_captions_not_background():
    sc = scene_of([[region("cat", (0.0, 0.0, 0.6, 1.0)), region("dog", (0.4, 0.0, 1.0, 1.0), entity="b")]] * 6)
    r = scene_regions(sc, geom(48))
    L, P = 226, 3
    both = np.ravel_multi_index((0, 5, 22), (12, 30, 45))  # column 22 lies in both boxes
    row = r.mask_rows([P * L + both])[0]
    assert row[0:L].all() and row[L:2 * L].all() and not row[2 * L:3 * L].any()


def test_overlap_merged_uses_only_the_merged_caption_inside_its_box():
    a, b = region("cat", (0.0, 0.0, 0.6, 1.0)), region("dog", (0.4, 0.0, 1.0, 1.0), entity="b")
    merged = region("cat and dog playing", (0.4, 0.0, 0.6, 1.0))
    sc = scene_of([[a, b]] * 6, merged=[[merged]] * 6)
    r = scene_regions(sc, geom(48), overlap="merged")
    texts = [p.text for p in r.prompts]
    assert texts == ["cat", "dog", "cat and dog playing", "bg"]
    inside = (0, 5, 22)
    assert [bool(r.membership[(p, *inside)]) for p in range(4)] == [False, False, True, False]
    assert r.membership[(0, 0, 5, 5)] and not r.membership[(2, 0, 5, 5)]
    # with overlap='all', the merged captions are ignored
    assert [p.text for p in scene_regions(sc, geom(48)).prompts] == ["cat", "dog", "bg"]


def test_dense_mask_blocks_exactly_as_the_rule_says():
    sc = scene_of([[region("cat", (0.0, 0.0, 0.5, 1.0))]] * 6)
    g = Geometry.from_config({"patch_size": 2, "max_text_seq_length": 3, "num_layers": 2, "num_attention_heads": 2,
                              "attention_head_dim": 16}, 32, 64, 9)  # 3 latent frames × 2 × 4 tokens
    r = scene_regions(sc, g)
    m = r.dense_mask()
    L, P = 3, 2
    text_cat, text_bg, video = slice(0, 3), slice(3, 6), slice(6, None)
    assert m[text_cat, text_cat].all() and not m[text_cat, text_bg].any()  # prompts never see each other
    assert m[video, video].all()  # video ↔ video always ("soft")
    cat_tokens = r.membership[0].reshape(-1)
    assert (m[0, 6:] == cat_tokens).all() and (m[6:, 0] == cat_tokens).all()  # text ↔ its region, both ways
    assert (m[3, 6:] == ~cat_tokens).all()  # background text ↔ uncovered tokens
    assert m.shape == (P * L + r.geometry.video_tokens,) * 2


def test_interpolate_policy_moves_boxes_smoothly_and_matches_repeat_at_keyframe_centres():
    frames = [[region("cat", (0.1 * k, 0.0, 0.1 * k + 0.4, 1.0))] for k in range(6)]
    sc = scene_of(frames)
    g = geom(48)
    rep = scene_regions(sc, g, "repeat")
    itp = scene_regions(sc, g, "interpolate")
    left = [int(np.nonzero(itp.membership[0, f].any(0))[0].min()) for f in range(12)]
    assert left == sorted(left) and len(set(left)) > 6  # moves every latent frame, monotonically
    left_rep = [int(np.nonzero(rep.membership[0, f].any(0))[0].min()) for f in range(12)]
    assert len(set(left_rep)) == 6
    assert itp.membership.shape == rep.membership.shape


def test_lora_token_mask_is_clamped_or_of_text_and_region():
    from dreamrunner_cli.sr3ai.lora import prompts_for_adapter

    a = Region(entity="witch", motion="walking", caption="witch walking", box=(0.0, 0.0, 0.6, 1.0))
    b = Region(entity="witch", motion="waving", caption="witch waving", box=(0.4, 0.0, 1.0, 1.0))
    sc = scene_of([[a, b]] * 6)
    r = scene_regions(sc, geom(48))
    ids = prompts_for_adapter(r, "character", "witch")
    assert ids == [0, 1]
    m = r.token_mask_for_prompts(ids)
    assert m.dtype == bool  # 0/1, never 2 where the boxes overlap
    L = 226
    assert m[: 2 * L].all() and not m[2 * L: 3 * L].any()
    assert prompts_for_adapter(r, "motion", "waving") == [1]
