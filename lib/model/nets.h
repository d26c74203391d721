/* The IGD networks (igd-notes.md's family): a residual encoder, decoder and critic, sized by an
 * architecture. Each builder adds its layers to a graph whose store holds that network's
 * parameters. */
#ifndef MDL_NETS_H
#define MDL_NETS_H

#include <stdbool.h>

#include "nn/layers.h"

typedef struct mdl_arch {
    int channels; /* 1 or 3 */
    int size;     /* input side; divisible by 2^depth */
    int width;    /* channels after the first convolution */
    int depth;    /* residual blocks; each halves (encoder) or doubles (decoder) the side */
    int latent;   /* size of z */
    int hidden;   /* encoder's hidden linear layer before z; 0 for none */
    bool frozen_bn;
} mdl_arch;

/* x (n x channels x size x size) -> z (n x latent). */
int mdl_encoder(nn_graph *g, int x, const mdl_arch *a);
/* z (n x latent) -> reconstruction (n x channels x size x size, plain layout). */
int mdl_decoder(nn_graph *g, int z, const mdl_arch *a);
/* image -> alpha in (0, 1) (n x 1). Layer normalisation instead of batch normalisation. */
int mdl_critic(nn_graph *g, int x, const mdl_arch *a);

/* Multiply-accumulate counts of one forward pass per sample, for throughput figures. */
double mdl_encoder_macs(const mdl_arch *a);
double mdl_decoder_macs(const mdl_arch *a);
double mdl_critic_macs(const mdl_arch *a);
/* Parameter values (weights, biases, normalisation statistics) of encoder, decoder and critic
 * together, computed from the architecture alone (as a double: it may be astronomical). */
double mdl_param_count(const mdl_arch *a);

/* The segmentation head: a U-Net of `depth` levels with additive skip connections over tiles
 * of x (n x channels x size x size, size divisible by 2^depth): at each level two conv 3x3 -
 * batch normalisation - ReLU blocks (width << level channels), 2 x 2 mean pooling down,
 * nearest-neighbour upsampling and a block up, the encoder's map of the same level added, one
 * more block; then conv 3x3 to one channel. Returns the logits (n x 1 x size x size, plain).
 * Uses channels, size, width, depth and frozen_bn of the architecture. */
int mdl_segnet(nn_graph *g, int x, const mdl_arch *a);
double mdl_segnet_macs_per_pixel(const mdl_arch *a);
/* Parameter values of the head (weights, shifts, scales and normalisation statistics). */
double mdl_segnet_param_count(const mdl_arch *a);

#endif
