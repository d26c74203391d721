#include "model/nets.h"

/* Normalisation then ReLU: batch normalisation (fused) for the auto-encoder, layer
 * normalisation for the critic. */
static int norm_relu(nn_graph *g, int x, const mdl_arch *a, bool layer_norm)
{
    if (layer_norm)
        return nn_act_layer(g, nn_ln(g, x), NN_RELU);
    return nn_bn(g, x, true, a->frozen_bn);
}

/* norm-relu, conv3x3 (cin->cin), norm-relu, conv3x3 (cin->cout), pool; shortcut: pool, conv1x1. */
static int down_block(nn_graph *g, int x, int64_t cin, int64_t cout, const mdl_arch *a,
                      bool layer_norm)
{
    int m = norm_relu(g, x, a, layer_norm);
    m = nn_conv(g, m, cin, 3, true, NN_INIT_HE_UNIFORM);
    m = norm_relu(g, m, a, layer_norm);
    m = nn_conv(g, m, cout, 3, true, NN_INIT_HE_UNIFORM);
    m = nn_pool2(g, m);
    int s = nn_conv(g, nn_pool2(g, x), cout, 1, true, NN_INIT_XAVIER_UNIFORM);
    return nn_add(g, m, s);
}

/* norm-relu, up, conv3x3 (in->cout), norm-relu, conv3x3 (cout->cout); shortcut: up, conv1x1. */
static int up_block(nn_graph *g, int x, int64_t cout, const mdl_arch *a)
{
    int m = norm_relu(g, x, a, false);
    m = nn_conv(g, nn_up2(g, m), cout, 3, true, NN_INIT_HE_UNIFORM);
    m = norm_relu(g, m, a, false);
    m = nn_conv(g, m, cout, 3, true, NN_INIT_HE_UNIFORM);
    int s = nn_conv(g, nn_up2(g, x), cout, 1, true, NN_INIT_XAVIER_UNIFORM);
    return nn_add(g, m, s);
}

static int trunk(nn_graph *g, int x, const mdl_arch *a, bool layer_norm)
{
    int64_t w = a->width;
    x = nn_conv(g, x, w, 3, true, NN_INIT_HE_UNIFORM);
    for (int i = 0; i < a->depth; i++, w *= 2)
        x = down_block(g, x, w, 2 * w, a, layer_norm);
    return x;
}

int mdl_encoder(nn_graph *g, int x, const mdl_arch *a)
{
    x = trunk(g, x, a, false);
    if (a->hidden > 0)
        x = nn_linear(g, x, a->hidden, true, NN_INIT_XAVIER_UNIFORM);
    return nn_linear(g, x, a->latent, true, NN_INIT_XAVIER_UNIFORM);
}

int mdl_decoder(nn_graph *g, int z, const mdl_arch *a)
{
    int64_t w = (int64_t)a->width << a->depth;
    int64_t side = a->size >> a->depth;
    int x = nn_linear(g, z, w * side * side, true, NN_INIT_XAVIER_UNIFORM);
    x = nn_blocked(g, nn_reshape(g, x, w, side, side));
    for (int i = 0; i < a->depth; i++, w /= 2)
        x = up_block(g, x, w / 2, a);
    x = nn_bn(g, x, true, a->frozen_bn);
    x = nn_conv(g, x, a->channels, 3, true, NN_INIT_HE_UNIFORM);
    return nn_plain(g, x);
}

int mdl_critic(nn_graph *g, int x, const mdl_arch *a)
{
    x = trunk(g, x, a, true);
    x = nn_linear(g, x, 1, true, NN_INIT_XAVIER_UNIFORM);
    return nn_act_layer(g, x, NN_SIGMOID);
}

/* ---- operation counts ---- */

static double conv_macs(double side, double cin, double cout, double k)
{
    return side * side * cin * cout * k * k;
}

static double trunk_macs(const mdl_arch *a)
{
    double side = a->size, w = a->width;
    double m = conv_macs(side, a->channels, w, 3);
    for (int i = 0; i < a->depth; i++, w *= 2, side /= 2)
        m += conv_macs(side, w, w, 3) + conv_macs(side, w, 2 * w, 3) +
             conv_macs(side / 2, w, 2 * w, 1);
    return m;
}

static double flat_size(const mdl_arch *a)
{
    double side = a->size >> a->depth;
    return side * side * (double)((int64_t)a->width << a->depth);
}

double mdl_encoder_macs(const mdl_arch *a)
{
    double f = flat_size(a);
    double head = a->hidden > 0 ? f * a->hidden + (double)a->hidden * a->latent : f * a->latent;
    return trunk_macs(a) + head;
}

