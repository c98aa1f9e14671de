"""Keras 2 code meeting Keras 3: the `l=` keyword, and a regularizer in an initializer slot."""
from tensorflow import keras
from tensorflow.keras import layers, regularizers

model = keras.Sequential(
    [
        layers.Conv2D(32, 5, activation="relu", kernel_regularizer=regularizers.l2(l=0.01)),
        layers.Flatten(),
        layers.Dense(10, kernel_initializer=regularizers.l2(0.01)),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
