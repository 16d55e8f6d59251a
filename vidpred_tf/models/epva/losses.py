"""EPVA losses, keyed by the original summary names (spec section 5)."""
import tensorflow as tf

# Real-label target of tfgan's modified_discriminator_loss (use_wgan=False): 1 * (1 - 0.25) + 0.5 * 0.25.
REAL_LABEL_SMOOTHED = 0.875


def _mse(a, b):
    return tf.reduce_mean(tf.square(a - b))


def _l1(a, b):
    return tf.reduce_mean(tf.abs(a - b))


def loss_psnr(generated, targets, use_l1=False):
    """Mean over frames of the per-frame batch-wide MSE (or L1) and of the PSNR from the batch-wide MSE.

    generated, targets: [B, n, ...] batch-major."""
    n = generated.shape[1]
    loss = psnr = 0.0
    for t in range(n):
        mse = _mse(targets[:, t], generated[:, t])
        loss += _l1(targets[:, t], generated[:, t]) if use_l1 else mse
        psnr += 10.0 * tf.math.log(1.0 / mse) / tf.math.log(10.0)
    return loss / n, psnr / n


def quaternion_from_euler_szyx(aj, ak):
    """quaternion_from_euler(0, aj, ak) in 'szyx' mode, the first angle being zero: [B] -> [B, 4]."""
    aj, ak = aj / 2.0, ak / 2.0
    cj, sj, ck, sk = tf.cos(aj), tf.sin(aj), tf.cos(ak), tf.sin(ak)
    # ci = 1, si = 0: cc = ck, cs = sk, sc = ss = 0.
    return tf.stack([-sj * sk, sj * ck, cj * sk, cj * ck], axis=1)


def pose_loss(codes, poses, joint_pos_dim):
    """calc_pose_loss: codes [B, n, >=P] (first P dims used), poses [B, n, P]; 0 when the code is narrower."""
    pose_size = poses.shape[-1]
    zero = tf.constant(0.0)
    if codes.shape[-1] < pose_size:
        return {'total_loss': zero, 'loss_joint': zero, 'joint_error': zero, 'loss_ee': zero,
                'loss_quant_angle': zero}
    codes = codes[..., :pose_size]
    n = codes.shape[1]
    joint = joint_err = ee = quat = 0.0
    for t in range(n):
        gx, x = codes[:, t], poses[:, t]
        joint += _mse(x[:, :joint_pos_dim], gx[:, :joint_pos_dim])
        joint_err += _l1(x[:, :joint_pos_dim], gx[:, :joint_pos_dim])
        ee += _mse(x[:, joint_pos_dim:-2], gx[:, joint_pos_dim:-2])
        q_pred = quaternion_from_euler_szyx(gx[:, -2], gx[:, -1])
        q_true = quaternion_from_euler_szyx(x[:, -2], x[:, -1])
        quat += tf.reduce_mean(1.0 - tf.reduce_sum(q_pred * q_true, axis=1))
    parts = {'loss_joint': joint / n, 'joint_error': joint_err / n, 'loss_ee': ee / n, 'loss_quant_angle': quat / n}
    parts['total_loss'] = parts['loss_joint'] + parts['loss_ee'] + parts['loss_quant_angle']
    return parts


def epva_loss_scale(config, global_step):
    """enc_pred_loss_scale * sigmoid((step - D) / (0.1 D)), D = max(delay, 1)."""
    delay = max(float(config.enc_pred_loss_scale_delay), 1.0)
    step = tf.cast(global_step, tf.float32)
    return tf.sigmoid((step - delay) / (delay * 0.1)) * config.enc_pred_loss_scale


