"""Image-to-image translation data: paired tasks, the user's own pairs, unpaired domains, their errors."""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kerasgen as kg
from kerasgen.data import transforms
from kerasgen.data.translation import EDGE_THRESHOLD


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return f"npz:{path}"


def _indexed(path, n=40, shape=(8, 8)):
    """An npz of n uint8 images, image i filled with the value i (labels i % 10)."""
    x = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, *shape)).copy()
    return _npz(path, x=x, y=np.arange(n) % 10)


def _index_of(images):
    """The index of each `_indexed` image back from its [-1, 1] values."""
    return np.round((np.asarray(images)[:, 0, 0, 0] + 1.0) * 127.5).astype(int)


@pytest.mark.parametrize("task,kw,source_shape", [
    ("superres", dict(factor=2), (4, 4, 1)),
    ("superres", dict(factor=4), (2, 2, 1)),
    ("superres", dict(factor=8), (1, 1, 1)),
    ("inpaint", dict(mask="box"), (8, 8, 2)),
    ("inpaint", dict(mask="strokes"), (8, 8, 2)),
    ("edges", {}, (8, 8, 1)),
])
def test_every_task_on_digits_has_its_shapes_range_and_info(task, kw, source_shape):
    data = kg.data.pair_arrays("digits", task, limit=64, **kw)
    digits = kg.data.load_arrays("digits", limit=64)
    assert data.source.shape == (64, *source_shape) and data.source.dtype == np.float32
    assert data.target.dtype == np.float32
    np.testing.assert_array_equal(data.target, digits.x)
    np.testing.assert_array_equal(data.y, digits.y)
    assert data.y.dtype == np.int32
    assert data.source.min() >= -1.0 and data.source.max() <= 1.0
    info = data.info
    assert info.data_shape == info.target_shape == (8, 8, 1) and info.source_shape == source_shape
    assert info.task == task and info.is_image and info.num_classes == 10 and info.num_examples == 64
    assert info.num_levels == 17


def test_superres_source_is_the_block_mean():
    data = kg.data.pair_arrays("digits", "superres", factor=2, limit=100)
    blocks = data.target.reshape(100, 4, 2, 4, 2, 1).mean(axis=(2, 4))
    np.testing.assert_allclose(data.source, blocks, atol=1e-6)
    four = kg.data.pair_arrays("digits", "superres", factor=4, limit=100)
    np.testing.assert_allclose(four.source, data.target.reshape(100, 2, 4, 2, 4, 1).mean(axis=(2, 4)), atol=1e-6)


def test_superres_factor_must_be_known_and_divide_the_image_size():
    resized = kg.data.pair_arrays("digits", "superres", factor=4, image_size=(12, 12), limit=4)
    assert resized.source.shape == (4, 3, 3, 1) and resized.target.shape == (4, 12, 12, 1)
    with pytest.raises(ValueError, match=r"factor 8 must divide the image size 12x12.*image_size=\(16, 16\)"):
        kg.data.pair_arrays("digits", "superres", factor=8, image_size=(12, 12), limit=4)
    with pytest.raises(ValueError, match="factor must be one of 2, 4, 8, got 3"):
        kg.data.pair_arrays("digits", "superres", factor=3, limit=4)


@pytest.mark.parametrize("mask", ["box", "strokes"])
def test_inpaint_source_is_the_image_with_a_zero_hole_and_the_mask_channel(mask):
    data = kg.data.pair_arrays("digits", "inpaint", mask=mask, limit=200)
    image, hole = data.source[..., :1], data.source[..., 1:]
    assert set(np.unique(hole)) == {0.0, 1.0}
    np.testing.assert_array_equal(image[hole == 0], data.target[hole == 0])
    assert np.all(image[hole == 1] == 0.0)
    assert data.target[hole == 1].min() == -1.0  # the hole hides real pixels (digits' background is -1)
    fractions = hole.mean(axis=(1, 2, 3))
    assert np.all(np.abs(fractions - 0.25) <= 0.1), fractions  # an 8x8 mask can only come near a quarter
    assert len({m.tobytes() for m in hole}) > 50  # each example draws its own mask


