"""Choosing the dtype policy: hardware detection, "auto" per family, and the command line's use of it."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from helpers import build, build_fit_sample
from kerasgen import precision
from kerasgen.cli import main

# (translation presets train under mixed bfloat16 in test_translation)
REDUCED_PRECISION_PRESETS = sorted(name for name, p in kg.PRESETS.items() if p.family not in ("flow", "translation"))


@pytest.mark.parametrize("capability, bf16, family, expected", [
    ((8, 0), False, "adversarial", "mixed_float16"),    # tensor cores
    ((9, 0), True, "variational", "mixed_float16"),     # a GPU wins over the CPU
    ((6, 1), True, "adversarial", "float32"),           # GPU without tensor cores: float16 is emulated
    (None, True, "adversarial", "mixed_bfloat16"),      # AMX / AVX512-BF16 CPU
    (None, True, None, "mixed_bfloat16"),
    (None, False, "variational", "float32"),
    ((8, 0), False, "flow", "float32"),                 # flows keep float32 everywhere
    (None, True, "flow", "float32"),
])
def test_fast_policy_by_hardware_and_family(capability, bf16, family, expected):
    assert precision.fast_policy(family, gpu_capability=capability, cpu_bfloat16=bf16) == expected


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f amx_bf16 amx_tile\n\nprocessor\t: 1\n")
    old = tmp_path / "old"
    old.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert "amx_bf16" in precision.cpu_flags(str(amx))
    assert precision.cpu_has_native_bfloat16(precision.cpu_flags(str(amx)))
    assert not precision.cpu_has_native_bfloat16(precision.cpu_flags(str(old)))
    assert precision.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_cpus_sharing_a_bare_model_name_are_told_apart_by_family_and_model(tmp_path):
    def cpuinfo(name, family, model, stepping):
        block = (f"processor\t: {{}}\nvendor_id\t: AuthenticAMD\ncpu family\t: {family}\nmodel\t\t: {model}\n"
                 f"model name\t: {name}\nstepping\t: {stepping}\nflags\t\t: fpu avx512f avx512_bf16\n\n")
        path = tmp_path / f"{family}-{model}"
        path.write_text(block.format(0) + block.format(1).replace(f"model\t\t: {model}", "model\t\t: 99"))
        return str(path)

    zen4, zen5 = cpuinfo("AMD EPYC", 25, 17, 1), cpuinfo("AMD EPYC", 26, 2, 0)
    assert precision.cpu_identity(zen4) == "AMD EPYC (family 25, model 17, stepping 1)"  # the first processor's
    assert precision.cpu_identity(zen5) == "AMD EPYC (family 26, model 2, stepping 0)"
    bare = tmp_path / "bare"
    bare.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu\n")
    assert precision.cpu_identity(str(bare)) == "Some CPU"
    assert precision.cpu_identity(str(tmp_path / "missing"))  # not Linux: the platform's word for it
    assert precision.machine_description().startswith(precision.cpu_identity() + " x")
    assert precision.machine_description() in precision.decision_key("adversarial")


def test_auto_matches_this_machine_and_sets_the_global_policy():
    expected = precision.fast_policy("adversarial")
    on_gpu = precision.gpu_compute_capability() is not None
    assert expected == ("mixed_float16" if on_gpu and precision.gpu_compute_capability() >= (7, 0)
                        else "float32" if on_gpu
                        else "mixed_bfloat16" if precision.cpu_has_native_bfloat16() else "float32")
    assert precision.set_policy("auto", family="adversarial") == expected
    assert keras.mixed_precision.global_policy().name == expected
    assert precision.set_policy("auto", family="flow") == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"
    assert precision.set_policy("mixed_bfloat16") == "mixed_bfloat16"
    model = kg.models.get("vae", data_shape=(4,), latent_dim=2)
    assert "bfloat16" in {layer.compute_dtype for layer in model.encoder.layers}


@pytest.fixture
def bf16_machine(monkeypatch, tmp_path):
    """A CPU with native bfloat16, measuring allowed, and an empty cache in tmp_path."""
    monkeypatch.setattr(precision, "gpu_compute_capability", lambda: None)
    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda flags=None: True)
    monkeypatch.setenv("KERASGEN_MEASURE_PRECISION", "1")
    monkeypatch.setenv("KERASGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TF_CONFIG", raising=False)
    return tmp_path


def test_auto_measures_a_family_once_keeps_a_real_speedup_and_caches_the_decision(bf16_machine):
    calls = []

    def timer(rates):
        def time_them(family, policies):
            calls.append((family, tuple(policies)))
            return dict(zip(policies, rates))
        return time_them

    def must_not_measure(family, policies):
        raise AssertionError("measured again")

    # 3% faster is within the noise: float32; 30% faster: bfloat16
    assert precision.fast_policy("adversarial", measure=timer((10.0, 10.3))) == "float32"
    assert precision.fast_policy("variational", measure=timer((10.0, 13.0))) == "mixed_bfloat16"
    assert calls == [("adversarial", ("float32", "mixed_bfloat16")), ("variational", ("float32", "mixed_bfloat16"))]
    assert precision.fast_policy("adversarial", measure=must_not_measure) == "float32"
    assert precision.set_policy("auto", family="variational") == "mixed_bfloat16"  # from the cache
    assert precision.fast_policy("flow", measure=must_not_measure) == "float32"
    assert precision.fast_policy(None, measure=must_not_measure) == "float32"  # measured as adversarial
    with open(precision.cache_path()) as f:
        decisions = json.load(f)["decisions"]
    assert sorted(d["family"] for d in decisions.values()) == ["adversarial", "variational"]
    decision = decisions[precision.decision_key("variational")]
    assert decision["steps_per_second"] == {"float32": 10.0, "mixed_bfloat16": 13.0}
    assert decision["tensorflow"] == tf.__version__ and decision["machine"] == precision.machine_description()
    assert os.listdir(bf16_machine) == ["precision.json"]  # written whole, no temporary file left

    # a damaged cache counts as empty and is rewritten whole at the next measurement
    with open(precision.cache_path(), "w") as f:
        f.write("{not json")
    assert precision.cached_decisions() == {}
    assert precision.fast_policy("translation", measure=timer((5.0, 9.0))) == "mixed_bfloat16"
    assert list(precision.cached_decisions()) == [precision.decision_key("translation")]


def test_a_decision_holds_for_the_kernel_gradient_form_it_was_measured_with(bf16_machine, monkeypatch):
    from kerasgen.layers import conv

    def must_not_measure(family, policies):
        raise AssertionError("measured again")

    monkeypatch.setenv(conv.FORM_ENV, "forward")
    assert precision.fast_policy("adversarial", measure=lambda f, p: dict(zip(p, (10.0, 13.0)))) == "mixed_bfloat16"
    assert precision.fast_policy("adversarial", measure=must_not_measure) == "mixed_bfloat16"
    monkeypatch.setenv(conv.FORM_ENV, "native")  # another step: measured again, kept apart
    assert precision.fast_policy("adversarial", measure=lambda f, p: dict(zip(p, (10.0, 10.2)))) == "float32"
    monkeypatch.setenv(conv.FORM_ENV, "forward")
    assert precision.fast_policy("adversarial", measure=must_not_measure) == "mixed_bfloat16"
    assert len(precision.cached_decisions()) == 2


def test_auto_does_not_measure_when_turned_off_or_under_multi_worker_training(bf16_machine, monkeypatch):
    def must_not_measure(family, policies):
        raise AssertionError("measured")

    monkeypatch.setenv("KERASGEN_MEASURE_PRECISION", "0")
    assert precision.fast_policy("adversarial", measure=None) == "mixed_bfloat16"  # the hardware rule
    monkeypatch.setenv("KERASGEN_MEASURE_PRECISION", "1")
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    assert not precision.measuring_allowed()
    assert precision.fast_policy("adversarial") == "mixed_bfloat16"
    assert precision.fast_policy("adversarial", measure=False) == "mixed_bfloat16"
    assert precision.cached_decisions() == {} and not os.path.exists(precision.cache_path())
    with pytest.raises(ValueError, match="measured for adversarial, variational, translation"):
        precision.measure_family("flow", timer=must_not_measure)


def test_the_precision_command_shows_and_remeasures_decisions(bf16_machine, monkeypatch, capsys):
    assert main(["precision"]) == 0
    assert "none yet" in capsys.readouterr().out
    monkeypatch.setattr(precision, "time_policies", lambda family, policies: {"float32": 4.0, "mixed_bfloat16": 6.0})
    assert main(["precision", "--measure", "variational"]) == 0
    out = capsys.readouterr().out
    assert "variational  mixed_bfloat16" in out and "float32 4, mixed_bfloat16 6" in out and "conv-vae 28x28x1" in out
    assert main(["precision", "--measure", "flow"]) == 2
    assert "unknown family 'flow'" in capsys.readouterr().err


@pytest.mark.slow  # 10 s: two conv VAEs traced
def test_time_policies_times_the_probe_under_each_policy_and_restores_the_global_one():
    keras.mixed_precision.set_global_policy("float32")
    rates = precision.time_policies("variational", ["float32", "mixed_bfloat16"], steps=3, warmup=1)
    assert sorted(rates) == ["float32", "mixed_bfloat16"] and all(0 < r < 10_000 for r in rates.values())
    assert keras.mixed_precision.global_policy().name == "float32"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="unknown precision 'float8'.*auto"):
        precision.resolve("float8")


@pytest.mark.slow  # (the policy choice itself is tested by default above)
def test_cli_trains_under_auto_and_resume_keeps_the_saved_policy(tmp_path, capsys):
    run = str(tmp_path / "run")
    args = ["train", "gan", "--data", "toy2d:moons", "--epochs", "1", "--batch-size", "128",
            "--n-samples", "256", "--out", run, "--quiet"]
    assert main(args) == 0
    with open(os.path.join(run, "run.json")) as f:
        trained_under = json.load(f)["precision"]
    assert trained_under == precision.fast_policy("adversarial")
    other = "float32" if trained_under != "float32" else "mixed_bfloat16"
    assert main(args + ["--resume", "--epochs", "2", "--precision", other]) == 2
    assert f"was trained under {trained_under}" in capsys.readouterr().err
    assert main(args + ["--resume", "--epochs", "2"]) == 0  # auto: the saved policy
    with open(os.path.join(run, "run.json")) as f:
        assert json.load(f)["precision"] == trained_under

@pytest.mark.slow

def test_cli_flows_train_in_float32_under_auto(tmp_path):
    run = str(tmp_path / "flow")
    assert main(["train", "realnvp", "--data", "toy2d:moons", "--epochs", "1", "--batch-size", "128",
                 "--n-samples", "256", "--out", run, "--quiet"]) == 0
    with open(os.path.join(run, "run.json")) as f:
        assert json.load(f)["precision"] == "float32"


# one preset per mechanism by default (conv GAN with codes, conditional VAE on vectors, VQ codes,
# two-player AAE); every preset on both kinds under -m slow
BF16_DEFAULT = {("infogan", "image"), ("cvae", "vector"), ("vq-vae", "image"), ("aae", "vector")}
BF16_CASES = [pytest.param(name, shape, id=f"{name}-{kind}",
                           marks=() if (name, kind) in BF16_DEFAULT else pytest.mark.slow)
              for name in REDUCED_PRECISION_PRESETS for kind, shape in (("image", (8, 8, 1)), ("vector", (2,)))
              if kg.registry.get_preset(name).supports(f"{kind}s")]  # the kinds each preset declares


@pytest.mark.parametrize("name,shape", BF16_CASES)
def test_every_preset_auto_may_choose_trains_and_samples_under_mixed_bfloat16(name, shape):
    """What "auto" picks on a bfloat16 CPU works for every preset it picks it for, on images and on
    vectors (whose standardisation stays in float32)."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model, _, samples = build_fit_sample(name, shape, metric_names=())
    assert "bfloat16" in {layer.compute_dtype for layer in model._flatten_layers()}
    if len(shape) == 1:
        standardizer = model.standardizer
        assert standardizer.compute_dtype == "float32" and standardizer.mean.dtype == "float32"


