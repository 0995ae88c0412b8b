"""The one-kernel Adam update (`kerasgen.models.optimizers.fuse_adam`): same numbers as Keras' Adam,
eager, compiled and under MirroredStrategy, and really one `ResourceApplyAdam` per variable."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.models.optimizers import fuse_adam, resolve_optimizer

SHAPES = [(3, 4), (4,), (2, 2, 3)]


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    return [keras.Variable(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _gradients(step):
    rng = np.random.default_rng(100 + step)
    return [tf.constant(rng.normal(size=shape).astype("float32")) for shape in SHAPES]


def _state(opt, variables):
    return [v.numpy() for v in variables] + [m.numpy() for m in opt._momentums] + [v.numpy() for v in opt._velocities]


def _adam(fused, **kwargs):
    # betas float32 holds exactly, so both updates round alike (see test_default_betas_...)
    opt = keras.optimizers.Adam(**{"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.75, "epsilon": 1e-3, **kwargs})
    return fuse_adam(opt) if fused else opt


def _compare(apply_steps, tolerance=None, steps=4, **adam_kwargs):
    """Runs `apply_steps(opt, variables)(step)` for both optimisers and compares every variable and moment."""
    states = []
    for fused in (False, True):
        variables, opt = _variables(), _adam(fused, **adam_kwargs)
        opt.build(variables)
        run = apply_steps(opt, variables)
        for step in range(steps):
            run(step)
        states.append(_state(opt, variables))
    for keras_value, fused_value in zip(*states):
        np.testing.assert_allclose(fused_value, keras_value, **(tolerance or dict(rtol=2e-6, atol=1e-7)))


@pytest.mark.parametrize("compiled", [False, True])
def test_fused_adam_takes_the_same_steps_as_keras_adam(compiled):
    states = []
    for fused in (False, True):
        variables, opt = _variables(), _adam(fused)
        opt.build(variables)
        apply = (lambda g: opt.apply(g, variables))
        if compiled:
            apply = tf.function(apply)
        for step in range(6):
            apply(_gradients(step))
        states.append(_state(opt, variables))
        assert int(opt.iterations.numpy()) == 6
    for keras_value, fused_value in zip(*states):
        np.testing.assert_allclose(fused_value, keras_value, rtol=2e-6, atol=1e-7)
    assert not np.allclose(states[1][0], _variables()[0].numpy())  # the variables moved


def test_two_applies_in_one_compiled_step_each_count_their_own_step():
    # a GAN's critic steps: the step's scalars must be formed afresh for each apply
    def apply_steps(opt, variables):
        both = tf.function(lambda a, b: (opt.apply(a, variables), opt.apply(b, variables)))
        return lambda step: both(_gradients(2 * step), _gradients(2 * step + 1))
    _compare(apply_steps)


@pytest.mark.parametrize("options", [dict(global_clipnorm=0.1), dict(use_ema=True), dict(gradient_accumulation_steps=2),
                                     dict(weight_decay=0.1), dict(beta_1=tf.constant(0.5)),
                                     dict(learning_rate=keras.optimizers.schedules.ExponentialDecay(0.05, 2, 0.5))])
def test_keras_adam_options_keep_their_meaning(options):
    _compare(lambda opt, variables: tf.function(lambda step: opt.apply(_gradients(step), variables)), **options)


def test_gradients_of_another_dtype_are_cast():
    _compare(lambda opt, variables: lambda step: opt.apply([tf.cast(g, "float64") for g in _gradients(step)],
                                                            variables))


def test_default_betas_differ_from_keras_only_by_rounding():
    # 1 - 0.999 formed in float32 by the kernel, in Python by Keras: about 1e-5 of the moments
    _compare(lambda opt, variables: lambda step: opt.apply(_gradients(step), variables),
             tolerance=dict(rtol=5e-5, atol=1e-7), steps=6, beta_1=0.9, beta_2=0.999, epsilon=1e-7)


def test_embedding_gradients_with_repeated_indices_take_keras_update():
    # Keras squares each slice of a sparse gradient before summing repeated indices
    results = []
    for fused in (False, True):
        keras.utils.set_random_seed(0)
        embedding = keras.layers.Embedding(4, 2)
        embedding.build((None,))
        opt = _adam(fused)
        for _ in range(3):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(embedding(tf.constant([0, 0, 1])) ** 2)
            gradients = tape.gradient(loss, embedding.trainable_variables)
            assert isinstance(gradients[0], tf.IndexedSlices)
            opt.apply(gradients, embedding.trainable_variables)
        results.append([embedding.embeddings.numpy(), opt._velocities[0].numpy()])
    for keras_value, fused_value in zip(*results):
        np.testing.assert_allclose(fused_value, keras_value, rtol=2e-6, atol=1e-7)


def test_fused_adam_is_one_kernel_per_variable_and_only_for_plain_adam():
    def op_types(opt):
        variables = _variables()
        opt.build(variables)
        graph = tf.function(lambda: opt.apply(_gradients(0), variables)).get_concrete_function().graph
        return [op.type for op in graph.get_operations()]

    fused, plain = op_types(_adam(True)), op_types(_adam(False))
    assert fused.count("ResourceApplyAdam") == len(SHAPES) and "ResourceApplyAdam" not in plain
    assert len(fused) < len(plain) / 2
    amsgrad = _adam(True, amsgrad=True)
    assert "update_step" not in vars(amsgrad)  # Keras' own update (it keeps v_hat)
    sgd = fuse_adam(keras.optimizers.SGD(0.1))
    assert "update_step" not in vars(sgd)
    scaled = fuse_adam(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3)))
    assert "update_step" in vars(scaled.inner_optimizer)
    # what compile resolves: preset defaults and user instances alike
    assert "update_step" in vars(resolve_optimizer("auto", kg.models.optimizers.adam(), float16=False))
    assert "update_step" in vars(resolve_optimizer(keras.optimizers.Adam(1e-3), None, float16=False))
    assert "update_step" in vars(resolve_optimizer("auto", kg.models.optimizers.adam(), float16=False,
                                                   skip_nonfinite=True).inner_optimizer)


def test_fused_adam_under_mirrored_strategy_matches_keras_adam(strategy, monkeypatch):
    x = kg.data.get_density("8gaussians").sample(256, seed=0).astype("float32")
    weights = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(kg.models.optimizers, "fuse_adam", lambda opt: opt)
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = kg.models.get("realnvp", data_shape=(2,), seed=0, num_steps=2, hidden=(8, 8))
            model.compile(optimizer=keras.optimizers.Adam(0.01))
        assert ("update_step" in vars(model.optimizer)) == fused
        model.fit(x, batch_size=64, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights() + [v.numpy() for v in model.optimizer.variables])
    for fused_value, keras_value in zip(*weights):
        np.testing.assert_allclose(fused_value, keras_value, rtol=1e-4, atol=1e-6)


def test_a_model_compiled_by_kerasgen_trains_with_the_fused_update_and_reloads_with_it(tmp_path):
    model = kg.models.get("realnvp", data_shape=(2,), seed=0, num_steps=2, hidden=(8, 8))
    model.compile()
    assert "update_step" in vars(model.optimizer)
    x = kg.data.get_density("8gaussians").sample(512, seed=0).astype("float32")
    before = model.evaluate(x, batch_size=256, verbose=0, return_dict=True)["nll"]
    model.fit(x, batch_size=64, epochs=2, verbose=0)
    assert model.evaluate(x, batch_size=256, verbose=0, return_dict=True)["nll"] < before - 0.1
    model.save(tmp_path / "model.keras")
    reloaded = kg.models.load(tmp_path / "model.keras")
    assert "update_step" in vars(reloaded.optimizer) and int(reloaded.optimizer.iterations.numpy()) == 16


def _fgan_weights_after(steps, steps_per_execution):
    """Weights of the vector `fgan-kl` (two Adams, an R1 penalty) after `steps` steps from fixed seeds."""
    keras.utils.set_random_seed(0)
    density = kg.data.get_density("25gaussians")
    model = kg.models.get("fgan-kl", data_shape=(2,), seed=0)
    model.compile(steps_per_execution=steps_per_execution)
    model.fit(density.sample(256 * steps, seed=0), batch_size=256, epochs=1, verbose=0, shuffle=False)
    return np.concatenate([v.numpy().ravel() for v in model.discriminator.weights + model.generator.weights])


def test_fused_updates_give_the_same_weights_whatever_the_steps_per_execution():
    """The kernel updates a weight in place; steps run in a loop (`steps_per_execution`) must still see
    each other's updates in order. Without every update of an `apply` waiting for all of its gradients,
    this model at 4 steps per execution drifted from the same run at 1 step, and from its own repeats."""
    one = _fgan_weights_after(300, 1)
    np.testing.assert_array_equal(_fgan_weights_after(300, 4), one)
    np.testing.assert_array_equal(_fgan_weights_after(300, 4), one)