@pytest.mark.parametrize("mask", ["box", "strokes"])
def test_inpaint_mask_covers_about_the_fraction_on_larger_images(mask):
    for fraction in (0.1, 0.4):
        data = kg.data.pair_arrays("digits", "inpaint", mask=mask, mask_fraction=fraction, image_size=(32, 32), limit=40)
        covered = data.source[..., -1].mean(axis=(1, 2))
        assert np.all(np.abs(covered - fraction) <= 0.05 + 0.1 * fraction), (fraction, covered)
    holes = kg.data.pair_arrays("digits", "inpaint", mask=mask, image_size=(32, 32), limit=40).source[..., -1]
    rows, cols, area = holes.any(axis=2).sum(1), holes.any(axis=1).sum(1), holes.sum(axis=(1, 2))
    if mask == "box":  # one rectangle: the hole's rows times its columns is its area
        np.testing.assert_array_equal(rows * cols, area)
    else:  # strokes are thin: far from a filled rectangle
        assert np.mean(rows * cols > 1.5 * area) > 0.5


def test_inpaint_masks_are_fixed_per_seed_and_example_and_differ_between_seeds():
    def masks(**kw):
        return kg.data.pair_arrays("digits", "inpaint", **kw).source[..., -1]

    first = masks(seed=3, limit=50)
    np.testing.assert_array_equal(first, masks(seed=3, limit=50))
    np.testing.assert_array_equal(first[:10], masks(seed=3, limit=10))  # example i's mask, whatever the limit
    other = masks(seed=4, limit=50)
    assert np.mean([not np.array_equal(a, b) for a, b in zip(first, other)]) > 0.8
    strokes = masks(seed=3, limit=20, mask="strokes")
    np.testing.assert_array_equal(strokes, masks(seed=3, limit=20, mask="strokes"))
    assert not np.array_equal(strokes, masks(seed=4, limit=20, mask="strokes"))


def test_inpaint_checks_its_mask_and_fraction():
    with pytest.raises(ValueError, match="unknown inpainting mask 'circle'"):
        kg.data.pair_arrays("digits", "inpaint", mask="circle", limit=4)
    with pytest.raises(ValueError, match=r"mask_fraction must lie in \(0, 1\), got 1.5"):
        kg.data.pair_arrays("digits", "inpaint", mask_fraction=1.5, limit=4)


def test_edges_mark_a_squares_border_and_nothing_else(tmp_path):
    x = -np.ones((3, 16, 16), np.float32)
    x[0, 4:12, 4:12] = 1.0  # a square
    x[1] = 0.5  # a flat image: no edges
    x[2, 4:12, 4:12] = 1.0
    x[2, 7, 7] = 0.8  # a faint dent, well under a quarter of the border's gradient: no edge
    data = kg.data.pair_arrays(_npz(tmp_path / "square.npz", x=x), "edges", split="all")
    assert data.source.shape == (3, 16, 16, 1) and set(np.unique(data.source)) == {-1.0, 1.0}
    ring = np.zeros((16, 16), bool)
    ring[3:13, 3:13] = True
    ring[5:11, 5:11] = False  # the pixels on either side of the square's border
    np.testing.assert_array_equal(data.source[0, ..., 0] == 1.0, ring)
    assert np.all(data.source[1] == -1.0)
    np.testing.assert_array_equal(data.source[2, ..., 0] == 1.0, ring)
    assert EDGE_THRESHOLD == 0.25


