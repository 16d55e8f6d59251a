"""Visual analogy network ``timestep/van``: renders frame t from (x_0, E(x_0), e_t) by a mask blend with x_0."""
import tensorflow as tf

from vidpred_tf.layers.normalization import LayerNorm
from vidpred_tf.models.epva.blocks import GLOROT, TF1Block, conv, deconv, dropout


class _Part(TF1Block):
    """One VAN sub-scope; numbers its conv / convT / LayerNorm layers in creation order as tf.layers does."""

    def __init__(self, scope, **kwargs):
        super().__init__(scope, **kwargs)
        self.counts = {}

    def _name(self, base):
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f'{base}_{n}'

    def conv(self, cin, cout):
        name = self._name('conv2d')
        return (self.var(f'{name}/kernel', [3, 3, cin, cout], GLOROT), self.var(f'{name}/bias', [cout], 'zeros'))

    def deconv(self, cin, cout):
        name = self._name('conv2d_transpose')
        return (self.var(f'{name}/kernel', [3, 3, cout, cin], GLOROT), self.var(f'{name}/bias', [cout], 'zeros'))

    def dense(self, cin, cout):
        name = self._name('dense')
        return (self.var(f'{name}/kernel', [cin, cout], GLOROT), self.var(f'{name}/bias', [cout], 'zeros'))

    def norm(self, channels):
        layer = LayerNorm(scope=self._name('LayerNorm'))
        layer.build((None, channels))
        return self.adopt('', layer)


class VAN(TF1Block):
    def __init__(self, config, **kwargs):
        super().__init__('timestep/van', **kwargs)
        self.config = config
        f = self.depth = config.van_first_depth
        e = _Part('van_enc')  # creation order of the original: van_enc, van_image_enc, analogy, van_dec
        self.e_dense = e.dense(config.enc_size, 16 * f)
        self.e_norm0 = e.norm(16 * f)
        self.e_d0 = e.deconv(f, f)
        self.e_norm1 = e.norm(f)
        self.e_d1 = e.deconv(f, 2 * f)
        self.e_d2 = e.deconv(2 * f, 2 * f)
        self.e_norm2 = e.norm(2 * f)
        self.e_d3 = e.deconv(2 * f, 4 * f)
        i = _Part('van_image_enc')
        self.i_c0 = i.conv(3, f)
        self.i_norm0 = i.norm(f)
        self.i_c1 = i.conv(f, f)
        self.i_norm1 = i.norm(f)
        self.i_c2 = i.conv(f, 2 * f)
        self.i_c3 = i.conv(2 * f, 2 * f)
        self.i_norm2 = i.norm(2 * f)
        self.i_c4 = i.conv(2 * f, 4 * f)
        self.i_c5 = i.conv(4 * f, 4 * f)
        self.i_c6 = i.conv(4 * f, 4 * f)
        a = _Part('analogy_computation')
        self.a_c0 = a.conv(4 * f, 4 * f)
        self.a_c1 = a.conv(4 * f, 4 * f)
        self.a_c2 = a.conv(8 * f, 4 * f)
        self.a_norm = a.norm(4 * f)
        self.a_c3 = a.conv(4 * f, 4 * f)
        self.a_c4 = a.conv(4 * f, 4 * f)
        d = _Part('van_dec')
        self.d_d0 = d.deconv(4 * f, 4 * f)
        self.d_norm0 = d.norm(4 * f)
        self.d_d1 = d.deconv(4 * f, 4 * f)
        self.d_d2 = d.deconv(4 * f, 2 * f)
        self.d_norm1 = d.norm(2 * f)
        self.d_d3 = d.deconv(2 * f, 2 * f)
        self.d_d4 = d.deconv(2 * f, f)
        self.d_norm2 = d.norm(f)
        self.d_d5 = d.deconv(f, 4)
        self.d_d6 = d.deconv(4, 4)
        self.parts = [e, i, a, d]
        for part in self.parts:
            self.adopt('', part)

    def encode_code(self, code):
        """van_enc: returns (f_enc [B,8,8,4F], van_higher_level [B, E + 8*8*2F + 8*8*4F])."""
        f = self.depth
        x = tf.nn.relu(tf.matmul(tf.nn.relu(code), self.e_dense[0]) + self.e_dense[1])
        x = tf.reshape(self.e_norm0(x), [-1, 4, 4, f])
        x = self.e_norm1(deconv(x, *self.e_d0))
        hl2 = deconv(x, *self.e_d1, stride=2)
        x = self.e_norm2(deconv(hl2, *self.e_d2))
        hl4 = deconv(x, *self.e_d3)
        higher = tf.concat([code, tf.reshape(hl2, [-1, 64 * 2 * f]), tf.reshape(hl4, [-1, 64 * 4 * f])], 1)
        return hl4, higher

    def encode_image(self, image, seeds):
        keep = self.config.van_keep_prob
        x = self.i_norm0(conv(image, *self.i_c0))
        x = tf.nn.max_pool2d(conv(x, *self.i_c1), 2, 2, 'SAME')
        x = self.i_norm1(dropout(x, keep, seeds))
        x = tf.nn.max_pool2d(conv(conv(x, *self.i_c2), *self.i_c3), 2, 2, 'SAME')
        x = self.i_norm2(dropout(x, keep, seeds))
        x = conv(conv(conv(x, *self.i_c4), *self.i_c5), *self.i_c6)
        return tf.nn.max_pool2d(x, 2, 2, 'SAME')

    def analogy(self, f_first_enc, f_first_frame, f_current):
        diff = conv(f_first_frame - f_first_enc, *self.a_c0)
        current = conv(f_current, *self.a_c1)
        x = self.a_norm(conv(tf.concat([diff, current], 3), *self.a_c2))
        return conv(conv(x, *self.a_c3), *self.a_c4)

    def decode(self, x, first_frame, seeds):
        keep = self.config.van_keep_prob
        x = self.d_norm0(dropout(deconv(x, *self.d_d0, stride=2), keep, seeds))
        x = dropout(deconv(x, *self.d_d1), keep, seeds)
        x = self.d_norm1(dropout(deconv(x, *self.d_d2), keep, seeds))
        x = dropout(deconv(x, *self.d_d3, stride=2), keep, seeds)
        x = self.d_norm2(dropout(deconv(x, *self.d_d4), keep, seeds))
        x = dropout(deconv(x, *self.d_d5, stride=2), keep, seeds)
        out = deconv(x, *self.d_d6, relu=False)
        mask = tf.sigmoid(out[..., 3:4])
        return out[..., :3] * mask + first_frame * (1.0 - mask), mask

    def render(self, first_code, first_frame, current_code, seeds):
        """Returns (image, van_higher_level of current_code, raw mask)."""
        f_first_enc, _ = self.encode_code(first_code)
        f_first_frame = self.encode_image(first_frame, seeds)
        f_current, higher = self.encode_code(current_code)
        image, mask = self.decode(f_current + self.analogy(f_first_enc, f_first_frame, f_current), first_frame, seeds)
        return image, higher, mask
