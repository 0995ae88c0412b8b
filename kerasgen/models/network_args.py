"""How algorithms take their networks: a registered name, a builder, a Keras model or its config.

`resolve_network("dcgan", "generator", data_shape=..., latent_dim=...)` builds the registered
generator "dcgan" from what the algorithm knows; a builder (any callable) gets the same keywords,
each only if its signature takes it; a Keras model is used as it is; a dict is a serialised model
(the form `get_config` stores networks in).
"""

from __future__ import annotations

import inspect

import keras

from kerasgen import registry


def _call_with_known(builder, context: dict):
    """Calls `builder` with the keywords of `context` its signature accepts (all with **kwargs)."""
    params = inspect.signature(builder).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return builder(**context)
    return builder(**{k: v for k, v in context.items() if k in params})


def resolve_network(spec, role: str, **context):
    """A Keras model for `role` from a name, builder, model instance or serialised config.

    Args:
        spec: a name registered with `kerasgen.registry.register_network` for `role`, a callable
            returning a Keras model, a Keras model (returned unchanged) or a serialised model dict.
        role: "generator", "discriminator", "encoder", "decoder", ... (for the registry and messages).
        **context: what the algorithm knows (data_shape, latent_dim, num_classes, ...), passed to a
            builder as keywords it accepts.

    Raises:
        ValueError: an unknown name. TypeError: anything else that is not a network.
    """
    if isinstance(spec, dict):
        spec = keras.saving.deserialize_keras_object(spec)
    elif isinstance(spec, str):
        import kerasgen.networks  # noqa: F401 - registers the built-in networks

        spec = _call_with_known(registry.get_network(spec, role), context)
    elif callable(spec) and not isinstance(spec, keras.layers.Layer):
        spec = _call_with_known(spec, context)
    if not isinstance(spec, keras.layers.Layer):
        raise TypeError(f"{role} must be a Keras model, a registered name, a builder or a serialised model, "
                        f"got {type(spec).__name__}")
    return spec


def deserialize_network(obj):
    """A Keras model given as an instance or as its serialised config."""
    if isinstance(obj, dict):
        return keras.saving.deserialize_keras_object(obj)
    if not isinstance(obj, keras.layers.Layer):
        raise TypeError(f"expected a Keras model, got {type(obj).__name__}")
    return obj


def network_attr(network, attr):
    """`network.inputs` / `outputs` / `output` where Keras knows them (functional models), else None."""
    try:
        return getattr(network, attr)
    except (AttributeError, ValueError):
        return None


def data_shape_of(network, role):
    """The example shape a functional network outputs (its first output without the batch axis)."""
    outputs = network_attr(network, "outputs")
    if outputs is None:
        raise ValueError(f"pass data_shape: it cannot be read from this {role}")
    return tuple(outputs[0].shape[1:])