def test_colorize_source_is_tf_grey_of_rgb_images_and_grey_images_are_refused(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (20, 16, 16, 3), dtype=np.uint8)
    spec = _npz(tmp_path / "rgb.npz", x=rgb)
    data = kg.data.pair_arrays(spec, "colorize", split="all")
    assert data.source.shape == (20, 16, 16, 1) and data.target.shape == (20, 16, 16, 3)
    np.testing.assert_allclose(data.target, rgb / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_allclose(data.source, tf.image.rgb_to_grayscale(data.target).numpy(), atol=1e-6)
    assert data.info.num_levels == 256 and data.info.num_classes is None and data.y is None
    edges = kg.data.pair_arrays(spec, "edges", split="all", limit=5)  # RGB edges come from the grey image
    assert edges.source.shape == (5, 16, 16, 1)
    with pytest.raises(ValueError, match=r"colorize needs RGB images \(C=3\), got 1 channel"):
        kg.data.pair_arrays("digits", "colorize", limit=4)


def test_user_pairs_from_an_npz(tmp_path):
    rng = np.random.default_rng(1)
    source = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    target = rng.integers(0, 256, (30, 16, 16, 3), dtype=np.uint8)
    y = np.arange(30) % 3
    spec = _npz(tmp_path / "pairs.npz", source=source, target=target, y=y)
    for task in (None, "paired"):
        data = kg.data.pair_arrays(spec, task, split="all")
        np.testing.assert_allclose(data.source, source[..., None] / 127.5 - 1.0, atol=1e-6)
        np.testing.assert_allclose(data.target, target / 127.5 - 1.0, atol=1e-6)
        np.testing.assert_array_equal(data.y, y)
        assert data.info.task == "paired" and data.info.source_shape == (8, 8, 1)
        assert data.info.data_shape == data.info.target_shape == (16, 16, 3) and data.info.num_classes == 3
    train, test = kg.data.pair_arrays(spec, split="train"), kg.data.pair_arrays(spec, split="test")
    assert len(train.source) + len(test.source) == 30 and len(test.source) == len(test.target) == 4
    resized = kg.data.pair_arrays(spec, image_size=(4, 4), split="all", limit=7)
    assert resized.source.shape == (7, 4, 4, 1) and resized.target.shape == (7, 4, 4, 3)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_user_pairs_from_a_folder_are_paired_by_file_name(tmp_path):
    rng = np.random.default_rng(2)
    names = ["b.png", "a.png", "c.png", "d.png"]
    for name in names:
        grey = rng.integers(0, 256, (8, 8), dtype=np.uint8)
        _png(tmp_path / "A" / name, grey)
        _png(tmp_path / "B" / name, np.stack([255 - grey] * 3, -1))  # B = the negative of A, in RGB
    (tmp_path / "B" / "notes.txt").write_text("not an image")
    data = kg.data.pair_arrays(f"folder:{tmp_path}", split="all")
    assert data.source.shape == (4, 8, 8, 1) and data.target.shape == (4, 8, 8, 3) and data.y is None
    np.testing.assert_allclose(data.target, -np.repeat(data.source, 3, -1), atol=1e-6)
    assert len({s.tobytes() for s in data.source}) == 4
    ds = kg.data.pairs(f"folder:{tmp_path}", batch_size=2, split="all")
    assert [tuple(t.shape) for t in next(iter(ds))] == [(2, 8, 8, 1), (2, 8, 8, 3)]


def test_user_pair_errors(tmp_path):
    x = np.zeros((5, 8, 8), np.float32)
    with pytest.raises(ValueError, match="5 sources but 4 targets"):
        kg.data.pair_arrays(_npz(tmp_path / "n.npz", source=x, target=x[:4]))
    bad = x.copy()
    bad[2, 1, 1] = np.nan
    with pytest.raises(ValueError, match="target' has NaN or infinite values in 1 of 5"):
        kg.data.pair_arrays(_npz(tmp_path / "nan.npz", source=x, target=bad))
    with pytest.raises(ValueError, match="is empty"):
        kg.data.pair_arrays(_npz(tmp_path / "empty.npz", source=x[:0], target=x[:0]))
    with pytest.raises(ValueError, match=r"source must be images \(N, H, W\[, C\]\), got shape \(5, 64\)"):
        kg.data.pair_arrays(_npz(tmp_path / "flat.npz", source=x.reshape(5, 64), target=x))
    with pytest.raises(ValueError, match=r"labels must have shape \(5,\)"):
        kg.data.pair_arrays(_npz(tmp_path / "y.npz", source=x, target=x, y=np.zeros(4, int)))
    with pytest.raises(ValueError, match="has no array 'source' or 'target'.*pass a task"):
        kg.data.pair_arrays(_npz(tmp_path / "x.npz", x=x))
    with pytest.raises(ValueError, match="holds no pairs: give a task"):
        kg.data.pair_arrays("digits")
    with pytest.raises(ValueError, match="unknown translation task 'deblur'"):
        kg.data.pair_arrays("digits", "deblur")
    with pytest.raises(ValueError, match=r"task 'edges' needs images; data 'toy2d:moons' holds vectors"):
        kg.data.pair_arrays("toy2d:moons", "edges")
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        kg.data.pair_arrays(_npz(tmp_path / "ok.npz", source=x, target=x), split="valid")


def test_folder_pair_errors(tmp_path):
    img = np.zeros((8, 8), np.uint8)
    _png(tmp_path / "names" / "A" / "1.png", img)
    _png(tmp_path / "names" / "A" / "2.png", img)
    _png(tmp_path / "names" / "B" / "1.png", img)
    _png(tmp_path / "names" / "B" / "3.png", img)
    with pytest.raises(ValueError, match="same file names: only in A: 2.png; only in B: 3.png"):
        kg.data.pair_arrays(f"folder:{tmp_path / 'names'}")
    _png(tmp_path / "noB" / "A" / "1.png", img)
    with pytest.raises(ValueError, match="has no B/ sub-folder"):
        kg.data.pair_arrays(f"folder:{tmp_path / 'noB'}")
    (tmp_path / "empty" / "A").mkdir(parents=True)
    (tmp_path / "empty" / "B").mkdir()
    with pytest.raises(ValueError, match="A holds no images"):
        kg.data.pair_arrays(f"folder:{tmp_path / 'empty'}")
    for name, size in (("1.png", 8), ("2.png", 10)):
        _png(tmp_path / "sizes" / "A" / name, np.zeros((size, size), np.uint8))
        _png(tmp_path / "sizes" / "B" / name, img)
    with pytest.raises(ValueError, match="mixed sizes.*pass image_size"):
        kg.data.pair_arrays(f"folder:{tmp_path / 'sizes'}")
    fixed = kg.data.pair_arrays(f"folder:{tmp_path / 'sizes'}", image_size=(8, 8), split="all")
    assert fixed.source.shape == (2, 8, 8, 1)


def test_pairs_dataset_yields_float32_batches_of_source_and_target():
    ds, info = kg.data.pairs("digits", "superres", batch_size=16, shuffle=False, return_info=True, limit=40)
    batches = list(ds)
    assert [len(b[0]) for b in batches] == [16, 16, 8] and all(len(b) == 2 for b in batches)
    source, target = batches[0]
    assert source.dtype == tf.float32 and target.dtype == tf.float32
    assert source.shape == (16, 4, 4, 1) and target.shape == (16, 8, 8, 1) and info.source_shape == (4, 4, 1)
    arrays = kg.data.pair_arrays("digits", "superres", limit=40)
    np.testing.assert_array_equal(source.numpy(), arrays.source[:16])
    shuffled = kg.data.pairs("digits", "superres", batch_size=16, limit=40, drop_remainder=True)
    s, t = next(iter(shuffled))
    assert len(list(shuffled)) == 2 and not np.array_equal(t.numpy(), arrays.target[:16])
    # a shuffled pair is still a pair: the source is the block mean of its own target
    np.testing.assert_allclose(s.numpy(), t.numpy().reshape(16, 4, 2, 4, 2, 1).mean(axis=(2, 4)), atol=1e-6)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        kg.data.pairs("digits", "edges", batch_size=0)


def test_unpaired_halves_of_one_spec_are_disjoint_and_b_true_is_the_transform(tmp_path):
    spec = _indexed(tmp_path / "idx.npz", n=41)
    data = kg.data.unpaired_arrays(spec, transform_b="invert", split="all", seed=5)
    index_a, index_b = _index_of(data.a), _index_of(-data.b)
    assert len(index_a) == 20 and len(index_b) == 21
    assert not set(index_a) & set(index_b) and set(index_a) | set(index_b) == set(range(41))
    np.testing.assert_array_equal(data.b_true, -data.a)
    np.testing.assert_array_equal(data.y_a, index_a % 10)
    np.testing.assert_array_equal(data.y_b, index_b % 10)
    again = kg.data.unpaired_arrays(spec, spec, transform_b="invert", split="all", seed=5)
    np.testing.assert_array_equal(again.a, data.a)
    other = kg.data.unpaired_arrays(spec, transform_b="invert", split="all", seed=6)
    assert set(_index_of(other.a)) != set(index_a)
    info = data.info
    assert info.task == "unpaired" and info.source_shape == (8, 8, 1) and info.target_shape == info.data_shape
    assert info.num_examples == 20 and info.num_classes == 10 and info.num_levels == 256


@pytest.mark.parametrize("name", ["invert", "rotate90", "tint"])
def test_b_true_is_each_transform_of_a(name):
    data = kg.data.unpaired_arrays("digits", transform_b=name, limit=60)
    assert len(data.a) == len(data.b_true) == 30 and len(data.b) == 30
    np.testing.assert_array_equal(data.b_true, transforms.TRANSFORMS[name](data.a))
    assert data.b.shape[1:] == data.b_true.shape[1:] == data.info.data_shape
    assert data.b.min() >= -1.0 and data.b.max() <= 1.0
    assert (data.info.num_levels is None) == (name == "tint")


def test_each_transform_has_an_exact_inverse():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 8, 6, 1)).astype(np.float32)
    for name in transforms.TRANSFORMS:
        back = transforms.get_inverse(name)(transforms.get_transform(name)(x))
        np.testing.assert_allclose(back, x, atol=1e-6, err_msg=name)
    with pytest.raises(ValueError, match="unknown transform"):
        transforms.get_inverse("mirror")


