"""Seed 002 as users wrote it: an L2 term collected under a misspelled GraphKeys name."""
import tensorflow.compat.v1 as tf

weight_decay = 0.001


def build(x, labels):
    x = tf.layers.conv2d(
        x,
        512,
        (3, 3),
        padding="same",
        activation=tf.nn.relu,
        kernel_initializer=tf.truncated_normal_initializer(stddev=0.01),
        kernel_regularizer=tf.contrib.layers.l2_regularizer(0.001),
    )
    logits = tf.layers.dense(tf.layers.flatten(x), 10)
    base_loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    l2_loss = tf.get_collection(tf.GraphKeys.REGULARIZATOIN_LOSSES)
    loss = tf.add_n([base_loss] + l2_loss, name="loss")
    return tf.train.AdamOptimizer(1e-3).minimize(loss)