double mdl_decoder_macs(const mdl_arch *a)
{
    double side = a->size >> a->depth, w = (double)((int64_t)a->width << a->depth);
    double m = a->latent * flat_size(a);
    for (int i = 0; i < a->depth; i++, w /= 2, side *= 2)
        m += conv_macs(2 * side, w, w / 2, 3) + conv_macs(2 * side, w / 2, w / 2, 3) +
             conv_macs(2 * side, w, w / 2, 1);
    return m + conv_macs(a->size, a->width, a->channels, 3);
}

double mdl_critic_macs(const mdl_arch *a)
{
    return trunk_macs(a) + flat_size(a);
}

/* ---- parameter counts (the same layers the builders above claim) ---- */

static double conv_params(double cin, double cout, double k)
{
    return cout * cin * k * k + cout;
}

static double trunk_params(const mdl_arch *a, bool layer_norm)
{
    double w = a->width, side = a->size;
    double p = conv_params(a->channels, w, 3);
    for (int i = 0; i < a->depth; i++, w *= 2, side /= 2) {
        double norm = layer_norm ? 2 * w * side * side : 4 * w;
        p += 2 * norm + conv_params(w, w, 3) + conv_params(w, 2 * w, 3) + conv_params(w, 2 * w, 1);
    }
    return p;
}

double mdl_param_count(const mdl_arch *a)
{
    double flat = flat_size(a);
    double enc = trunk_params(a, false) +
                 (a->hidden > 0 ? flat * a->hidden + a->hidden + (double)a->hidden * a->latent
                                : flat * a->latent) +
                 a->latent;
    double dec = (double)a->latent * flat + flat, w = (double)((int64_t)a->width << a->depth);
    for (int i = 0; i < a->depth; i++, w /= 2)
        dec += 4 * w + conv_params(w, w / 2, 3) + 4 * (w / 2) + conv_params(w / 2, w / 2, 3) +
               conv_params(w, w / 2, 1);
    dec += 4 * (double)a->width + conv_params(a->width, a->channels, 3);
    double critic = trunk_params(a, true) + flat + 1;
    return enc + dec + critic;
}

/* ---- the segmentation head ---- */

/* conv 3x3 (no bias: the normalisation's shift replaces it), batch normalisation, ReLU. */
static int conv_bn_relu(nn_graph *g, int x, int64_t cout, const mdl_arch *a)
{
    return nn_bn(g, nn_conv(g, x, cout, 3, false, NN_INIT_HE_UNIFORM), true, a->frozen_bn);
}

int mdl_segnet(nn_graph *g, int x, const mdl_arch *a)
{
    enum { MAX_LEVELS = 8 };
    int skip[MAX_LEVELS];
    const int depth = a->depth < MAX_LEVELS ? a->depth : MAX_LEVELS - 1;
    int64_t w = a->width;
    x = conv_bn_relu(g, conv_bn_relu(g, x, w, a), w, a);
    for (int l = 1; l <= depth; l++) {
        skip[l - 1] = x;
        x = conv_bn_relu(g, conv_bn_relu(g, nn_pool2(g, x), w << l, a), w << l, a);
    }
    for (int l = depth - 1; l >= 0; l--) {
        x = conv_bn_relu(g, nn_up2(g, x), w << l, a);
        x = conv_bn_relu(g, nn_add(g, x, skip[l]), w << l, a);
    }
    return nn_plain(g, nn_conv(g, x, 1, 3, true, NN_INIT_XAVIER_UNIFORM));
}

double mdl_segnet_macs_per_pixel(const mdl_arch *a)
{
    const double w = a->width;
    double m = 9 * (a->channels * w + w * w), scale = 1;
    for (int l = 1; l <= a->depth; l++) {
        scale /= 4;
        double wl = w * (1 << l), wp = wl / 2;
        m += 9 * (wp * wl + wl * wl) * scale;
    }
    scale = 1;
    for (int l = 0; l < a->depth; l++, scale /= 4) {
        double wl = w * (1 << l);
        m += 9 * (2 * wl * wl + wl * wl) * scale;
    }
    return m + 9 * w;
}

double mdl_segnet_param_count(const mdl_arch *a)
{
    const double w = a->width;
    double p = 9 * a->channels * w + 9 * w * w + 2 * 4 * w;
    for (int l = 1; l <= a->depth; l++) {
        double wl = w * (1 << l), wp = wl / 2;
        p += 9 * wp * wl + 9 * wl * wl + 2 * 4 * wl;
    }
    for (int l = 0; l < a->depth; l++) {
        double wl = w * (1 << l);
        p += 9 * 2 * wl * wl + 9 * wl * wl + 2 * 4 * wl;
    }
    return p + 9 * w + 1;
}