def test_the_transforms_exactly():
    x = np.array([[-1.0, 0.0, 1.0], [0.5, -0.5, 0.25]], np.float32)[None, ..., None]  # (1, 2, 3, 1)
    np.testing.assert_array_equal(transforms.invert(x), -x)
    turned = transforms.rotate90(x)
    assert turned.shape == (1, 3, 2, 1)
    np.testing.assert_array_equal(turned[0, ..., 0], [[1.0, 0.25], [0.0, -0.5], [-1.0, 0.5]])  # counter-clockwise
    tinted = transforms.tint(x)
    assert tinted.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(tinted[0, 0, 0], [-1.0, -0.8, -0.4], atol=1e-6)  # -1: the dark end
    np.testing.assert_allclose(tinted[0, 0, 2], [1.0, 0.6, -0.2], atol=1e-6)  # 1: the coloured end
    np.testing.assert_allclose(tinted[0, 0, 1], [0.0, -0.1, -0.3], atol=1e-6)  # halfway
    with pytest.raises(ValueError, match=r"'tint' colours grey images \(C=1\); got 3 channels"):
        transforms.tint(tinted)
    assert sorted(kg.data.TRANSFORMS) == ["invert", "rotate90", "tint"]


def test_unpaired_from_two_specs_may_differ_in_channels_not_in_size(tmp_path):
    rgb = _npz(tmp_path / "rgb.npz", x=np.random.default_rng(0).integers(0, 256, (30, 8, 8, 3), dtype=np.uint8))
    data = kg.data.unpaired_arrays("digits", rgb, split="all", limit=50)
    assert data.a.shape == (50, 8, 8, 1) and data.b.shape == (30, 8, 8, 3) and data.b_true is None
    assert data.y_a is not None and data.y_b is None and data.info.num_examples == 30
    big = _npz(tmp_path / "big.npz", x=np.zeros((10, 16, 16), np.uint8))
    with pytest.raises(ValueError, match=r"same image height and width: A \(digits\) is 8x8, B .* is 16x16"):
        kg.data.unpaired_arrays("digits", big)
    assert kg.data.unpaired_arrays("digits", big, image_size=(8, 8), split="all").b.shape == (10, 8, 8, 1)
    wide = _npz(tmp_path / "wide.npz", x=np.zeros((10, 8, 12), np.uint8))
    with pytest.raises(ValueError, match=r"B \(rotate90\(npz:.*\)\) is 12x8"):
        kg.data.unpaired_arrays(wide, transform_b="rotate90", split="all")
    with pytest.raises(ValueError, match="needs transform_b, else both domains hold the same images"):
        kg.data.unpaired_arrays("digits")
    with pytest.raises(ValueError, match="unknown transform 'blur'"):
        kg.data.unpaired_arrays("digits", transform_b="blur")
    with pytest.raises(ValueError, match=r"'tint' colours grey images \(C=1\)"):
        kg.data.unpaired_arrays(rgb, transform_b="tint")
    with pytest.raises(ValueError, match="unpaired translation needs images"):
        kg.data.unpaired_arrays("digits", "toy2d:moons")


