"""The semi-supervised GAN's losses (Salimans et al. 2016, section 5), as pure functions of the
discriminator's class logits.

The discriminator is a classifier with K real classes and a "generated" class K + 1:
p(y = k | x) = exp(l_k) / (sum_j exp(l_j) + exp(l_{K+1})). In the K-logit form l_{K+1} is fixed
at 0, so with Z(x) = sum_k exp(l_k(x)) the probability that x is real is D(x) = Z / (Z + 1):
the real/fake logit is log Z = logsumexp(l). With a learned K+1-th logit it is
logsumexp(l_1..K) - l_{K+1}.

    L = L_supervised + L_unsupervised
    L_supervised   = -E_{x, y ~ labelled data} log p(y | x, y < K + 1)
    L_unsupervised = -E_{x ~ data} log(1 - p(K + 1 | x)) - E_{z} log p(K + 1 | G(z))
                   = E_data softplus(-logit(x)) + E_z softplus(logit(G(z)))

L_unsupervised is the minimax discriminator loss on logit = `real_fake_logit(l)`
(`kerasgen.losses.adversarial.minimax_d`), which the model applies.

References:
    Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv:1606.03498.
"""

from __future__ import annotations

import tensorflow as tf


def class_logits_of(logits, num_classes):
    """The K real classes' logits (B, K) of a (B, K) or (B, K + 1) head."""
    return tf.cast(logits, tf.float32)[:, :num_classes]


def real_fake_logit(logits, num_classes):
    """logit(D(x)) (B,) from class logits (B, K) (fake logit fixed at 0) or (B, K + 1) (the last
    is the learned fake-class logit): logsumexp over the real classes minus the fake logit."""
    logits = tf.cast(logits, tf.float32)
    real = tf.reduce_logsumexp(logits[:, :num_classes], axis=-1)
    if logits.shape[-1] == num_classes + 1:
        return real - logits[:, num_classes]
    return real


def supervised_cross_entropy(labels, logits, num_classes):
    """-log p(y | x, y < K + 1) per example (B,), 0 where the label is -1 (unlabelled).

    Args:
        labels: int (B,) in [0, K) or -1.
        logits: (B, K) or (B, K + 1) class logits (the fake class takes no part).
        num_classes: K.
    """
    labels = tf.cast(tf.reshape(labels, (-1,)), tf.int32)
    known = labels >= 0
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(tf.where(known, labels, 0),
                                                        class_logits_of(logits, num_classes))
    return tf.where(known, ce, 0.0)


def feature_matching(real_features, fake_features):
    """||mean_batch f(x) - mean_batch f(G(z))||^2 / F (scalar): the generator's feature-matching
    loss on a discriminator layer f with F features (B, F) each; the means are over this batch."""
    real = tf.reduce_mean(tf.cast(real_features, tf.float32), axis=0)
    fake = tf.reduce_mean(tf.cast(fake_features, tf.float32), axis=0)
    return tf.reduce_mean(tf.square(real - fake))


__all__ = ["class_logits_of", "real_fake_logit", "supervised_cross_entropy", "feature_matching"]
