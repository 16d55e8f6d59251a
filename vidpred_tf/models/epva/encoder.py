"""Encoder ``timestep/encoder``: slim VGG16 to pool5 (widths / vgg_width_divisor), flatten, dropout, dense E."""
import tensorflow as tf

from vidpred_tf.models.epva.blocks import TF1Block, conv, dropout, truncated

IMAGENET_MEANS = (123.68, 116.78, 103.94)
VGG_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


class Encoder(TF1Block):
    def __init__(self, config, image_size: int = 64, **kwargs):
        super().__init__('timestep/encoder', **kwargs)
        self.config = config
        self.convs = []
        channels = 3
        for block, (width, repeats) in enumerate(VGG_BLOCKS, start=1):
            width = width // config.vgg_width_divisor
            for j in range(1, repeats + 1):
                name = f'vgg_16/conv{block}/conv{block}_{j}'
                kernel = self.var(f'{name}/weights', [3, 3, channels, width], truncated(0.01))
                bias = self.var(f'{name}/biases', [width], 'zeros')
                self.convs.append((block, kernel, bias))
                channels = width
        flat = (image_size // 32) ** 2 * channels
        self.kernel = self.var('dense/kernel', [flat, config.enc_size], truncated(1e-4))
        self.bias = self.var('dense/bias', [config.enc_size], 'zeros')

    def encode(self, images, seeds):
        x = images
        if self.config.encoder_grey_in:
            x = tf.tile(tf.image.rgb_to_grayscale(x), [1, 1, 1, 3])
        x = x * 256.0 - tf.constant(IMAGENET_MEANS, tf.float32)
        for index, (block, kernel, bias) in enumerate(self.convs):
            x = conv(x, kernel, bias)
            last_of_block = index + 1 == len(self.convs) or self.convs[index + 1][0] != block
            if last_of_block:
                x = tf.nn.max_pool2d(x, 2, 2, 'VALID')
        x = tf.reshape(x, [-1, x.shape[1] * x.shape[2] * x.shape[3]])
        x = dropout(x, self.config.enc_keep_prob, seeds)
        x = tf.matmul(x, self.kernel) + self.bias
        if self.config.enc_pred_use_l2norm:
            x = tf.math.l2_normalize(x, axis=1)
        return x
