/* Preprocessing: caller images -> planar pixels at the networks' sizes, patches, normalisation. */
#include <math.h>
#include <string.h>

#include "io/resample.h"
#include "model/model.h"

/* IGD_OPT_STANDARDIZE: p -> 0.5 + (p - mean) / (span * deviation), clamped to 0..1, over all n
 * pixels of one image (a flat image maps to 0.5). */
void mdl_standardize(float *p, size_t n, double span)
{
    if (span <= 0 || n == 0)
        return;
    double sum = 0, sq = 0;
    for (size_t k = 0; k < n; k++) {
        sum += p[k];
        sq += (double)p[k] * p[k];
    }
    const double mean = sum / (double)n, var = sq / (double)n - mean * mean;
    const double scale = var > 1e-12 ? 1.0 / (span * sqrt(var)) : 0.0;
    for (size_t k = 0; k < n; k++) {
        double v = 0.5 + (p[k] - mean) * scale;
        p[k] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

void mdl_pre_global(const igd_model *m, const io_view *v, float *out)
{
    const size_t side = (size_t)m->cfg.arch[MDL_GLOBAL].size, ch = (size_t)m->cfg.channels;
    io_view_to_planar(v, ch, side, side, out);
    mdl_standardize(out, ch * side * side, m->cfg.standardize);
}

void mdl_pre_image(const igd_model *m, const io_view *v, float *out)
{
    const size_t side = (size_t)m->cfg.image_size, ch = (size_t)m->cfg.channels;
    io_view_to_planar(v, ch, side, side, out);
    mdl_standardize(out, ch * side * side, m->cfg.standardize);
}

void mdl_cut_patch(const float *image, int channels, int side, int patch, int y, int x, float *out)
{
    for (int c = 0; c < channels; c++)
        for (int r = 0; r < patch; r++)
            memcpy(out + ((size_t)c * patch + r) * patch,
                   image + ((size_t)c * side + y + r) * side + x, sizeof(float) * (size_t)patch);
}

int mdl_grid_count(int side, int patch, int stride)
{
    int span = side - patch;
    return span / stride + 1 + (span % stride != 0);
}

int mdl_grid_offset(int side, int patch, int stride, int i)
{
    int o = i * stride;
    return o > side - patch ? side - patch : o;
}

void mdl_normalize(const igd_model *m, const float *pix, float *out, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], inv = (float)(1.0 / m->std[c]);
            const float *p = pix + ((size_t)i * ch + c) * plane;
            float *o = out + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = (p[k] - mean) * inv;
        }
}

void mdl_denormalize(const igd_model *m, const float *in, float *pix, int n, int side)
{
    const size_t plane = (size_t)side * side;
    const int ch = m->cfg.channels;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
            const float mean = (float)m->mean[c], sd = (float)m->std[c];
            const float *p = in + ((size_t)i * ch + c) * plane;
            float *o = pix + ((size_t)i * ch + c) * plane;
            for (size_t k = 0; k < plane; k++)
                o[k] = p[k] * sd + mean;
        }
}