def test_unpaired_batches_shuffle_a_and_b_independently(tmp_path):
    spec_a, spec_b = _indexed(tmp_path / "a.npz"), _indexed(tmp_path / "b.npz")  # the same 40 images twice
    ds, info = kg.data.unpaired(spec_a, spec_b, batch_size=8, split="all", seed=3, return_info=True)
    assert info.num_examples == 40

    def epoch():
        batches = list(ds)
        assert all(a.dtype == tf.float32 and b.dtype == tf.float32 and a.shape == (8, 8, 8, 1) for a, b in batches)
        return np.concatenate([_index_of(a) for a, _ in batches]), np.concatenate([_index_of(b) for _, b in batches])

    order_a, order_b = epoch()
    assert sorted(order_a) == sorted(order_b) == list(range(40))
    assert not np.array_equal(order_a, np.arange(40)) and not np.array_equal(order_b, np.arange(40))
    assert np.mean(order_a == order_b) < 0.2  # different permutations: a and b of a batch are not pairs
    next_a, _ = epoch()
    assert not np.array_equal(order_a, next_a)  # reshuffled every epoch
    plain = kg.data.unpaired(spec_a, spec_b, batch_size=8, split="all", shuffle=False)
    a, b = next(iter(plain))
    np.testing.assert_array_equal(_index_of(a), np.arange(8))
    np.testing.assert_array_equal(_index_of(b), np.arange(8))


