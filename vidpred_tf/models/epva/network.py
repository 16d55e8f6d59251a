"""EPVANetwork: the unroll of the original ``construct_model`` (encoder, predictor, VAN, optional discriminator)."""
import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.models.epva.blocks import Seeds
from vidpred_tf.models.epva.config import MODES, EPVAConfig
from vidpred_tf.models.epva.discriminator import Discriminator
from vidpred_tf.models.epva.encoder import Encoder
from vidpred_tf.models.epva.predictor import NUM_STATES, Predictor
from vidpred_tf.models.epva.van import VAN


class EPVANetwork(keras.Model):
    def __init__(self, config: EPVAConfig, **kwargs):
        super().__init__(**kwargs)
        if config.model_mode not in MODES:
            raise InputError(f'--model_mode={config.model_mode!r} is not one of {", ".join(MODES)}')
        if config.model_mode == 'individual' and config.enc_size != config.pose_size:
            # The original crashes with a NameError here (its pose-path losses only exist at this width).
            raise InputError(f'--model_mode=individual needs enc_size == pose_dim + joint_pos_dim '
                             f'({config.pose_size}); got --enc_size {config.enc_size}')
        self.config = config
        self.encoder = Encoder(config)
        self.van = VAN(config)
        self.predictor = Predictor(config)
        self.discriminator = Discriminator(config) if config.model_mode == 'epva_gan' else None
        # Every variable exists now (the shapes follow from the config alone), so the model is built: Keras can
        # save/load .weights.h5 and the optimisers can see the variables before the first forward pass.
        self.built = True

    def original_variables(self):
        blocks = [self.encoder, self.van, self.predictor]
        if self.discriminator is not None:
            blocks.append(self.discriminator)
        return [item for block in blocks for item in block.tf1_variables()]

    def discriminate(self, sequences):
        return self.discriminator.discriminate(sequences)

    def call(self, batch, training=False, pred_noise=None, seed=None):
        del training  # dropout is on whenever keep_prob < 1, as in the original
        config = self.config
        seeds = Seeds(seed)
        images = tf.convert_to_tensor(batch['images'], tf.float32)
        actions = tf.convert_to_tensor(batch['actions'], tf.float32)
        poses = tf.convert_to_tensor(batch['joint_poses'], tf.float32)
        steps = images.shape[1]
        with_pose = config.enc_size == config.pose_size
        calls = (steps - 1) * (2 if with_pose else 1)  # the pose predictor (enc_size 12) is a second call per step
        if pred_noise is not None and len(pred_noise) != calls:
            raise InputError(f'pred_noise: {len(pred_noise)} tensors given; the unroll of {steps} frames makes '
                             f'{calls} predictor calls')
        noise_iter = iter(pred_noise) if pred_noise is not None else None
        states = [None] * NUM_STATES
        first = images[:, 0]
        enc = [self.encoder.encode(first, seeds)]
        _, higher, _ = self.van.render(enc[0], first, enc[0], seeds)
        higher_enc, higher_pred, preds, pose_preds = [higher], [], [], []
        van_out, masks, van_on_enc, van_on_pose = [], [], [], []
        for t in range(steps - 1):
            warm = t >= config.context_frames
            action = actions[:, t]
            pred = self.predictor.step(preds[-1] if warm else enc[-1], action, states,
                                       next(noise_iter) if noise_iter else None, seeds)
            preds.append(pred)
            if with_pose:
                pose_preds.append(self.predictor.step(pose_preds[-1] if warm else poses[:, t], action, states,
                                                      next(noise_iter) if noise_iter else None, seeds))
            image, higher, mask = self.van.render(enc[0], first, pred, seeds)
            van_out.append(image)
            masks.append(mask / tf.reduce_max(mask, axis=[1, 2, 3], keepdims=True))
            higher_pred.append(higher)
            code = self.encoder.encode(images[:, t + 1], seeds)
            enc.append(code)
            if config.enc_noise_stddev > 0:
                seed_t = seeds.next()
                unit = (tf.random.truncated_normal(tf.shape(code)) if seed_t is None
                        else tf.random.stateless_truncated_normal(tf.shape(code), seed_t))
                code = code + unit * config.enc_noise_stddev
            image, higher, _ = self.van.render(enc[0], first, code, seeds)
            van_on_enc.append(image)
            higher_enc.append(higher)
            if with_pose:
                image, _, _ = self.van.render(poses[:, 0], first, poses[:, t + 1], seeds)
                van_on_pose.append(image)

        def stack(items):
            return tf.stack(items, axis=1)

        outputs = {
            'enc_out_all': stack(enc), 'pred_out_all': stack(preds), 'van_out_all': stack(van_out),
            'mask_out_all': stack(masks), 'van_on_enc_all': stack(van_on_enc),
            'van_higher_on_enc_all': stack(higher_enc), 'van_higher_on_pred_all': stack(higher_pred),
        }
        if with_pose:
            outputs['pred_on_pose_out_all'] = stack(pose_preds)
            outputs['van_on_pose_all'] = stack(van_on_pose)
        return outputs