def compute_losses(outputs, batch, config, global_step=0):
    images = tf.convert_to_tensor(batch['images'], tf.float32)
    poses = tf.convert_to_tensor(batch['joint_poses'], tf.float32)
    losses = {}

    def put(name, pair):
        losses[f'{name}/loss'], losses[f'{name}/psnr_all'] = pair

    put('enc_pred_loss', loss_psnr(outputs['pred_out_all'], outputs['enc_out_all'][:, 1:],
                                   use_l1=config.enc_pred_use_l1_loss))
    put('van_loss', loss_psnr(outputs['van_out_all'], images[:, 1:]))
    put('van_on_enc_loss', loss_psnr(outputs['van_on_enc_all'], images[:, 1:]))
    groups = [('pose_from_enc_loss_quant', outputs['enc_out_all'], poses),
              ('pose_from_pred_loss_quant', outputs['pred_out_all'], poses[:, 1:])]
    if 'van_on_pose_all' in outputs:
        put('van_on_pose_loss', loss_psnr(outputs['van_on_pose_all'], images[:, 1:]))
        groups.append(('pose_from_pred_on_pose_loss_quant', outputs['pred_on_pose_out_all'], poses[:, 1:]))
    for name, codes, targets in groups:
        for key, value in pose_loss(codes, targets, config.joint_pos_dim).items():
            losses[f'{name}/{key}'] = value
    if config.model_mode == 'epva':
        scale = epva_loss_scale(config, global_step)
        losses['enc_pred_loss_scale'] = scale
        losses['epva_loss'] = losses['enc_pred_loss/loss'] * scale + losses['van_on_enc_loss/loss']
    else:
        losses['enc_pred_loss_scale'] = tf.constant(float(config.enc_pred_loss_scale))
    return losses


def gan_sequences(outputs, config):
    """(fake, real) [B, T, D]: fake = encoder features for discrim_context steps, then the predictor's."""
    context = config.discrim_context
    fake = tf.concat([outputs['van_higher_on_enc_all'][:, :context],
                      outputs['van_higher_on_pred_all'][:, context - 1:]], axis=1)
    return fake, outputs['van_higher_on_enc_all']


def gan_losses(network, outputs, config, alpha, enc_pred_loss=None):
    """WGAN-GP (use_wgan) or the modified GAN loss between predictor and encoder feature sequences.

    alpha [B,1,1]: the gradient-penalty interpolation weights. enc_pred_loss defaults to the outputs' MSE."""
    fake, real = gan_sequences(outputs, config)
    fake_logits = network.discriminate(fake)
    real_logits = network.discriminate(real)
    if config.use_wgan:
        gen_loss = -(tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits))
        mixed = real + alpha * (fake - real)
        with tf.GradientTape() as tape:
            tape.watch(mixed)
            mixed_logits = network.discriminate(mixed)
        grads = tape.gradient(mixed_logits, mixed)
        slopes = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2]) + 1e-10)
        penalty = tf.reduce_mean(tf.square(slopes - 1.0))
        discrim_loss = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits) + 10.0 * penalty
    else:
        # tfgan's modified_discriminator_loss: label_smoothing 0.25 goes through tf.losses.sigmoid_cross_entropy,
        # which smooths towards 1/2 (y * (1 - 0.25) + 0.5 * 0.25), so real targets are 0.875, fake targets 0.
        # The original then sets the generator loss to minus this loss (not tfgan's modified_generator_loss).
        real_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.fill(tf.shape(real_logits), REAL_LABEL_SMOOTHED), logits=real_logits))
        fake_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.zeros_like(fake_logits), logits=fake_logits))
        discrim_loss = real_loss + fake_loss
        gen_loss = -discrim_loss
    if enc_pred_loss is None:
        enc_pred_loss = loss_psnr(outputs['pred_out_all'], outputs['enc_out_all'][:, 1:],
                                  use_l1=config.enc_pred_use_l1_loss)[0]
    return {'discrim_gen_logits': fake_logits, 'discrim_real_logits': real_logits,
            'enc_pred_loss_gan': gen_loss,
            'enc_pred_loss_total': gen_loss + enc_pred_loss * config.enc_pred_loss_scale,
            'discrim_total_loss': discrim_loss}