def test_unpaired_dataset_of_one_spec_and_a_transform():
    ds, info = kg.data.unpaired("digits", transform_b="tint", batch_size=16, limit=40, return_info=True)
    batches = list(ds)
    assert [len(a) for a, _ in batches] == [16, 4]  # min(20, 20) pairs an epoch
    a, b = batches[0]
    assert a.shape == (16, 8, 8, 1) and b.shape == (16, 8, 8, 3) and b.dtype == tf.float32
    assert info.source_shape == (8, 8, 1) and info.target_shape == (8, 8, 3) and info.spec == "digits -> tint(digits)"


def test_data_info_keeps_its_positional_form_and_writes_the_new_fields():
    info = kg.data.DataInfo("digits", (8, 8, 1), 10, True, 100, 17)
    assert info.source_shape is None and info.target_shape is None and info.task is None
    d = info.to_dict()
    assert d["source_shape"] is None and d["target_shape"] is None and d["task"] is None and d["data_shape"] == [8, 8, 1]
    paired = kg.data.pair_arrays("digits", "superres", limit=8).info.to_dict()
    assert paired["source_shape"] == [4, 4, 1] and paired["target_shape"] == [8, 8, 1] and paired["task"] == "superres"
    json.dumps(paired)
    assert callable(kg.data.pairs) and callable(kg.data.unpaired)
    assert kg.data.PairData.__name__ == "PairData" and kg.data.UnpairedData.__name__ == "UnpairedData"
