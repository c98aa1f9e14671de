# ruff: noqa
# fmt: off
# Seed 000 (tf.losses.get_regularization_loss() vs get_collection(REGULARIZATION_LOSSES)): the
# three ways of declaring regularizers from the post, then both reads of the regularization
# loss, printed every step ("it increases with the steps") while Adam trains the data loss.
import numpy as np
import tensorflow as tf


class Network(object):
    def __init__(self, input_data, labels, input_c=3, filters_shape=(3, 3, 3, 8), strides=1, padding="same", bn=False):
        dwise_weight = tf.get_variable(name='depthwise_weights', dtype=tf.float32, trainable=True,
                                       shape=(3, 3, input_c, 1),
                                       initializer=tf.random_normal_initializer(stddev=0.01),regularizer=tf.contrib.layers.l2_regularizer(0.0005))
        input_layer = tf.nn.depthwise_conv2d(input_data, dwise_weight, strides=[1, 1, 1, 1], padding='SAME')

        conv = tf.keras.layers.Conv2D(filters=filters_shape[-1], kernel_size = filters_shape[0], strides=strides, padding=padding,
                                      use_bias=not bn, kernel_regularizer=tf.keras.regularizers.l2(0.0005),
                                      kernel_initializer=tf.random_normal_initializer(stddev=0.01),
                                      bias_initializer=tf.constant_initializer(0.))(input_layer)

        conv = tf.layers.conv2d(
                  inputs = conv, filters = 8,
                  kernel_size = 3, strides = [1, 1], kernel_initializer = tf.glorot_uniform_initializer(),
                  padding = 'SAME', kernel_regularizer = tf.contrib.layers.l2_regularizer(scale = 5e-4), use_bias = True, name = 'conv')

        logits = tf.reduce_mean(conv, axis=[1, 2, 3])
        self.loss = tf.reduce_mean(tf.square(logits - labels))

        self.l2_loss_1 = tf.losses.get_regularization_loss()
        self.reg_losses = tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)

        self.train_op = tf.train.AdamOptimizer(1e-3).minimize(self.loss)


if __name__ == '__main__':
    input_data = tf.placeholder(tf.float32, [None, 32, 32, 3])
    labels = tf.placeholder(tf.float32, [None])
    net = Network(input_data, labels)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(100):
            feed = {input_data: np.random.rand(4, 32, 32, 3), labels: np.random.rand(4)}
            _, l2_loss_1, reg_losses = sess.run([net.train_op, net.l2_loss_1, net.reg_losses], feed_dict=feed)
            print(l2_loss_1)
            print(reg_losses)
            b = np.array(reg_losses)
            print(np.sum(b))
