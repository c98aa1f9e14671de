# ruff: noqa
# fmt: off
# Seed 002 (如何给某一层添加L2正则化), method one: tf.nn.l2_loss over every trainable variable,
# biases included, after the demo of l2_loss against the contrib regularizer.
import tensorflow as tf

weights = tf.constant([[1,2,3], [4,5,6]], dtype=tf.float32)

sess = tf.InteractiveSession()

# 计算的是所有元素的平方和再除以2

print(tf.nn.l2_loss(weights).eval()())

# 等价于

print(tf.contrib.layers.l2_regularizer(1.)(weights).eval())

images = tf.placeholder(tf.float32, [None, 784])
labels = tf.placeholder(tf.int64, [None])
hidden = tf.layers.dense(images, 128, activation=tf.nn.relu)
logits = tf.layers.dense(hidden, 10)

weight_decay = 0.001

base_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))

l2_loss = weight_decay * tf.add_n([tf.nn.l2_loss(tf.cast(v, tf.float32)) for v in tf.trainable_variables()])

loss = base_loss + l2_loss

train_op = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
