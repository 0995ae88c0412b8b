"""Unrolled GAN (Metz et al. 2017): the discriminator as a function of its weights, after k
differentiable updates.

`unroll(network, loss_fn, steps, learning_rate)` reads the network's weights, makes `steps` plain
gradient-descent updates of a functional copy of them (`keras.Layer.stateless_call`: the network's
own variables never change), each update recorded by any enclosing `tf.GradientTape`, and returns
the updated network as a function of its inputs. The generator's loss scored by it carries the
gradient through the updates (how the discriminator would react), as in Metz et al.'s surrogate
f_K(theta_G, theta_D) = f(theta_G, U^K(theta_G, theta_D)).

The inner updates are SGD, chosen because its derivative with respect to the gradient is the
learning rate itself (an Adam step from fresh moments is close to lr * sign(g), whose derivative
is zero almost everywhere, so the generator would not see the reaction). Under a tf.distribute
strategy each inner gradient is summed over the replicas, as a real update's is.

References:
    Metz, Poole, Pfau & Sohl-Dickstein 2017, Unrolled Generative Adversarial Networks,
    arXiv:1611.02163.
"""

from __future__ import annotations

import tensorflow as tf


class FunctionalNetwork:
    """`network` called with given weights instead of its variables (no side effects).

    Attributes:
        trainable: tensors in the order of `network.trainable_variables`.
        state: tensors in the order of `network.non_trainable_variables` (updated by each call in
            training mode, e.g. spectral normalisation's power iteration).
    """

    def __init__(self, network, trainable=None, state=None):
        self.network = network
        self.trainable = list(trainable) if trainable is not None else [tf.identity(v.value) for v in
                                                                         network.trainable_variables]
        self.state = list(state) if state is not None else [tf.identity(v.value) for v in
                                                            network.non_trainable_variables]

    def __call__(self, inputs, training=True):
        outputs, self.state = self.network.stateless_call(self.trainable, self.state, inputs, training=training)
        self.state = list(self.state)
        return outputs


def unroll(network, loss_fn, steps: int, learning_rate: float) -> FunctionalNetwork:
    """The network after `steps` differentiable SGD updates on `loss_fn`.

    Args:
        network: a built Keras model (its variables are read, never written).
        loss_fn: (a callable running the network on inputs) -> scalar float32 loss of this replica,
            reduced over the global batch (so the replicas' gradients sum to the global one).
        steps: k, the number of updates (0 returns the network's current weights).
        learning_rate: the SGD step size.

    Returns:
        A `FunctionalNetwork` holding the updated weights; calling it runs the unrolled network.
    """
    current = FunctionalNetwork(network)
    replica = tf.distribute.get_replica_context()
    for _ in range(int(steps)):
        with tf.GradientTape() as tape:
            tape.watch(current.trainable)
            loss = loss_fn(current)
        grads = tape.gradient(loss, current.trainable, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        if replica is not None and replica.num_replicas_in_sync > 1:
            grads = replica.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        updated = [w - learning_rate * tf.cast(g, w.dtype) for w, g in zip(current.trainable, grads)]
        current = FunctionalNetwork(network, updated, current.state)
    return current