def test_a_vector_model_trained_under_mixed_bfloat16_exports_float32(tmp_path):
    # rejects: an export that keeps bfloat16 compute or bfloat16-rounded weights, or that loses the
    # trained weights or the standardisation (only a float32 twin with the same weights matches it)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model, x, _ = build_fit_sample("gan", (2,), metric_names=("d_loss", "g_loss"))
    model.standardizer.adapt(x)
    keras.mixed_precision.set_global_policy("float32")
    twin = build("gan", (2,), seed=1)  # the same preset and size, built under float32
    twin.set_weights(model.get_weights())
    assert {layer.compute_dtype for layer in twin._flatten_layers()} == {"float32"}
    files = kg.export.onnx(model, str(tmp_path / "gan.onnx"))
    generator = kg.export.OnnxGenerator(files["generate"])
    z = np.random.default_rng(0).normal(size=(64, model.latent_dim)).astype("float32")
    exported, float32, mixed = generator.generate(z), twin.generate(z), model.generate(z)
    np.testing.assert_allclose(exported, float32, rtol=1e-5, atol=1e-4)
    # the model itself computes in bfloat16: its gap to float32 is non-zero and within what bfloat16
    # rounding explains: 3 dense layers, each rounding its input, weights and output to 8 significant
    # bits (relative error <= 2**-9 each), ~9 * 2**-9 of the output's scale; bound 16 * 2**-9 (3%).
    # Measured in the standardised output space: max 4.2 * 2**-9, mean 1.2 * 2**-9.
    gap = np.abs(mixed - float32) / model.standardizer.std.numpy()
    out_scale = np.abs(np.asarray(model.to_model_space(float32))).max()
    assert 2**-12 * out_scale < gap.max() <= 16 * 2**-9 * out_scale, (gap.max(), out_scale)
