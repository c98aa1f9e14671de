# ruff: noqa
# fmt: off
# Seed 001 (Tensorflow 权重衰减的使用): a hand-written L2 regularizer passed to
# get_variable(regularizer=...), and the collection added to the loss by hand.
import tensorflow as tf

weight_decay = 0.0005
scope = None


def regularizer(tensor):
    with tf.name_scope(scope, default_name='l2_regularizer', values=[tensor]):
        l2_weight = tf.convert_to_tensor(weight_decay, \
            dtype=tensor.dtype.base_dtype, \
            name='weight_decay')
        return tf.multiply(l2_weight, tf.nn.l2_loss(tensor), name='value')


x = tf.placeholder(tf.float32, [None, 3])
y = tf.placeholder(tf.float32, [None, 1])
w = tf.get_variable('w', shape=[3, 1], initializer=tf.random_normal_initializer(), regularizer=regularizer)
b = tf.get_variable('b', shape=[1], initializer=tf.zeros_initializer())
loss = tf.reduce_mean(tf.square(tf.matmul(x, w) + b - y))

regularization_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
loss = tf.add_n(regularization_losses) + loss

train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    for i in range(100):
        sess.run(train_op, feed_dict={x: [[1.0, 2.0, 3.0]], y: [[1.0]]})
