# ruff: noqa
# fmt: off
# Seed 002 (如何给某一层添加L2正则化), method two: kernel_regularizer on tf.layers.conv2d, and the
# collection concatenated to the base loss.
import tensorflow as tf

images = tf.placeholder(tf.float32, [None, 32, 32, 3])
labels = tf.placeholder(tf.int64, [None])
x = images

x = tf.layers.conv2d(x, 512, (3, 3),

padding='same',

activation=tf.nn.relu,

kernel_initializer=tf.truncated_normal_initializer(stddev=0.01),

kernel_regularizer=tf.contrib.layers.l2_regularizer(0.001))

logits = tf.layers.dense(tf.reduce_mean(x, axis=[1, 2]), 10)

base_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

l2_loss = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)

loss = tf.add_n([base_loss] + l2_loss, name="loss")

train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
