"""CTR-GCN/SGN-equivalent NTU preprocessing: reference arrays and the denoising rules."""
from __future__ import annotations

import numpy as np
import pytest

from zssar.data import ntu
from zssar.data.ntu_preprocess import DenoiseConfig, MissingSkeleton, joints_to_rows, preprocess, rows_to_joints
from zssar.data.ntu_skeleton import SkeletonFile


def tall(seed: int, frames: int, move: float = 0.01, shape_seed: int | None = None) -> np.ndarray:
    """(frames, 25, 3) joints of a standing person; `move` scales the motion.

    Bodies with the same `shape_seed` have the same pose, so their motion (variance of
    all joints over time) differs only by `move`."""
    shape = np.random.default_rng(seed if shape_seed is None else shape_seed)
    base = np.stack([shape.uniform(-0.2, 0.2, 25), shape.uniform(-0.8, 0.8, 25), shape.uniform(2.5, 3.5, 25)], 1)
    return base[None] + move * np.random.default_rng(seed + 100).normal(size=(frames, 25, 3))


def wide(seed: int, frames: int) -> np.ndarray:
    """A 'body' much wider than tall: furniture the Kinect mistook for a person."""
    return tall(seed, frames)[:, :, [1, 0, 2]]


def skeleton(frames: list[list[tuple[str, np.ndarray]]]) -> SkeletonFile:
    ids, rec_frame, xyz = [], [], []
    for f, bodies in enumerate(frames):
        for bid, joints in bodies:
            ids.append(bid)
            rec_frame.append(f)
            xyz.append(joints)
    return SkeletonFile("S001C001P001R001A050", len(frames), np.array([len(b) for b in frames]), ids,
                        np.array(rec_frame, dtype=np.int64), np.array(xyz).reshape(-1, 25, 3))


def frames_of(**bodies: tuple[range, np.ndarray]) -> list[list[tuple[str, np.ndarray]]]:
    n = max(r.stop for r, _ in bodies.values())
    out = [[] for _ in range(n)]
    for bid, (r, joints) in bodies.items():
        for k, f in enumerate(r):
            out[f].append((bid, joints[k]))
    return out


def centred(joints: np.ndarray) -> np.ndarray:
    """What upstream produces for a single actor: minus joint 2 of the first frame."""
    j = joints.astype(np.float32)
    return j - j[0, 1]


@pytest.mark.shared
@pytest.mark.parametrize("evaluation, protocol", [("CS", "xsub"), ("CV", "xview")])
def test_reproduces_ctrgcn_reference(shared, tmp_path, evaluation, protocol):
    ref_dir = shared / "data" / "ntu60_samples" / "ctrgcn_reference"
    ntu.prepare(shared / "data" / "ntu60_samples" / "raw", tmp_path / "prep", dataset="ntu60", workers=1)
    ntu.export_ctrgcn(tmp_path / "prep", tmp_path / "npz", protocols=[protocol])
    ours = np.load(tmp_path / "npz" / f"NTU60_{evaluation}.npz")
    ref = np.load(ref_dir / f"NTU60_{evaluation}.npz")
    assert sorted(ours.files) == sorted(ref.files) == sorted(["x_train", "y_train", "x_test", "y_test"])
    for key in ref.files:
        assert ours[key].shape == ref[key].shape and ours[key].dtype == ref[key].dtype, key
        np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-5, err_msg=key)  # same order too


def test_single_id_is_centred_on_spine_middle_of_first_frame():
    a = tall(0, 40)
    out = preprocess(skeleton(frames_of(a=(range(40), a))))
    assert out.joints.shape == (3, 40, 25, 2) and out.joints.dtype == np.float32
    np.testing.assert_array_equal(out.joints[..., 0], centred(a).transpose(2, 0, 1))
    assert not out.joints[..., 1].any()


def test_empty_frames_are_dropped_and_ids_stored_consecutively():
    a = tall(0, 30)
    frames = frames_of(a=(range(30), a))
    frames = frames[:10] + [[]] * 5 + frames[10:]  # five frames without any body
    out = preprocess(skeleton(frames))
    assert out.joints.shape[1] == 30


def test_short_ids_are_noise():
    a, b = tall(0, 50), tall(1, 5, move=0.5)
    out = preprocess(skeleton(frames_of(a=(range(50), a), b=(range(50, 55), b))))
    # b (5 frames <= 11) is dropped; its frames then hold no one and are cut
    assert out.joints.shape[1] == 50
    np.testing.assert_array_equal(out.joints[..., 0], centred(a).transpose(2, 0, 1))
    assert not out.joints[..., 1].any()


def test_wide_ids_are_noise_by_spread():
    a, furniture = tall(0, 30), wide(1, 30)
    out = preprocess(skeleton(frames_of(a=(range(30), a), f=(range(30), furniture))))
    assert any("spread" in n for n in out.notes)
    np.testing.assert_array_equal(out.joints[..., 0], centred(a).transpose(2, 0, 1))
    assert not out.joints[..., 1].any()


def test_actor_one_has_the_largest_motion():
    still, moving = tall(0, 30, move=0.001, shape_seed=7), tall(1, 30, move=0.05, shape_seed=7)
    out = preprocess(skeleton(frames_of(s=(range(30), still), m=(range(30), moving))))
    origin = moving[0, 1].astype(np.float32)
    np.testing.assert_array_equal(out.joints[..., 0], (moving.astype(np.float32) - origin).transpose(2, 0, 1))
    np.testing.assert_array_equal(out.joints[..., 1], (still.astype(np.float32) - origin).transpose(2, 0, 1))


def test_non_overlapping_id_continues_actor_one():
    # a: frames 0-19, most motion; c: frames 25-44, no overlap with a -> actor 1's slot;
    # b: frames 0-44 overlaps a -> actor 2's slot
    a, b, c = (tall(0, 20, move=0.08, shape_seed=7), tall(1, 45, move=0.01, shape_seed=7),
               tall(2, 20, move=0.04, shape_seed=7))
    out = preprocess(skeleton(frames_of(a=(range(20), a), b=(range(45), b), c=(range(25, 45), c))))
    rows = joints_to_rows(out.joints)
    assert rows.shape == (45, 150)
    assert not rows[20:25, :75].any()  # actor 1 absent between a and c: kept at zero
    origin = a[0, 1].astype(np.float32)
    np.testing.assert_array_equal(rows[25:, :75], (c.astype(np.float32) - origin).reshape(20, 75))
    np.testing.assert_array_equal(rows[:, 75:], (b.astype(np.float32) - origin).reshape(45, 75))


def test_missing_skeleton_and_all_short_ids():
    with pytest.raises(MissingSkeleton, match="no body"):
        preprocess(skeleton([[], [], []]))
    out = preprocess(skeleton(frames_of(a=(range(5), tall(0, 5, 0.05)), b=(range(5), tall(1, 5)))))
    assert out.joints.shape[1] == 5 and any("length rule skipped" in n for n in out.notes)


def test_row_layout_round_trip():
    j = np.random.default_rng(0).normal(size=(3, 7, 25, 2)).astype(np.float32)
    rows = joints_to_rows(j)
    assert rows.shape == (7, 150)
    np.testing.assert_array_equal(rows[:, 3:6], j[:, :, 1, 0].T)  # joint 2 of actor 1 = columns 3..5
    np.testing.assert_array_equal(rows_to_joints(rows), j)


def test_denoise_config_is_upstream():
    assert DenoiseConfig() == DenoiseConfig(max_noise_length=11, spread_ratio=0.8, max_noisy_fraction=0.69754)
