/* Synthetic anomalies made from normal images only, for training the segmentation head: each
 * kind changes a region of a normal crop and marks that region in a mask.
 *
 *   texture  a fractal-noise region (gradient noise over a random lattice, thresholded) filled
 *            with another normal crop, flipped or turned and shifted in brightness and contrast,
 *            blended with the crop (DRAEM's synthesis, self-sourced);
 *   scar     a thin stroke: a random walk of segments one to a few pixels wide, darker or
 *            brighter than its surroundings or copied from elsewhere (scratches, hairline cracks);
 *   patch    a rectangle cut from another place or another crop and pasted (CutPaste), its
 *            brightness jittered;
 *   local    an elliptical or noise-shaped region whose brightness shifts, that blurs, or that
 *            gains noise (stains, smudges, focus and grain defects).
 *
 * Crops are planar floats in 0..1 (channels x side x side). Everything draws from the caller's
 * generator, so a seed fixes the result; nothing allocates. */
#ifndef MDL_SYNTH_H
#define MDL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/rng.h"

enum {
    MDL_SYNTH_TEXTURE = 1,
    MDL_SYNTH_SCAR = 2,
    MDL_SYNTH_PATCH = 4,
    MDL_SYNTH_LOCAL = 8,
    MDL_SYNTH_ALL = 15
};

/* Floats of scratch mdl_synth needs for crops of this size. */
size_t mdl_synth_scratch(int channels, int side);

/* Puts one to `most` anomalies of the kinds in the bitmask `kinds` into crop (in place), drawing
 * foreign texture from source (another normal crop of the same size, or the crop itself), and
 * sets mask (side x side) to 1 on the changed regions and 0 elsewhere. Returns false, leaving
 * crop unchanged and mask 0, when kinds is 0. */
bool mdl_synth(core_rng *rng, float *crop, const float *source, int channels, int side, int kinds,
               int most, float *mask, float *scratch);

/* Gradient noise in about -1..1 over side x side with `cells` lattice cells per side (>= 1) and
 * `octaves` halvings of the cell, into out; lattice (cells << (octaves - 1) + 1)^2 x 2 floats
 * of gradients come from scratch. Exposed for tests. */
void mdl_synth_noise(core_rng *rng, int side, int cells, int octaves, float *out, float *scratch);

#endif
